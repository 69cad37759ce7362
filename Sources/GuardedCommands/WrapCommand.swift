import GuardedCore

/// `guarded-run wrap`: not built yet (see the issue tracker).
public enum WrapCommand: AdminCommand {
    public static let name = "wrap"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "wrap", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
