import GuardedCore
import GuardedFleet
import GuardedSystem

/// `guarded-run status [--json]`: one row per agent from the health logs. Exit 78 when an agent's
/// last start failed closed, 1 when one's was transient or degraded, else 0.
public enum StatusCommand: AdminCommand {
    public static let name = "status"
    public static let summary = "one line per agent: last start, decision, repairs, last failure"
    public static let spec = CommandSpec(usage: "status [--json] [--state-dir DIR]", options: [jsonOption, stateDirOption])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        let status = FleetStatus(agents: AgentStatus.loadAll(state: state, now: Double(Clock.wallTime().seconds)))
        for a in status.agents where a.malformed > 0 {
            reportError("status: warning: \(a.agent): skipped \(a.malformed) malformed line\(a.malformed == 1 ? "" : "s") in \(state.healthLogPath(for: a.agent))")
        }
        Output.standardOutput(arguments.has("--json") ? status.json().serialized(pretty: true) + "\n" : status.table())
        return status.exitCode
    }
}
