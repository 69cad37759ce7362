import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Repairs, rollbacks and restores run by hand leave a record (docs/guarded-run.md, "The health
/// log"): on a real venv broken for real and rebuilt with pip from the fixture's wheelhouse, a CLI
/// repair clears the refused start in `status`, counts in the repair counters, `log` and `venvs
/// report`, and never counts as a start.
final class RepairTraceTests: XCTestCase {
    var fx: RepairFixture!

    override func setUpWithError() throws { fx = try RepairFixture(mode: .pip) }
    override func tearDown() { fx?.remove() }

    /// A second agent on the same venv.
    func startPeer() -> SubprocessResult {
        runGuarded(["--agent", "peer", "--state-dir", fx.state, "--import", "alpha", "--", fx.venv + "/bin/python", fx.agentScript, "alpha"],
                   environment: fx.env())
    }

    func json(_ r: SubprocessResult, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        try XCTUnwrap(JSONValue.parse(r.outputText), "not JSON: \(r.outputText) \(r.errorText)", file: file, line: line)
    }

    var repairArguments: [String] { ["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--import", "beta", "--force"] }

    func testManualRepairsAndRollbackAreRecordedAndCounted() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(startPeer().termination, .exited(0))
        try removeTree(fx.sitePackages + "/alpha")
        XCTAssertEqual(fx.start().termination, .exited(78), "no auto-repair: fails closed")
        XCTAssertEqual(fx.admin(["status"]).termination, .exited(78))

        // 1: the repair by hand.
        let repaired = fx.admin(repairArguments)
        XCTAssertEqual(repaired.termination, .exited(0), repaired.errorText)
        let record = fx.lastRecord()
        XCTAssertEqual(record["kind"], .string("action"))
        XCTAssertEqual(record["by"], .string("cli"))
        XCTAssertEqual(record["action"], .string("repair"))
        XCTAssertEqual(record["result"], .string("repaired"))
        XCTAssertEqual(record["generation"], .number(1))
        XCTAssertEqual(record["from_generation"], .number(0))
        XCTAssertEqual(record["source"], .string("known-good"))
        XCTAssertEqual(record["decision"], nil, "not a start")
        let peer = try XCTUnwrap(HealthLog.read(state: StateDirectory(path: fx.state), agent: "peer").records.last)
        XCTAssertEqual(peer["action_id"], record["action_id"], "every agent on the venv gets the record, under one id")

        // The bug: status still said failed-closed and exited 78 after the manual repair.
        let status = fx.admin(["status", "--json"])
        XCTAssertEqual(status.termination, .exited(0), status.outputText)
        let demo = try XCTUnwrap(try json(status)["agents"]?.arrayValue?.first { $0["agent"] == .string("demo") })
        XCTAssertEqual(demo["last_decision"], .string("failed-closed"), "the last start is still the last start")
        XCTAssertEqual(demo["fixed_since_last_start"], .bool(true))
        XCTAssertEqual(demo["last_action"]?["result"], .string("repaired"))
        XCTAssertEqual(demo["starts_7d"], .number(2))
        XCTAssertEqual(demo["repairs_7d"], .number(1))
        let table = fx.admin(["status"]).outputText
        XCTAssertTrue(table.contains("failed-closed, then repaired by cli (generation 1)"), table)

        // 2: a rebuild by hand, 3: a rollback by hand (back to generation 1).
        XCTAssertEqual(fx.admin(repairArguments + ["--rebuild"]).termination, .exited(0))
        let back = fx.admin(["rollback", "--venv", fx.venv, "--import", "alpha", "--force"])
        XCTAssertEqual(back.termination, .exited(0), back.errorText)
        XCTAssertEqual(fx.lastRecord()["result"], .string("rolled-back"))
        XCTAssertEqual(fx.lastRecord()["generation"], .number(1))
        XCTAssertEqual(fx.lastRecord()["from_generation"], .number(2))

        let metrics = fx.admin(["metrics"])
        XCTAssertEqual(metrics.termination, .exited(0), metrics.errorText)
        let families = try parsePrometheus(metrics.outputText)
        XCTAssertEqual(families.value("guarded_run_agent_repairs_total", ["agent": "demo"]), 2)
        XCTAssertEqual(families.value("guarded_run_agent_rollbacks_total", ["agent": "demo"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_repairs_total", ["agent": "peer"]), 2)
        let starts = families.flatMap(\.samples)
            .filter { $0.name == "guarded_run_agent_starts_total" && $0.labels["agent"] == "demo" }.reduce(0) { $0 + $1.value }
        XCTAssertEqual(starts, 2, "CLI actions are not starts")
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "demo", "decision": "failed-closed"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "demo", "decision": "failed-closed"]), 1)

        // venvs report: 2 repairs and 1 rollback (the bug counted 1 of 3), each once although two
        // agents' logs hold it.
        let report = fx.admin(["venvs", "report", "--json"])
        let last24 = try XCTUnwrap(try json(report)["last_24h"])
        XCTAssertEqual(last24["repaired"], .number(2), report.outputText)
        XCTAssertEqual(last24["rolled-back"], .number(1), report.outputText)
        XCTAssertEqual(last24["failed-closed"], .number(1), report.outputText)
        let text = fx.admin(["venvs", "report"]).outputText
        XCTAssertTrue(text.contains("last 24 h: 2 repaired, 1 rolled back, 1 failed closed"), text)

        let log = fx.admin(["log", "demo"]).outputText
        XCTAssertTrue(log.contains("cli repair"), log)
        XCTAssertTrue(log.contains("cli rollback"), log)
        XCTAssertTrue(log.contains("generation: 2 -> 1"), log)

        // The next start checks the repaired venv anew and runs.
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord()["decision"], .string("checked-ok"))
    }

    /// A venv no agent's log names: the record goes to the state directory's own action log, which
    /// `venvs report` counts; no agent appears from it.
    func testRepairOfAVenvNoAgentRunsOnIsCountedOnce() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeTree(fx.sitePackages + "/alpha")
        let other = fx.tmp.file("state2")
        let r = runGuarded(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--from", "dist-info", "--import", "alpha", "--force", "--state-dir", other],
                           environment: fx.env())
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(HealthLog.agents(state: StateDirectory(path: other)), [])
        let actions = HealthLog.readUnattachedActions(state: StateDirectory(path: other))
        XCTAssertEqual(actions.count, 1)
        XCTAssertEqual(actions.first?["result"], .string("repaired"))
        XCTAssertEqual(try fileStatus(other + "/venvs/actions.jsonl").permissions, 0o600)
        let report = runGuarded(["venvs", "report", "--json", "--root", fx.tmp.file("agent"), "--state-dir", other], environment: fx.env())
        XCTAssertEqual(try json(report)["last_24h"]?["repaired"], .number(1), report.outputText)
    }

    /// `generations --restore-plain --force` is recorded as a restore; it fixes nothing, so a refused
    /// start before it stays the agent's state.
    func testRestoreIsRecorded() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.admin(repairArguments + ["--rebuild"]).termination, .exited(0))
        let restore = fx.admin(["generations", "--venv", fx.venv, "--restore-plain", "--force"])
        XCTAssertEqual(restore.termination, .exited(0), restore.errorText)
        let record = fx.lastRecord()
        XCTAssertEqual(record["action"], .string("restore"))
        XCTAssertEqual(record["result"], .string("restored"))
        XCTAssertEqual(record["from_generation"], .number(1))
        let status = try json(fx.admin(["status", "--json"]))
        XCTAssertEqual(status["agents"]?.arrayValue?.first?["last_decision"], .string("checked-ok"))
        XCTAssertEqual(status["agents"]?.arrayValue?.first?["last_action"]?["action"], .string("restore"))
    }
}
