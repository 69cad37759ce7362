import GuardedCheck
import GuardedCore
import GuardedSystem

/// `guarded-run check --venv DIR [--import MODULE]... [--deep] [--json]`: the full check on demand.
/// Exit 0 healthy, 1 degraded, 78 broken, 75 when the probe timed out. A passing check refreshes the cache.
public enum CheckCommand: AdminCommand {
    public static let name = "check"
    public static let summary = "run the full health check of a venv"
    public static let spec = CommandSpec(
        usage: "check --venv DIR [--import MODULE]... [--deep] [--json] [--state-dir DIR]",
        options: [
            .value("--venv", help: "the venv to check"),
            .repeated("--import", help: "a module that must import (repeatable)"),
            .flag("--deep", help: "also verify every installed file against its distribution's RECORD"),
            jsonOption,
            stateDirOption,
        ])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard let given = arguments.value("--venv") else { throw UsageError("--venv DIR is required") }
        let imports = arguments.all("--import")
        if let bad = imports.first(where: { !isValidModuleName($0) }) { throw UsageError("--import '\(bad)' is not a module name") }
        let venv = normalizedPath(absolutePath(given, relativeTo: currentDirectory()))
        var report = FullCheck.run(venv: venv, imports: imports, deep: arguments.has("--deep"))
        let state = StateDirectory.resolve(explicit: arguments.value("--state-dir"))
        if report.status != .broken, let state {
            let cached = FullCheck.cache(report, state: state)
            report = cached.report
            if let error = cached.error { reportError("check: warning: cannot write the cache: \(error)") }
        }
        // What this check refused, no launcher may start from a cache (in any state directory).
        if let warning = report.invalidateCachedFingerprints() { reportError("check: warning: \(warning)") }
        Output.standardOutput(arguments.has("--json") ? report.json().serialized(pretty: true) + "\n" : report.table())
        return exitCode(for: report)
    }

    /// 0 healthy, 1 degraded, 78 broken, 75 transient (the probe timed out).
    public static func exitCode(for report: CheckReport) -> Int32 {
        if report.transient { return ExitCode.temporaryFailure }
        switch report.status {
        case .healthy: return ExitCode.success
        case .degraded: return ExitCode.degraded
        case .broken: return ExitCode.broken
        }
    }
}
