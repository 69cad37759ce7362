import GuardedCore

/// `guarded-run generations`: not built yet (see the issue tracker).
public enum GenerationsCommand: AdminCommand {
    public static let name = "generations"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "generations", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
