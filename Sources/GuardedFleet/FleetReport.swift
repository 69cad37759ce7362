import GuardedCheck
import GuardedCore
import GuardedRepair
import GuardedSystem

/// `venvs report`: the morning glance. Counts, the broken and degraded venvs with their first
/// reason, and what the launchers did about broken venvs in the last 24 hours (repairs, rollbacks,
/// refusals), from every agent's health log.
public struct FleetReport: Sendable {
    public struct Event: Sendable {
        public var agent: String
        public var time: String
        public var decision: String
        public var venv: String
        public var reason: String
        /// `launcher` (a start) or `cli` (`ActionRecord`).
        public var by = "launcher"
    }

    public static let window: Double = 86400
    public static let eventDecisions: [String] = [Decision.repaired, .rolledBack, .failedClosed, .transient].map(\.rawValue)
    /// The event a CLI action's result counts as.
    static let actionDecisions: [String: String] = ["repaired": Decision.repaired.rawValue, "rolled-back": Decision.rolledBack.rawValue,
                                                    "rolled-forward": Decision.rolledBack.rawValue]
    /// Events listed one per line; older ones are only counted.
    public static let listedEvents = 20

    public var check: FleetCheck
    /// Repairs, rollbacks and refused starts in the window, oldest first.
    public var events: [Event]
    public var agentCount: Int

    public init(check: FleetCheck, state: StateDirectory?, now: Double) {
        self.check = check
        var events: [Event] = []
        let states = state?.fleet() ?? []
        agentCount = states.reduce(0) { $0 + HealthLog.agents(state: $1).count }
        // A CLI action is written to every agent on its venv under one `action_id`: counted once.
        var seenActions = Set<String>()
        func add(_ r: JSONValue, agent: String, state: StateDirectory) {
            guard let time = r["time"]?.stringValue, let t = Clock.parseRFC3339(time), now - t <= FleetReport.window else { return }
            let venv = r["venv"]?.stringValue ?? ""
            if ActionRecord.isAction(r) {
                // Repairs and generation switches by hand; a failed one changed nothing.
                guard let result = r["result"]?.stringValue, let decision = FleetReport.actionDecisions[result] else { return }
                let id = r["action_id"]?.stringValue ?? "\(time) \(venv)"
                guard seenActions.insert(state.path + "\n" + id).inserted else { return }
                var reason = "\(r["action"]?.stringValue ?? "action") by cli"
                if let g = r["generation"]?.intValue { reason += ": generation \(g)" }
                if let source = r["source"]?.stringValue { reason += " from \(source)" }
                events.append(Event(agent: agent, time: time, decision: decision, venv: venv, reason: reason, by: "cli"))
                return
            }
            guard let decision = r["decision"]?.stringValue, FleetReport.eventDecisions.contains(decision) else { return }
            events.append(Event(agent: agent, time: time, decision: decision, venv: venv,
                                reason: r["reasons"]?.arrayValue?.first?.stringValue ?? ""))
        }
        for state in states {
            for agent in HealthLog.agents(state: state) {
                for r in HealthLog.read(state: state, agent: agent).records { add(r, agent: agent, state: state) }
            }
            for r in HealthLog.readUnattachedActions(state: state) { add(r, agent: "-", state: state) }
        }
        self.events = events.sorted { ($0.time, $0.agent) < ($1.time, $1.agent) }
    }

    func eventCount(_ decision: Decision) -> Int { events.filter { $0.decision == decision.rawValue }.count }

    public func text() -> String {
        var out = check.summaryLine + "\n"
        for (title, list) in [("broken", check.broken), ("degraded", check.degraded)] where !list.isEmpty {
            out += "\(title):\n"
            for e in list { out += "  \(e.venv): \(firstReason(e.report.reasons))\n" }
        }
        for u in check.unreadable { out += "unreadable \(u.path): \(u.error)\n" }
        out += "last 24 h: \(eventCount(.repaired)) repaired, \(eventCount(.rolledBack)) rolled back, "
            + "\(eventCount(.failedClosed)) failed closed, \(eventCount(.transient)) transient"
            + " (\(agentCount) agent\(agentCount == 1 ? "" : "s") with health logs)\n"
        let shown = events.suffix(FleetReport.listedEvents)
        if events.count > shown.count { out += "  ... \(events.count - shown.count) earlier\n" }
        out += formatColumns(shown.map { ["  " + shortTime($0.time), $0.agent, $0.decision, $0.venv, $0.reason] })
        return out
    }

    public func json() -> JSONValue {
        .object([
            ("summary", check.summaryJSON()),
            ("broken", .array(check.broken.map(FleetReport.venvJSON))),
            ("degraded", .array(check.degraded.map(FleetReport.venvJSON))),
            ("unreadable", .array(check.unreadable.map { .object([("path", .string($0.path)), ("error", .string($0.error))]) })),
            ("last_24h", .object(FleetReport.eventDecisions.map { d in (d, JSONValue(events.filter { $0.decision == d }.count)) })),
            ("events", .array(events.map { e in
                .object([("time", .string(e.time)), ("agent", .string(e.agent)), ("decision", .string(e.decision)),
                         ("venv", .string(e.venv)), ("reason", .string(e.reason)), ("by", .string(e.by))])
            })),
        ])
    }

