import GuardedCore
import GuardedSystem

/// `guarded-run metrics`: the Prometheus text exposition format (version 0.0.4), for
/// node_exporter's textfile collector or any scraper. Everything comes from the health logs and the
/// last `venvs check`; nothing is checked or started here, so it is cheap enough for a timer.
///
/// Names follow Prometheus conventions: the `guarded_run_` prefix, base units (seconds), `_total`
/// on counters, `_timestamp_seconds` on Unix times. Counters and the histogram count every start
/// the health logs have seen: the lines still there plus the counts carried across rotations
/// (`HealthCounts`), so they only go up.
public struct MetricsExposition {
    public static let decisions = Decision.allCases.map(\.rawValue)
    public static let venvStatuses = ["healthy", "degraded", "broken", "unknown"]
    /// Observe mode: the decisions an enforcing launcher would have refused a start with.
    public static let wouldDecisions = [Decision.failedClosed.rawValue, Decision.transient.rawValue]
    /// Histogram bounds for the fast path's decision time (`HealthCounts.fastPathBucketMicroseconds`).
    public static let fastPathBuckets: [(label: String, microseconds: Int)] = zip(
        ["0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.01", "0.025", "0.05", "0.1", "0.25"],
        HealthCounts.fastPathBucketMicroseconds).map { ($0, $1) }

    public var agents: [AgentStatus]
    /// The newest observation of each venv: status and Unix time.
    public var venvs: [(venv: String, status: String, time: Double)]

    public init(agents: [AgentStatus], lastCheck: [(venv: String, status: String, time: String)]) {
        self.agents = agents
        var newest: [String: (status: String, time: Double)] = [:]
        func observe(_ venv: String, _ status: String, _ time: String) {
            guard let t = Clock.parseRFC3339(time) else { return }
            let s = MetricsExposition.venvStatuses.contains(status) ? status : "unknown"
            if let seen = newest[venv], seen.time >= t { return }
            newest[venv] = (s, t)
        }
        for a in agents {
            if let v = a.venv, let s = a.lastStatus, let t = a.lastStart { observe(v, s, t) }
        }
        for c in lastCheck { observe(c.venv, c.status, c.time) }
        venvs = newest.keys.sorted().map { ($0, newest[$0]!.status, newest[$0]!.time) }
    }

    public static func load(state: StateDirectory, now: Double) -> MetricsExposition {
        MetricsExposition(agents: AgentStatus.loadAll(state: state, now: now), lastCheck: FleetCheck.loadSummary(state: state))
    }

