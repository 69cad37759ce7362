import GuardedSystem

/// A repair, rollback or restore an operator ran from the CLI (`repair --force`, `venvs repair
/// --force`, `rollback --force`, `generations --restore-plain --force`), as a health-log record of
/// its own kind (`"kind": "action"`): it is not a start, so `starts_total` and the last decision
/// ignore it, while the repair and rollback counters, `status`, `log` and `venvs report` count it
/// (docs/guarded-run.md, "The health log").
///
/// Where it goes: into the log of every agent in the CLI's state directory whose newest start
/// names the venv (each agent sees what happened to the venv it runs on; the records share one
/// `action_id`, so `venvs report` counts the action once); when no agent's log names the venv, into
/// `<state>/venvs/actions.jsonl`, which only `venvs report` reads.
public struct ActionRecord: Sendable {
    public enum Action: String, Sendable { case repair, rollback, restore }

    public static let kind = "action"
    static let unattachedLogName = "actions.jsonl"

    public var time: String
    public var venv: String
    public var action: Action
    /// `repaired`, `rolled-back`, `rolled-forward`, `restored`, `healthy` (nothing to do), `failed`, `busy`.
    public var result: String
    /// The generation current afterwards, and the one before.
    public var generation: Int?
    public var fromGeneration: Int?
    /// What the repair rebuilt from (`RebuildSource.description`).
    public var source: String?
    public var reasons: [String]

    /// The results that leave the venv passing the full check (a repair that found it healthy
    /// included): a refused start before one is no longer the agent's state. A restore moves the
    /// same generation back to the venv path and fixes nothing.
    public static let fixingResults: Set<String> = ["repaired", "rolled-back", "rolled-forward", "healthy"]

    public init(venv: String, action: Action, result: String, generation: Int? = nil, fromGeneration: Int? = nil,
                source: String? = nil, reasons: [String] = [], time: String = Clock.nowRFC3339()) {
        self.time = time
        self.venv = venv
        self.action = action
        self.result = result
        self.generation = generation
        self.fromGeneration = fromGeneration
        self.source = source
        self.reasons = reasons
    }

    func jsonLine(agent: String?, id: String) -> String {
        var pairs: [(String, JSONValue)] = [("time", .string(time))]
        if let agent { pairs.append(("agent", .string(agent))) }
        pairs += [
            ("venv", .string(venv)), ("kind", .string(ActionRecord.kind)), ("by", .string("cli")),
            ("action", .string(action.rawValue)), ("result", .string(result)),
            ("generation", generation.map { .number(Double($0)) } ?? .null),
            ("from_generation", fromGeneration.map { .number(Double($0)) } ?? .null),
            ("source", .optional(source)), ("reasons", JSONValue(reasons.map(Redaction.apply))),
            ("action_id", .string(id)), ("version", .string(guardedRunVersion)), ("pid", .number(Double(CurrentProcess.id))),
        ]
        return JSONValue.object(pairs).serialized() + "\n"
    }

    /// True for a CLI action's record, false for a start's.
    public static func isAction(_ record: JSONValue) -> Bool { record["kind"]?.stringValue == kind }

    /// The agents of `state` whose newest start names `venv`, sorted.
    public static func agents(naming venv: String, state: StateDirectory) -> [String] {
        HealthLog.agents(state: state).filter { agent in
            HealthLog.read(state: state, agent: agent).records.last { !isAction($0) }?["venv"]?.stringValue == venv
        }
    }

    /// Appends the record where it belongs (see the type's comment). Never fails the command that
    /// did the work: a log that cannot be written is one warning line on stderr.
    public func append(state: StateDirectory) {
        let id = randomHex(8)
        let agents = ActionRecord.agents(naming: venv, state: state)
        for agent in agents.isEmpty ? [nil] : agents.map(Optional.some) {
            do throws(SystemError) {
                try HealthLog.append(line: jsonLine(agent: agent, id: id), state: state, agent: agent)
            } catch {
                Diagnostics.warning("cannot record the \(action.rawValue) of \(venv) in the health log: \(error)", agent: agent, venv: venv)
            }
        }
    }
}
