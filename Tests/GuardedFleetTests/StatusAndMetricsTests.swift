import GuardedCore
import GuardedFleet
import GuardedSystem
import TestSupport
import XCTest

/// Summaries and exposition from records with known times (the end-to-end tests use real launcher runs).
final class StatusAndMetricsTests: XCTestCase {
    let now = 1_795_600_000.0

    func record(_ agent: String, _ decision: Decision, daysAgo: Double, status: String = "healthy",
                venv: String = "/srv/v", reasons: [String] = [], us: Int64 = 20) -> JSONValue {
        let line = HealthRecord(agent: agent, venv: venv, status: status, decision: decision, reasons: reasons,
                                checkMicroseconds: us, time: Clock.rfc3339(seconds: Int64(now - daysAgo * 86400))).jsonLine()
        return JSONValue.parse(String(line.dropLast()))!
    }

    func testAgentSummaryCountsTheWindowAndKeepsTheLastFailure() {
        let records = [
            record("mail", .failedClosed, daysAgo: 9, status: "broken", reasons: ["old-failure"]),
            record("mail", .repaired, daysAgo: 8),
            record("mail", .checkedOK, daysAgo: 6.5, us: 80_000),
            record("mail", .failedClosed, daysAgo: 3, status: "broken", reasons: ["interpreter-missing: x", "home-missing: y"]),
            record("mail", .repaired, daysAgo: 2.9, us: 9_000_000),
            record("mail", .rolledBack, daysAgo: 1),
            record("mail", .fastOK, daysAgo: 0.5, us: 12),
            record("mail", .fastOK, daysAgo: 0.1, us: 30),
        ]
        let s = AgentStatus(agent: "mail", records: records, malformed: 2, now: now)
        XCTAssertEqual(s.venv, "/srv/v")
        XCTAssertEqual(s.lastDecision, "fast-ok")
        XCTAssertEqual(s.lastStart, Clock.rfc3339(seconds: Int64(now - 0.1 * 86400)))
        XCTAssertEqual(s.startsInWindow, 6)
        XCTAssertEqual(s.repairsInWindow, 1)
        XCTAssertEqual(s.rollbacksInWindow, 1)
        XCTAssertEqual(s.failuresInWindow, 1)
        XCTAssertEqual(s.lastFailure?.decision, "failed-closed")
        XCTAssertEqual(s.lastFailure?.reason, "interpreter-missing: x")
        XCTAssertEqual(s.totals.values, ["decision:failed-closed": 2, "decision:repaired": 2, "decision:checked-ok": 1,
                                         "decision:rolled-back": 1, "decision:fast-ok": 2, "fast_count": 2, "fast_sum_us": 42,
                                         "fast_le:10": 0, "fast_le:25": 1, "fast_le:50": 2, "fast_le:100": 2, "fast_le:250": 2,
                                         "fast_le:500": 2, "fast_le:1000": 2, "fast_le:2500": 2, "fast_le:10000": 2,
                                         "fast_le:25000": 2, "fast_le:50000": 2, "fast_le:100000": 2, "fast_le:250000": 2].filter { $0.value > 0 })
        XCTAssertEqual(s.malformed, 2)
        XCTAssertEqual(FleetStatus(agents: [s]).exitCode, ExitCode.success)
    }

    /// A CLI action's record (docs/guarded-run.md, "Repairs, rollbacks and restores run by hand").
    func action(_ action: String, _ result: String, daysAgo: Double, generation: Int = 2) -> JSONValue {
        .object([("time", .string(Clock.rfc3339(seconds: Int64(now - daysAgo * 86400)))), ("agent", .string("mail")),
                 ("venv", .string("/srv/v")), ("kind", .string("action")), ("by", .string("cli")), ("action", .string(action)),
                 ("result", .string(result)), ("generation", .number(Double(generation)))])
    }

