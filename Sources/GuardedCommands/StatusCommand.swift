import GuardedCore
import GuardedFleet
import GuardedSupervisor
import GuardedSystem

/// `guarded-run status [--json]`: one row per agent from the health logs. Exit 78 when an agent's
/// last start failed closed, 1 when one's was transient or degraded, else 0.
public enum StatusCommand: AdminCommand {
    public static let name = "status"
    public static let summary = "one line per agent: last start, decision, repairs, last failure"
    public static let spec = CommandSpec("status",
                                         options: [jsonOption, fromConfigOption, stateDirOption], positionals: 0...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        var status = FleetStatus.load(state: state, now: Double(Clock.wallTime().seconds))
        let configPaths = try fromConfigPaths(arguments, fixedPositionals: 0)
        var fromConfig = ConfigSources.Resolved()
        if !configPaths.isEmpty {
            // Only the agents the configs start: by the name a wrapped entry gives, else by venv.
            fromConfig = reportConfigSources(configPaths, state: state, command: name, json: arguments.has("--json"))
            status = status.only(agents: fromConfig.agents, venvs: fromConfig.venvsWithoutAgent)
        }
        for a in status.agents where a.malformed > 0 {
            reportError("status: warning: \(a.agent): skipped \(a.malformed) malformed line\(a.malformed == 1 ? "" : "s") in \(a.logPath ?? state.healthLogPath(for: a.agent))")
        }
        Output.standardOutput(arguments.has("--json") ? withMissing(status.json(), fromConfig).serialized(pretty: true) + "\n" : status.table())
        return withMissing(status.exitCode, fromConfig)
    }
}
