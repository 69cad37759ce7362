import GuardedCore

/// `guarded-run unwrap`: not built yet (see the issue tracker).
public enum UnwrapCommand: AdminCommand {
    public static let name = "unwrap"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "unwrap", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
