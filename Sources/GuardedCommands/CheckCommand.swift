import GuardedCheck
import GuardedCore
import GuardedSystem

/// `guarded-run check (--venv DIR | --agent NAME) [--import MODULE]... [--deep] [--json]`: the full
/// check on demand. With `--agent`, as that agent's launcher checks (its profile: venv, imports,
/// working directory, COMMAND), so it reproduces the launcher's verdict and writes the cache it reads.
/// Exit 0 healthy, 1 degraded, 78 broken, 75 when the probe timed out. A passing check refreshes the cache.
public enum CheckCommand: AdminCommand {
    public static let name = "check"
    public static let summary = "run the full health check of a venv"
    public static let spec = CommandSpec(
        "check",
        options: [
            venvOption("the venv to check"),
            agentOption,
            importOption("a module that must import (repeatable)"),
            .flag("--deep", help: "also verify every installed file against its distribution's RECORD"),
            jsonOption,
            stateDirOption,
        ],
        alternatives: [venvOrAgent])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = stateDirectoryIfAny(arguments)
        let selection = try selectAgent(arguments, state: state)
        let imports = try selection.imports(arguments)
        let venv = selection.venv
        // The agent's context only for its own import set (a different set has another cache key anyway).
        let context = arguments.all("--import").isEmpty ? selection.profile?.context : nil
        var report = FullCheck.run(venv: venv, imports: imports, context: context, deep: arguments.has("--deep"), probeCache: state)
        if report.status != .broken, let state {
            let cached = FullCheck.cache(report, state: state)
            report = cached.report
            if let error = cached.error { reportError("check: warning: cannot write the cache: \(error)") }
        }
        if let note = report.knownGood?.note, !arguments.has("--json") { reportError("check: note: \(note)") }
        // Nothing cached (broken, or still moving): --json still says which set a repair would use.
        if report.knownGood == nil, let state {
            report.knownGood = KnownGood.Outcome(recorded: false, inEffect: KnownGood.load(state: state, venv: venv), note: nil)
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
