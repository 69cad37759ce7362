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
        var agents = AgentStatus.loadAll(state: state, now: Double(Clock.wallTime().seconds))
        // This boot's agents without a state directory: root sees every user's, others their own;
        // one that has logged a start since (its state directory was fixed) is no longer listed.
        let me = UInt32(geteuid())
        var withoutState = BootNotice.markers(.noStateDirectory).filter { w in
            (me == 0 || w.uid == me) && !agents.contains { a in
                a.agent == w.agent && (a.lastStart.flatMap(Clock.parseRFC3339) ?? 0) > (w.time.flatMap(Clock.parseRFC3339) ?? .infinity)
            }
        }
        let configPaths = try fromConfigPaths(arguments, fixedPositionals: 0)
        var fromConfig: ConfigSources.Resolved? = nil
        if !configPaths.isEmpty {
            // Only the agents the configs start: by the name a wrapped entry gives, else by venv.
            let resolved = reportConfigSources(configPaths, state: state, command: name, json: arguments.has("--json"))
            agents = agents.filter { a in resolved.agents.contains(a.agent) || a.venv.map(resolved.venvsWithoutAgent.contains) == true }
            withoutState = withoutState.filter { w in resolved.agents.contains(w.agent) || w.venv.map(resolved.venvsWithoutAgent.contains) == true }
            fromConfig = resolved
        }
        let status = FleetStatus(agents: agents, withoutState: withoutState)
        for a in status.agents where a.malformed > 0 {
            reportError("status: warning: \(a.agent): skipped \(a.malformed) malformed line\(a.malformed == 1 ? "" : "s") in \(a.logPath ?? state.healthLogPath(for: a.agent))")
        }
        guard let fromConfig else {
            Output.standardOutput(arguments.has("--json") ? status.json().serialized(pretty: true) + "\n" : status.table())
            return status.exitCode
        }
        Output.standardOutput(arguments.has("--json") ? withMissing(status.json(), fromConfig).serialized(pretty: true) + "\n" : status.table())
        return withMissing(status.exitCode, fromConfig)
    }
}
