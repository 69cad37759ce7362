import GuardedCore

/// `guarded-run repair`: not built yet (see the issue tracker).
public enum RepairCommand: AdminCommand {
    public static let name = "repair"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "repair", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
