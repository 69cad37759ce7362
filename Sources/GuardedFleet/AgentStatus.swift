import GuardedCore
import GuardedSystem

/// One agent's health log boiled down: the last start, counts over a window, the last failure.
/// Built from the log's records alone (oldest first, as `HealthLog.read` returns them), so a record
/// with a missing or odd field is used for what it has, never a crash.
public struct AgentStatus: Sendable {
    public var agent: String
    public var venv: String?
    public var lastStart: String?
    public var lastDecision: String?
    public var lastStatus: String?
    /// Microseconds the last start spent deciding (`check_us`).
    public var lastCheckMicroseconds: Int?
    /// Records in the window (every start attempt: a failed-closed start is a start that was refused).
    public var startsInWindow = 0
    public var repairsInWindow = 0
    public var rollbacksInWindow = 0
    public var failuresInWindow = 0
    /// The newest failed-closed or transient start: its time, decision and first reason.
    public var lastFailure: (time: String, decision: String, reason: String)?
    /// What the counters show: the counts carried across rotations plus the log's own records.
    public var totals: HealthCounts
    /// The last start ran in observe mode (`--observe`, GUARDED_RUN_OBSERVE): checked, never refused.
    public var lastObserved = false
    /// Observe mode: what an enforcing launcher would have decided on the last start, when it would
    /// have refused it (`failed-closed`, `transient`).
    public var lastWould: String?
    /// The last start gave up (`--give-up-after`): exit 0 after this many consecutive failed-closed starts.
    public var gaveUp = false
    /// Consecutive failed-closed starts as of the last start, when it failed closed under `--give-up-after`.
    public var failedClosedStreak: Int?
    /// The newest CLI action on the agent's venv (`ActionRecord`): time, action, result, generation after it.
    public var lastAction: (time: String, action: String, result: String, generation: Int?)?
    /// A CLI repair, rollback or restore fixed the venv after the last start: a refused last start
    /// no longer says the agent is broken (its next start checks the venv anew).
    public var fixedSinceLastStart = false
    /// The last start was refused (failed closed or transient) and nothing has fixed the venv since.
    public var failingNow: Bool {
        lastDecision.map(AgentStatus.failureDecisions.contains) == true && !fixedSinceLastStart
    }
    public var records = 0
    public var malformed = 0
    /// The log read (agents may live in several state directories).
    public var logPath: String?

    public static let window: Double = 7 * 86400
    public static let failureDecisions: Set<String> = [Decision.failedClosed.rawValue, Decision.transient.rawValue]

    /// `carried`: counts of rotated-out lines (`HealthCounts`); `alreadyCarried`: how many leading
    /// `records` those counts already hold.
    public init(agent: String, records: [JSONValue], malformed: Int, now: Double, window: Double = AgentStatus.window,
                carried: HealthCounts = HealthCounts(), alreadyCarried: Int = 0) {
        self.agent = agent
        self.malformed = malformed
        self.records = records.count
        totals = carried
        totals.add(HealthCounts(records: records.dropFirst(alreadyCarried)))
        for record in records {
            let time = record["time"]?.stringValue
            // A CLI action (ActionRecord) is not a start: it leaves the last start as it was and
            // counts as a repair or rollback of the window; one that fixed the venv after a refused
            // start means that refusal is not the agent's state any more.
            if ActionRecord.isAction(record) {
                let result = record["result"]?.stringValue ?? "unknown"
                lastAction = (time ?? "", record["action"]?.stringValue ?? "unknown", result, record["generation"]?.intValue)
                if ActionRecord.fixingResults.contains(result) { fixedSinceLastStart = true }
                guard let t = time.flatMap(Clock.parseRFC3339), now - t <= window else { continue }
                switch result {
                case "repaired": repairsInWindow += 1
                case "rolled-back", "rolled-forward": rollbacksInWindow += 1
                default: break
                }
                continue
            }
            fixedSinceLastStart = false
            let decision = record["decision"]?.stringValue ?? "unknown"
            venv = record["venv"]?.stringValue ?? venv
            lastStart = time
            lastDecision = decision
            lastStatus = record["status"]?.stringValue
            lastCheckMicroseconds = record["check_us"]?.intValue
            lastObserved = record["observe"] == .bool(true)
            lastWould = decision == Decision.observed.rawValue ? record["would"]?.stringValue : nil
            gaveUp = record["gave_up"] == .bool(true)
            failedClosedStreak = decision == Decision.failedClosed.rawValue ? record["failed_closed_streak"]?.intValue : nil
            if AgentStatus.failureDecisions.contains(decision) || decision == Decision.observed.rawValue {
                let reason = record["reasons"]?.arrayValue?.first?.stringValue ?? ""
                lastFailure = (time ?? "", lastWould.map { "\(decision) (would \($0))" } ?? decision, reason)
            }
            guard let t = time.flatMap(Clock.parseRFC3339), now - t <= window else { continue }
            startsInWindow += 1
            switch decision {
            case Decision.repaired.rawValue: repairsInWindow += 1
            case Decision.rolledBack.rawValue: rollbacksInWindow += 1
            case _ where AgentStatus.failureDecisions.contains(decision): failuresInWindow += 1
            default: break
            }
        }
    }

