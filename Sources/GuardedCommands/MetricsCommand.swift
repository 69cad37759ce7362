import GuardedCore

/// `guarded-run metrics`: not built yet (see the issue tracker).
public enum MetricsCommand: AdminCommand {
    public static let name = "metrics"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "metrics", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
