import GuardedCore

/// `guarded-run rollback`: not built yet (see the issue tracker).
public enum RollbackCommand: AdminCommand {
    public static let name = "rollback"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "rollback", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