    /// Reads and summarises one agent's log.
    public static func load(state: StateDirectory, agent: String, now: Double) -> AgentStatus {
        let log = HealthLog.snapshot(state: state, agent: agent)
        var status = AgentStatus(agent: agent, records: log.records, malformed: log.malformed, now: now,
                                 carried: log.carried, alreadyCarried: log.alreadyCarried)
        status.logPath = state.healthLogPath(for: agent)
        return status
    }

    /// Every agent with a health log in `state` and the fleet's other state directories
    /// (`StateDirectory.fleet`), sorted by name.
    public static func loadAll(state: StateDirectory, now: Double) -> [AgentStatus] {
        state.fleet().flatMap { s in HealthLog.agents(state: s).map { load(state: s, agent: $0, now: now) } }
            .sorted { $0.agent < $1.agent }
    }

    public func json() -> JSONValue {
        .object([
            ("agent", .string(agent)), ("venv", .optional(venv)),
            ("last_decision", .optional(lastDecision)), ("last_start", .optional(lastStart)),
            ("last_status", .optional(lastStatus)),
            ("last_check_us", lastCheckMicroseconds.map { JSONValue($0) } ?? .null),
            ("starts_7d", JSONValue(startsInWindow)), ("repairs_7d", JSONValue(repairsInWindow)),
            ("rollbacks_7d", JSONValue(rollbacksInWindow)), ("failures_7d", JSONValue(failuresInWindow)),
            ("last_failure", lastFailure.map { f in
                .object([("time", .string(f.time)), ("decision", .string(f.decision)), ("reason", .string(f.reason))])
            } ?? .null),
            ("mode", .string(lastObserved ? "observe" : "enforce")), ("would", .optional(lastWould)),
            ("gave_up", .bool(gaveUp)), ("failed_closed_streak", failedClosedStreak.map { JSONValue($0) } ?? .null),
            ("last_action", lastAction.map { a in
                .object([("time", .string(a.time)), ("action", .string(a.action)), ("result", .string(a.result)),
                         ("generation", a.generation.map { JSONValue($0) } ?? .null), ("by", .string("cli"))])
            } ?? .null),
            ("fixed_since_last_start", .bool(fixedSinceLastStart)),
            ("records", JSONValue(records)), ("malformed_lines", JSONValue(malformed)),
        ])
    }

    /// The LAST DECISION cell: the decision, what observe mode would have done, a give-up.
    var decisionText: String {
        guard var text = lastDecision else { return "-" }
        if let lastWould { text += " (would \(lastWould))" }
        if gaveUp { text += ", gave up" + (failedClosedStreak.map { " after \($0)" } ?? "") }
        else if let failedClosedStreak { text += " (streak \(failedClosedStreak))" }
        if fixedSinceLastStart, let a = lastAction {
            text += ", then \(a.result) by cli" + (a.generation.map { " (generation \($0))" } ?? "")
        }
        return text
    }
}

/// `guarded-run status`: every agent's row, and the exit code for the whole set.
public struct FleetStatus: Sendable {
    public var agents: [AgentStatus]
    /// Agents that started this boot without a usable state directory (no cache, no health log):
    /// known only from their once-per-boot notice (`BootNotice`).
    public var withoutState: [(agent: String, uid: UInt32, venv: String?, time: String?, reason: String?)]

    public init(agents: [AgentStatus], withoutState: [(agent: String, uid: UInt32, venv: String?, time: String?, reason: String?)] = []) {
        self.agents = agents
        self.withoutState = withoutState
    }

    /// Every agent with a health log in the fleet's state directories, and this boot's agents
    /// without a state directory: root sees every user's, others their own; one that has logged a
    /// start since (its state directory was fixed) is no longer listed.
    public static func load(state: StateDirectory, now: Double) -> FleetStatus {
        let agents = AgentStatus.loadAll(state: state, now: now)
        let me = CurrentProcess.effectiveUserID
        let withoutState = BootNotice.markers(.noStateDirectory).filter { w in
            (me == 0 || w.uid == me) && !agents.contains { a in
                a.agent == w.agent && (a.lastStart.flatMap(Clock.parseRFC3339) ?? 0) > (w.time.flatMap(Clock.parseRFC3339) ?? .infinity)
            }
        }
        return FleetStatus(agents: agents, withoutState: withoutState)
    }

