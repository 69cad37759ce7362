import GuardedCore

/// `guarded-run status`: not built yet (see the issue tracker).
public enum StatusCommand: AdminCommand {
    public static let name = "status"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "status", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
