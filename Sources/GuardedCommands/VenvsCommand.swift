import GuardedCore

/// `guarded-run venvs`: not built yet (see the issue tracker).
public enum VenvsCommand: AdminCommand {
    public static let name = "venvs"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "venvs", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