    /// Only the agents named, or (for agents whose config names none) on one of the venvs.
    public func only(agents names: [String], venvs: [String]) -> FleetStatus {
        FleetStatus(agents: agents.filter { a in names.contains(a.agent) || a.venv.map(venvs.contains) == true },
                    withoutState: withoutState.filter { w in names.contains(w.agent) || w.venv.map(venvs.contains) == true })
    }

    public var malformed: Int { agents.reduce(0) { $0 + $1.malformed } }

    /// 78 when an agent's last start failed closed and nothing fixed its venv since, else 1 when
    /// one's last start was degraded, transient, or would have been refused in observe mode, or one
    /// gave up and was fixed since (its supervisor stopped restarting it: start it by hand), or an
    /// agent runs without a state directory, else 0. A CLI repair, rollback or restore that fixed
    /// the venv after a refused start clears that start (`AgentStatus.fixedSinceLastStart`).
    public var exitCode: Int32 {
        if agents.contains(where: { $0.failingNow && $0.lastDecision == Decision.failedClosed.rawValue }) { return ExitCode.broken }
        if !withoutState.isEmpty || agents.contains(where: { ($0.failingNow && $0.lastDecision == Decision.transient.rawValue)
                                    || $0.lastDecision == Decision.observed.rawValue
                                    || ($0.lastStatus == "degraded" && !$0.fixedSinceLastStart)
                                    || ($0.gaveUp && $0.fixedSinceLastStart) }) {
            return ExitCode.degraded
        }
        return ExitCode.success
    }

    public func json() -> JSONValue {
        .object([
            ("agents", .array(agents.map { $0.json() })), ("malformed_lines", JSONValue(malformed)),
            ("without_state", .array(withoutState.map { w in
                .object([("agent", .string(w.agent)), ("uid", JSONValue(Int(w.uid))), ("venv", .optional(w.venv)),
                         ("since", .optional(w.time)), ("reason", .optional(w.reason))])
            })),
        ])
    }

    /// The table: one row per agent; the last failure's reason last, so a long one does not push
    /// the columns about.
    public func table() -> String {
        let header = ["AGENT", "MODE", "VENV", "LAST START", "LAST DECISION", "STARTS 7D", "REPAIRS 7D", "LAST FAILURE"]
        var rows: [[String]] = [header]
        for a in agents {
            rows.append([
                a.agent, a.lastObserved ? "observe" : "enforce", a.venv ?? "-", a.lastStart.map(shortTime) ?? "-", a.decisionText,
                String(a.startsInWindow), String(a.repairsInWindow + a.rollbacksInWindow),
                a.lastFailure.map { "\(shortTime($0.time)) \($0.decision): \($0.reason)" } ?? "-",
            ])
        }
        var out = formatColumns(rows)
        let n = agents.count
        out += "\(n) agent\(n == 1 ? "" : "s")"
        let failing = agents.filter(\.failingNow).count
        if failing > 0 { out += ", \(failing) not running on their last start" }
        let fixed = agents.filter { $0.fixedSinceLastStart && $0.lastDecision.map(AgentStatus.failureDecisions.contains) == true }.count
        if fixed > 0 { out += ", \(fixed) refused on their last start and fixed by cli since" }
        let gaveUp = agents.filter(\.gaveUp).count
        if gaveUp > 0 { out += ", \(gaveUp) gave up (restarts stopped)" }
        let observing = agents.filter(\.lastObserved).count
        if observing > 0 { out += ", \(observing) in observe mode" }
        out += "\n"
        for w in withoutState {
            out += "\(w.agent) (uid \(w.uid)): no state directory since \(w.time.map(shortTime) ?? "this boot"): \(w.reason ?? "unknown"); every start runs the full check and none is logged\n"
        }
        return out
    }
}

/// `2026-11-25T15:08:30.123456Z` as `2026-11-25 15:08:30Z`; anything else as it is.
public func shortTime(_ rfc3339: String) -> String {
    guard Clock.parseRFC3339(rfc3339) != nil else { return rfc3339 }
    let b = Array(rfc3339.utf8)
    return String(decoding: b[0..<10], as: UTF8.self) + " " + String(decoding: b[11..<19], as: UTF8.self) + "Z"
}

/// Left-aligned columns two spaces apart; the last column is not padded.
func formatColumns(_ rows: [[String]]) -> String {
    guard let width = rows.first?.count else { return "" }
    var widths = [Int](repeating: 0, count: width)
    for row in rows { for (i, cell) in row.enumerated() where i < width - 1 { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
        var line = ""
        for (i, cell) in row.enumerated() {
            line += i < width - 1 ? cell + String(repeating: " ", count: widths[i] - cell.count + 2) : cell
        }
        while line.hasSuffix(" ") { line.removeLast() }
        out += line + "\n"
    }
    return out
}