    func testCliActionsAreNotStartsAndClearARefusedStartOnlyWhenTheyFixedTheVenv() {
        let refused = record("mail", .failedClosed, daysAgo: 0.2, status: "broken", reasons: ["interpreter-missing: x"])
        func status(_ records: [JSONValue]) -> AgentStatus { AgentStatus(agent: "mail", records: records, malformed: 0, now: now) }

        let fixed = status([record("mail", .checkedOK, daysAgo: 1), refused, action("repair", "repaired", daysAgo: 0.1)])
        XCTAssertEqual(fixed.lastDecision, "failed-closed")
        XCTAssertEqual(fixed.startsInWindow, 2)
        XCTAssertEqual(fixed.repairsInWindow, 1)
        XCTAssertTrue(fixed.fixedSinceLastStart)
        XCTAssertFalse(fixed.failingNow)
        XCTAssertEqual(fixed.totals.values, ["decision:checked-ok": 1, "decision:failed-closed": 1, "cli:repaired": 1])
        XCTAssertEqual(fixed.totals.repairs, 1)
        XCTAssertEqual(FleetStatus(agents: [fixed]).exitCode, ExitCode.success)
        XCTAssertTrue(FleetStatus(agents: [fixed]).table().contains("failed-closed, then repaired by cli (generation 2)"))

        for (what, result) in [("repair", "failed"), ("repair", "busy"), ("restore", "restored")] {
            let still = status([refused, action(what, result, daysAgo: 0.1)])
            XCTAssertTrue(still.failingNow, "\(what) \(result)")
            XCTAssertEqual(FleetStatus(agents: [still]).exitCode, ExitCode.broken, "\(what) \(result)")
        }
        let refusedAgain = status([refused, action("rollback", "rolled-back", daysAgo: 0.1), record("mail", .failedClosed, daysAgo: 0.05, status: "broken")])
        XCTAssertEqual(FleetStatus(agents: [refusedAgain]).exitCode, ExitCode.broken, "a refused start after the fix is the state again")
        XCTAssertEqual(refusedAgain.rollbacksInWindow, 1)
        XCTAssertEqual(refusedAgain.totals.rollbacks, 1)

        var gaveUp = refused
        if case .object(var fields) = gaveUp { fields.append(("gave_up", .bool(true))); gaveUp = .object(fields) }
        let restartByHand = status([gaveUp, action("repair", "healthy", daysAgo: 0.1)])
        XCTAssertEqual(FleetStatus(agents: [restartByHand]).exitCode, ExitCode.degraded, "gave up: its supervisor will not restart it")
    }

    func testRecordsMissingFieldsAreUsedForWhatTheyHave() {
        let odd: [JSONValue] = [.object([]), .object([("decision", .number(3)), ("time", .string("yesterday"))])]
        let s = AgentStatus(agent: "odd", records: odd, malformed: 0, now: now)
        XCTAssertEqual(s.startsInWindow, 0)
        XCTAssertEqual(s.totals.values, ["decision:unknown": 2])
        XCTAssertNil(s.venv)
        XCTAssertEqual(s.lastStart, "yesterday")
        XCTAssertTrue(FleetStatus(agents: [s]).table().contains("odd    enforce  -     yesterday"), FleetStatus(agents: [s]).table())
    }

    func testStatusExitCodeAndTable() {
        let ok = AgentStatus(agent: "a", records: [record("a", .fastOK, daysAgo: 0)], malformed: 0, now: now)
        let degraded = AgentStatus(agent: "b", records: [record("b", .checkedOK, daysAgo: 0, status: "degraded")], malformed: 0, now: now)
        let failed = AgentStatus(agent: "c", records: [record("c", .failedClosed, daysAgo: 0, status: "broken", reasons: ["pyvenv-cfg-missing: /srv/v/pyvenv.cfg"])],
                                 malformed: 0, now: now)
        XCTAssertEqual(FleetStatus(agents: [ok]).exitCode, 0)
        XCTAssertEqual(FleetStatus(agents: [ok, degraded]).exitCode, 1)
        XCTAssertEqual(FleetStatus(agents: [ok, degraded, failed]).exitCode, 78)
        let t = shortTime(Clock.rfc3339(seconds: Int64(now)))
        XCTAssertEqual(FleetStatus(agents: [ok, failed]).table(), """
            AGENT  MODE     VENV    LAST START            LAST DECISION  STARTS 7D  REPAIRS 7D  LAST FAILURE
            a      enforce  /srv/v  \(t)  fast-ok        1          0           -
            c      enforce  /srv/v  \(t)  failed-closed  1          0           \(t) failed-closed: pyvenv-cfg-missing: /srv/v/pyvenv.cfg
            2 agents, 1 not running on their last start

            """)
    }