    public func text() -> String {
        var out = MetricsWriter()
        out.family("guarded_run_info", .gauge, "guarded-run's version.")
        out.sample("guarded_run_info", [("version", guardedRunVersion)], 1)

        out.family("guarded_run_agent_info", .gauge, "The venv each agent last started from.")
        for a in agents { out.sample("guarded_run_agent_info", [("agent", a.agent), ("venv", a.venv ?? "")], 1) }

        out.family("guarded_run_agent_last_start_timestamp_seconds", .gauge, "Unix time of the agent's last start attempt.")
        for a in agents {
            if let t = a.lastStart.flatMap(Clock.parseRFC3339) {
                out.sample("guarded_run_agent_last_start_timestamp_seconds", [("agent", a.agent)], t)
            }
        }

        out.family("guarded_run_agent_last_decision", .gauge, "1 for the decision of the agent's last start, 0 for the others.")
        for a in agents {
            for d in MetricsExposition.decisions {
                out.sample("guarded_run_agent_last_decision", [("agent", a.agent), ("decision", d)], a.lastDecision == d ? 1 : 0)
            }
        }

        out.family("guarded_run_agent_last_decision_duration_seconds", .gauge, "Time the agent's last start spent deciding.")
        for a in agents {
            if let us = a.lastCheckMicroseconds {
                out.sample("guarded_run_agent_last_decision_duration_seconds", [("agent", a.agent)], Double(us) / 1e6)
            }
        }

        out.family("guarded_run_agent_starts_total", .counter, "Start attempts recorded in the agent's health log, by decision.")
        for a in agents {
            for d in MetricsExposition.decisions {
                out.sample("guarded_run_agent_starts_total", [("agent", a.agent), ("decision", d)], Double(a.totals["decision:" + d]))
            }
        }

        out.family("guarded_run_agent_repairs_total", .counter,
                   "Rebuilds of the agent's venv: starts on which auto-repair rebuilt it, and CLI repairs of it.")
        for a in agents {
            out.sample("guarded_run_agent_repairs_total", [("agent", a.agent)], Double(a.totals.repairs))
        }

        out.family("guarded_run_agent_rollbacks_total", .counter,
                   "Generation switches of the agent's venv: starts on which it was rolled back, and CLI repairs or rollbacks that switched it.")
        for a in agents {
            out.sample("guarded_run_agent_rollbacks_total", [("agent", a.agent)], Double(a.totals.rollbacks))
        }

        out.family("guarded_run_agent_give_ups_total", .counter, "Starts on which --give-up-after gave up (exit 0 after N failed-closed starts).")
        for a in agents {
            out.sample("guarded_run_agent_give_ups_total", [("agent", a.agent)], Double(a.totals["gave_up"]))
        }

        out.family("guarded_run_agent_observed_refusals_total", .counter,
                   "Observe-mode starts that an enforcing launcher would have refused, by that decision.")
        for a in agents {
            for w in MetricsExposition.wouldDecisions {
                out.sample("guarded_run_agent_observed_refusals_total", [("agent", a.agent), ("would", w)], Double(a.totals["would:" + w]))
            }
        }

        out.family("guarded_run_agent_observe_mode", .gauge, "1 when the agent's last start ran in observe mode (checked, never refused).")
        for a in agents { out.sample("guarded_run_agent_observe_mode", [("agent", a.agent)], a.lastObserved ? 1 : 0) }

        out.family("guarded_run_agent_health_log_malformed_lines", .gauge, "Health-log lines that are not JSON objects (skipped).")
        for a in agents { out.sample("guarded_run_agent_health_log_malformed_lines", [("agent", a.agent)], Double(a.malformed)) }

        out.family("guarded_run_venv_health", .gauge, "1 for the venv's latest known status, 0 for the others.")
        for v in venvs {
            for s in MetricsExposition.venvStatuses {
                out.sample("guarded_run_venv_health", [("venv", v.venv), ("status", s)], v.status == s ? 1 : 0)
            }
        }

        out.family("guarded_run_venv_health_timestamp_seconds", .gauge, "Unix time the venv's status was last observed.")
        for v in venvs { out.sample("guarded_run_venv_health_timestamp_seconds", [("venv", v.venv)], v.time) }

        let name = "guarded_run_fast_path_decision_seconds"
        out.family(name, .histogram, "Time the launcher's fast path spent deciding, over every fast-ok start in the health logs.")
        var fleet = HealthCounts()
        for a in agents {
            for key in ["fast_count", "fast_sum_us"] + HealthCounts.fastPathBucketMicroseconds.map({ "fast_le:\($0)" }) {
                fleet.add(key, a.totals[key])
            }
        }
        for b in MetricsExposition.fastPathBuckets {
            out.sample(name + "_bucket", [("le", b.label)], Double(fleet["fast_le:\(b.microseconds)"]))
        }
        out.sample(name + "_bucket", [("le", "+Inf")], Double(fleet["fast_count"]))
        out.sample(name + "_sum", [], Double(fleet["fast_sum_us"]) / 1e6)
        out.sample(name + "_count", [], Double(fleet["fast_count"]))
        return out.text
    }
}

/// Builds exposition text: `# HELP`, `# TYPE`, then samples with escaped label values.
struct MetricsWriter {
    enum Kind: String { case gauge, counter, histogram }
    var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(escapeExposition(help, quotes: false))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(escapeExposition($0.1, quotes: true))\"" }.joined(separator: ",") + "}"
        }
        text += " " + formatSampleValue(value) + "\n"
    }
}

/// The exposition format's escapes: `\` and newline everywhere, `"` too in label values (HELP text
/// is not quoted, so a quote there stays as it is).
func escapeExposition(_ s: String, quotes: Bool) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\"" where quotes: out += "\\\""
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// Integers without a fraction, the rest in Swift's shortest round-trip form (`3.1e-05`), as JSON
/// numbers are written; Go's and Python's float parsers read both. NaN and infinities as the format spells them.
func formatSampleValue(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    return JSONValue.formatNumber(v)
}
