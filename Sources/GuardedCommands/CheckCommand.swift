import GuardedCore

/// `guarded-run check`: not built yet (see the issue tracker).
public enum CheckCommand: AdminCommand {
    public static let name = "check"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "check", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
