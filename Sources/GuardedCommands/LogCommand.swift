import GuardedCore
import GuardedFleet
import GuardedSystem

/// `guarded-run log AGENT [-n N] [--json]`: the agent's last N health-log records, newest last.
public enum LogCommand: AdminCommand {
    public static let name = "log"
    public static let summary = "an agent's health log, newest last"
    public static let spec = CommandSpec(
        "log AGENT",
        options: [.value("-n", "--lines", as: "N", help: "how many records (default 20)"), jsonOption, stateDirOption],
        positionals: 1...1)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let agent = arguments.positionals[0]
        guard isValidAgentName(agent) else { throw UsageError("'\(agent)' is not an agent name") }
        let limit = try arguments.integer("-n", default: 20, range: 1...1_000_000)
        let primary = try stateDirectory(arguments)
        // The first of the fleet's state directories that has this agent's log.
        let state = primary.fleet().first { HealthLogView.exists(state: $0, agent: agent) } ?? primary
        guard HealthLogView.exists(state: state, agent: agent) else {
            let known = HealthLog.agents(state: state)
            let hint = known.isEmpty ? "no agent has a health log yet" : "known agents: " + known.prefix(10).joined(separator: ", ") + (known.count > 10 ? ", ..." : "")
            throw CommandFailure("no health log for agent '\(agent)': \(state.healthLogPath(for: agent)): \(Errno.noSuchFileOrDirectory) (\(hint))",
                                 exitCode: ExitCode.usage)
        }
        let view = HealthLogView(state: state, agent: agent, limit: limit)
        if view.malformed > 0 {
            reportError("log: warning: skipped \(view.malformed) malformed line\(view.malformed == 1 ? "" : "s") in \(state.healthLogPath(for: agent))")
        }
        Output.standardOutput(arguments.has("--json") ? view.json().serialized(pretty: true) + "\n" : view.text())
        return ExitCode.success
    }
}
