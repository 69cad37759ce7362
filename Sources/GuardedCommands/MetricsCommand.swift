import GuardedCore
import GuardedFleet
import GuardedSystem

/// `guarded-run metrics [--output FILE]`: Prometheus text format on stdout, or written atomically
/// to FILE (mode 0644, so node_exporter's textfile collector, running as another user, can read it).
public enum MetricsCommand: AdminCommand {
    public static let name = "metrics"
    public static let summary = "Prometheus metrics from the health logs (node_exporter textfile format)"
    public static let spec = CommandSpec(
        "metrics",
        options: [.value("--output", "-o", as: "FILE", help: "write to FILE atomically instead of stdout (e.g. .../textfile/guarded_run.prom)"),
                  stateDirOption])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        let text = MetricsExposition.load(state: state, now: Double(Clock.wallTime().seconds)).text()
        guard let output = arguments.value("--output") else {
            Output.standardOutput(text)
            return ExitCode.success
        }
        let path = absolutePath(output, relativeTo: currentDirectory())
        if isDirectory(path) { throw UsageError("--output \(output) is a directory; name a file such as guarded_run.prom") }
        do {
            try writeFileAtomically(path, text, mode: 0o644)
        } catch {
            // The path asked for, not the temp file beside it that the failing call named.
            throw CommandFailure("cannot write \(path): \(error.errno)", exitCode: ExitCode.software)
        }
        return ExitCode.success
    }
}