    static func venvJSON(_ e: FleetEntry) -> JSONValue {
        .object([("venv", .string(e.venv)), ("reason", .string(e.report.reasons.first ?? "")),
                 ("reasons", JSONValue(e.report.reasons))])
    }
}

/// `first reason (+2 more)`
func firstReason(_ reasons: [String]) -> String {
    guard let first = reasons.first else { return "(no reason recorded)" }
    return reasons.count > 1 ? "\(first) (+\(reasons.count - 1) more)" : first
}

/// `venvs repair`: the plan for every broken venv by default; with `--force`, each broken venv is
/// repaired through the repair module (build beside, verify, swap, keep the old generation), one
/// at a time: a repair runs installers and holds the venv's lock, and two at once would only
/// compete for the same disk and index.
public struct FleetRepair {
    public enum Result {
        case repaired(venv: String, summary: String)
        case rolledBack(venv: String, summary: String)
        case failed(venv: String, reasons: [String])
    }

    public let check: FleetCheck
    public let repairer: Repairer
    public let options: RepairOptions

    public init(check: FleetCheck, repairer: Repairer, options: RepairOptions) {
        self.check = check
        self.repairer = repairer
        self.options = options
    }

    /// The options for one venv: its check's `--import` modules (the agent profiles' on it, looked
    /// for where those agents find them) must import in the rebuilt venv too.
    func options(for entry: FleetEntry) -> RepairOptions {
        var options = self.options
        options.imports = entry.report.imports
        options.start = entry.report.start
        return options
    }

    /// The dry run: each broken venv, why, and the repair module's plan for it.
    public func planText() -> String {
        let broken = check.broken
        guard !broken.isEmpty else { return "nothing to repair: \(check.summaryLine)\n" }
        var out = "would repair \(broken.count) broken venv\(broken.count == 1 ? "" : "s") (dry run; --force to repair):\n"
        for e in broken {
            out += "\(e.venv): \(firstReason(e.report.reasons))\n"
            for (i, step) in repairer.plan(venv: e.venv, options: options(for: e)).lines().enumerated() { out += "  \(i + 1). \(step)\n" }
        }
        return out + check.summaryLine + "\n"
    }

    /// Each broken venv with the same plan object as `repair --json` prints (docs/venvs.md).
    public func planJSON() -> JSONValue {
        .object([
            ("dry_run", .bool(true)),
            ("venvs", .array(check.broken.map { e in
                .object([("venv", .string(e.venv)), ("reasons", JSONValue(e.report.reasons)),
                         ("plan", repairer.plan(venv: e.venv, options: options(for: e)).json())])
            })),
            ("summary", check.summaryJSON()),
        ])
    }

    /// Repairs every broken venv, one after another; `each` is told of each result as it comes,
    /// `warn` of each warning a repair had (a record or cache it could not write).
    public func run(warn: (String) -> Void, _ each: (Result) -> Void = { _ in }) -> [Result] {
        var results: [Result] = []
        for e in check.broken {
            let result: Result
            let attempt = repairer.repairByHand(venv: e.venv, options: options(for: e))
            attempt.warnings.forEach(warn)
            switch attempt.outcome {
            case .repaired(let summary, _): result = .repaired(venv: e.venv, summary: summary)
            case .rolledBack(let summary, _): result = .rolledBack(venv: e.venv, summary: summary)
            case .failed(_, let reasons): result = .failed(venv: e.venv, reasons: reasons)
            }
            each(result)
            results.append(result)
        }
        return results
    }

    public static func line(_ result: Result) -> String {
        switch result {
        // The repair module's summaries name the venv already ("repaired /srv/x: generation 2 ..."):
        // printed as they are then, rather than with the path twice.
        case .repaired(let venv, let summary): return summary.contains(venv) ? summary : "\(venv): repaired: \(summary)"
        case .rolledBack(let venv, let summary): return summary.contains(venv) ? summary : "\(venv): rolled back: \(summary)"
        case .failed(let venv, let reasons): return "\(venv): FAILED: \(reasons.joined(separator: "; "))"
        }
    }

    /// `--force --json`: every result, then the check's counts from before the repairs.
    public func resultsJSON(_ results: [Result]) -> JSONValue {
        .object([("dry_run", .bool(false)), ("results", .array(results.map(FleetRepair.json))), ("summary", check.summaryJSON())])
    }

    public static func json(_ result: Result) -> JSONValue {
        switch result {
        case .repaired(let venv, let summary):
            return .object([("venv", .string(venv)), ("outcome", .string("repaired")), ("summary", .string(summary))])
        case .rolledBack(let venv, let summary):
            return .object([("venv", .string(venv)), ("outcome", .string("rolled-back")), ("summary", .string(summary))])
        case .failed(let venv, let reasons):
            return .object([("venv", .string(venv)), ("outcome", .string("failed")), ("reasons", JSONValue(reasons))])
        }
    }

    /// After `--force`: 78 when a repair failed, 1 when one was rolled back or degraded venvs remain, else 0.
    public func exitCode(_ results: [Result]) -> Int32 {
        if results.contains(where: { if case .failed = $0 { return true }; return false }) { return ExitCode.broken }
        if results.contains(where: { if case .rolledBack = $0 { return true }; return false }) || check.count(.degraded) > 0 {
            return ExitCode.degraded
        }
        return ExitCode.success
    }
}
