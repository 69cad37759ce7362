import GuardedCore

/// `guarded-run log`: not built yet (see the issue tracker).
public enum LogCommand: AdminCommand {
    public static let name = "log"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "log", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