    func testMetricsParseWithPrometheusClientAndEscapeLabels() throws {
        let weird = "/srv/we\"ird\\path\nnext"
        let agents = [
            AgentStatus(agent: "mail", records: [record("mail", .checkedOK, daysAgo: 1, us: 70_000),
                                                 record("mail", .fastOK, daysAgo: 0.5, us: 8),
                                                 record("mail", .fastOK, daysAgo: 0.2, us: 40)], malformed: 1, now: now),
            AgentStatus(agent: "cal", records: [record("cal", .repaired, daysAgo: 2, venv: weird),
                                                record("cal", .failedClosed, daysAgo: 1, status: "broken", venv: weird)], malformed: 0, now: now),
        ]
        let lastCheck = [(venv: "/srv/v", status: "degraded", time: Clock.rfc3339(seconds: Int64(now))),
                         (venv: "/srv/unused", status: "healthy", time: Clock.rfc3339(seconds: Int64(now))),
                         (venv: weird, status: "healthy", time: Clock.rfc3339(seconds: Int64(now - 5 * 86400)))]
        let text = MetricsExposition(agents: agents, lastCheck: lastCheck).text()
        let families = try parsePrometheus(text)
        XCTAssertEqual(families.family("guarded_run_agent_starts")?.type, "counter")
        XCTAssertEqual(families.family("guarded_run_fast_path_decision_seconds")?.type, "histogram")
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "mail", "decision": "fast-ok"]), 2)
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "mail", "decision": "repaired"]), 0)
        XCTAssertEqual(families.value("guarded_run_agent_repairs_total", ["agent": "cal"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_rollbacks_total", ["agent": "cal"]), 0)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "cal", "decision": "failed-closed"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "cal", "decision": "repaired"]), 0)
        XCTAssertEqual(families.value("guarded_run_agent_last_start_timestamp_seconds", ["agent": "mail"]), (now - 0.2 * 86400).rounded(.down))
        XCTAssertEqual(families.value("guarded_run_agent_last_decision_duration_seconds", ["agent": "mail"]), 0.00004)
        XCTAssertEqual(families.value("guarded_run_agent_health_log_malformed_lines", ["agent": "mail"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_info", ["agent": "cal", "venv": weird]), 1)
        // The newest observation wins: the fleet check for /srv/v, the launcher for the weird venv.
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": "/srv/v", "status": "degraded"]), 1)
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": "/srv/v", "status": "healthy"]), 0)
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": weird, "status": "broken"]), 1)
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": "/srv/unused", "status": "healthy"]), 1)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_bucket", ["le": "0.00001"]), 1)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_bucket", ["le": "0.00005"]), 2)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_count"), 2)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_sum")!, 0.000048, accuracy: 1e-12)
        for f in families {
            XCTAssertTrue(f.name.hasPrefix("guarded_run_"), f.name)
            XCTAssertTrue(f.name.range(of: "^[a-z_:][a-z0-9_:]*$", options: .regularExpression) != nil, f.name)
        }
    }

    /// The `le` labels and the carried bucket bounds are one list.
    func testBucketLabelsMatchTheCarriedBounds() {
        XCTAssertEqual(MetricsExposition.fastPathBuckets.count, HealthCounts.fastPathBucketMicroseconds.count)
        for b in MetricsExposition.fastPathBuckets {
            XCTAssertEqual(Double(b.label)!, Double(b.microseconds) / 1e6, accuracy: 1e-12, b.label)
        }
    }

    func testEmptyStateStillExposesTheInfoMetric() throws {
        let families = try parsePrometheus(MetricsExposition(agents: [], lastCheck: []).text())
        XCTAssertEqual(families.value("guarded_run_info", ["version": guardedRunVersion]), 1)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_count"), 0)
    }

    func testLogViewFormatsDurations() {
        XCTAssertEqual(formatMicroseconds(31), "31 µs")
        XCTAssertEqual(formatMicroseconds(84_250), "84.3 ms")
        XCTAssertEqual(formatMicroseconds(12_340_000), "12.3 s")
        XCTAssertEqual(shortTime("2026-11-25T15:08:30.123456Z"), "2026-11-25 15:08:30Z")
        XCTAssertEqual(shortTime("garbage"), "garbage")
    }
}
