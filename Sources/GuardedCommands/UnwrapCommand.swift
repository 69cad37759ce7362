import GuardedCore
import GuardedSupervisor

/// `guarded-run unwrap systemd|launchd FILE...`: removes exactly what `wrap` added. A dry run
/// unless --force.
public enum UnwrapCommand: AdminCommand {
    public static let name = "unwrap"
    public static let summary = "take guarded-run out of wrapped units or plists"
    public static let spec = CommandSpec(
        "unwrap systemd|launchd|mcp FILE|DIR...",
        options: [
            writeOption,
            jsonOption,
            stateDirOption,
        ],
        positionals: 2...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let target = try SupervisorTarget.parse(arguments)
        let force = arguments.has("--force")
        let state = try stateDirectory(arguments)
        let report: WrapReport
        switch target.kind {
        case .systemd: report = SystemdFleet.unwrap(target.files, force: force, state: state)
        case .launchd: report = LaunchdFleet.unwrap(target.files, force: force, state: state)
        }
        return emit(report, command: name, json: arguments.has("--json"))
    }
}
