import GuardedCore

/// `guarded-run snapshot`: not built yet (see the issue tracker).
public enum SnapshotCommand: AdminCommand {
    public static let name = "snapshot"
    public static let summary = "(not built yet)"
    public static let spec = CommandSpec(usage: "snapshot", options: [stateDirOption], positionals: 0...100)
    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        throw CommandFailure("not built yet", exitCode: ExitCode.software)
    }
}
