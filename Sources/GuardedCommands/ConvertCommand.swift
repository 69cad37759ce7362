import GuardedCore

/// `guarded-run convert`: not built yet (see the issue tracker).
public enum ConvertCommand: AdminCommand {
    public static let name = "convert"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "convert", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
