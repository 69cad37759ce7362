import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `status`, `log` and `metrics` over health logs written by real launcher runs, with malformed
/// lines mixed in (skipped and counted, never fatal).
final class StatusMetricsTests: XCTestCase {
    var fx: AgentFixture!
    var otherVenv: String { fx.tmp.file("other/.venv") }

    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func admin(_ args: [String]) -> SubprocessResult { runGuarded(args + ["--state-dir", fx.state]) }

    /// demo: checked-ok, fast-ok, fast-ok (+3 malformed lines). other: a repair 8 days ago (from the
    /// rotated file), checked-ok, then failed-closed after its pyvenv.cfg went away.
    func writeHistory() throws {
        for _ in 0..<3 { XCTAssertEqual(fx.start().termination, .exited(0)) }
        let log = fx.state + "/agents/demo/health.jsonl"
        let fd = try FileDescriptor.open(log, [.writeOnly, .append])
        try fd.writeAll(Array("not json at all\n{\"truncated\": \n[1, 2]\n".utf8))

        makeVenv(otherVenv)
        let old = HealthRecord(agent: "other", venv: otherVenv, status: "healthy", decision: .repaired,
                               reasons: [], checkMicroseconds: 4_000_000,
                               extra: [("repair_summary", .string("rebuilt from known-good"))],
                               time: Clock.rfc3339(seconds: Clock.wallTime().seconds - 8 * 86400))
        try StateDirectory(path: fx.state).prepare("agents", "other")
        try writeFileAtomically(fx.state + "/agents/other/health.jsonl.1", old.jsonLine())
        let args = ["--agent", "other", "--state-dir", fx.state, "--venv", otherVenv, "--", otherVenv + "/bin/python", fx.agentScript]
        XCTAssertEqual(runGuarded(args).termination, .exited(0))
        try removeFile(otherVenv + "/pyvenv.cfg")
        XCTAssertEqual(runGuarded(args).termination, .exited(78))
    }

    func testStatusFromRealStarts() throws {
        try writeHistory()
        let r = admin(["status", "--json"])
        XCTAssertEqual(r.termination, .exited(78), "an agent's last start failed closed")
        XCTAssertEqual(r.errorText, "guarded-run: status: warning: demo: skipped 3 malformed lines in \(fx.state)/agents/demo/health.jsonl\n")
        let json = try XCTUnwrap(JSONValue.parse(r.outputText))
        let agents = try XCTUnwrap(json["agents"]?.arrayValue)
        XCTAssertEqual(agents.compactMap { $0["agent"]?.stringValue }, ["demo", "other"])
        let demo = agents[0], other = agents[1]
        XCTAssertEqual(demo["venv"]?.stringValue, fx.venv)
        XCTAssertEqual(demo["last_decision"]?.stringValue, "fast-ok")
        XCTAssertEqual(demo["last_status"]?.stringValue, "healthy")
        XCTAssertEqual(demo["starts_7d"]?.intValue, 3)
        XCTAssertEqual(demo["repairs_7d"]?.intValue, 0)
        XCTAssertEqual(demo["last_failure"], .null)
        XCTAssertEqual(demo["malformed_lines"]?.intValue, 3)
        XCTAssertNotNil(demo["last_start"]?.stringValue.flatMap(Clock.parseRFC3339))
        XCTAssertEqual(other["last_decision"]?.stringValue, "failed-closed")
        XCTAssertEqual(other["starts_7d"]?.intValue, 2, "the repair 8 days ago is outside the window")
        XCTAssertEqual(other["repairs_7d"]?.intValue, 0)
        XCTAssertEqual(other["failures_7d"]?.intValue, 1)
        XCTAssertEqual(other["last_failure"]?["decision"]?.stringValue, "failed-closed")
        XCTAssertEqual(other["last_failure"]?["reason"]?.stringValue, "pyvenv-cfg-missing: \(otherVenv)/pyvenv.cfg: No such file or directory")
        XCTAssertEqual(json["malformed_lines"]?.intValue, 3)

        let table = admin(["status"])
        XCTAssertEqual(table.termination, .exited(78))
        let lines = table.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, table.outputText)
        XCTAssertTrue(lines[0].hasPrefix("AGENT  MODE     VENV"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("demo   enforce  \(fx.venv)"), lines[1])
        XCTAssertTrue(lines[1].contains("  fast-ok  "), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("  -"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("other  enforce  \(otherVenv)"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix("failed-closed: pyvenv-cfg-missing: \(otherVenv)/pyvenv.cfg: No such file or directory"), lines[2])
        XCTAssertEqual(lines[3], "2 agents, 1 not running on their last start")

        // Healthy agents only: exit 0.
        try removeTree(fx.state + "/agents/other")
        XCTAssertEqual(admin(["status"]).termination, .exited(0))
    }

    func testLogShowsTheNewestLast() throws {
        try writeHistory()
        let r = admin(["log", "other", "-n", "2"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(r.errorText, "")
        let lines = r.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, r.outputText)
        XCTAssertTrue(lines[0].contains("  checked-ok     healthy  "), lines[0])
        XCTAssertTrue(lines[0].hasSuffix(otherVenv), lines[0])
        XCTAssertTrue(lines[1].contains("  failed-closed  broken   "), lines[1])
        XCTAssertEqual(lines[2], "    pyvenv-cfg-missing: \(otherVenv)/pyvenv.cfg: No such file or directory")
        XCTAssertTrue(lines[3].hasPrefix("    not-a-venv: "), lines[3])
        let full = admin(["log", "other"])
        let fullLines = full.outputText.split(separator: "\n").map(String.init)
        let repaired = try XCTUnwrap(fullLines.firstIndex { $0.contains("  repaired       healthy  4.0 s ") }, full.outputText)
        XCTAssertEqual(fullLines[repaired + 1], "    repair summary: rebuilt from known-good", "other writers' fields are shown by name")

        let all = admin(["log", "other", "--json"])
        let json = try XCTUnwrap(JSONValue.parse(all.outputText))
        XCTAssertEqual(json["records"]?.arrayValue?.compactMap { $0["decision"]?.stringValue }, ["repaired", "checked-ok", "failed-closed"])
        XCTAssertEqual(json["malformed_lines"]?.intValue, 0)

        let demo = admin(["log", "demo"])
        XCTAssertEqual(demo.termination, .exited(0))
        XCTAssertEqual(demo.errorText, "guarded-run: log: warning: skipped 3 malformed lines in \(fx.state)/agents/demo/health.jsonl\n")
        XCTAssertEqual(demo.outputText.split(separator: "\n").count, 3)

        let missing = admin(["log", "nobody"])
        XCTAssertEqual(missing.termination, .exited(64))
        XCTAssertTrue(missing.errorText.hasPrefix("guarded-run: log: no health log for agent 'nobody': \(fx.state)/agents/nobody/health.jsonl: No such file or directory (known agents: demo, other)"), missing.errorText)
        XCTAssertEqual(admin(["log", "../etc"]).termination, .exited(64))
        XCTAssertEqual(admin(["log", "demo", "-n", "0"]).termination, .exited(64))
    }

    func testMetricsParseAndMatchTheLogs() throws {
        try writeHistory()
        let r = admin(["metrics"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let families = try parsePrometheus(r.outputText)
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "demo", "decision": "checked-ok"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "demo", "decision": "fast-ok"]), 2)
        XCTAssertEqual(families.value("guarded_run_agent_starts_total", ["agent": "other", "decision": "failed-closed"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_repairs_total", ["agent": "other"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_rollbacks_total", ["agent": "other"]), 0)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "demo", "decision": "fast-ok"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "other", "decision": "failed-closed"]), 1)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision", ["agent": "other", "decision": "checked-ok"]), 0)
        XCTAssertEqual(families.value("guarded_run_agent_health_log_malformed_lines", ["agent": "demo"]), 3)
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": fx.venv, "status": "healthy"]), 1)
        XCTAssertEqual(families.value("guarded_run_venv_health", ["venv": otherVenv, "status": "broken"]), 1)
        XCTAssertEqual(families.value("guarded_run_fast_path_decision_seconds_count"), 2)
        let now = Double(Clock.wallTime().seconds)
        let last = try XCTUnwrap(families.value("guarded_run_agent_last_start_timestamp_seconds", ["agent": "demo"]))
        XCTAssertTrue(last <= now + 1 && last > now - 3600, "\(last) is this run's start")
        let demoLast = try XCTUnwrap(fx.records().last?["check_us"]?.intValue)
        XCTAssertEqual(families.value("guarded_run_agent_last_decision_duration_seconds", ["agent": "demo"]), Double(demoLast) / 1e6)

        // --output: atomic, world-readable for node_exporter, nothing else left in the directory.
        let dir = fx.tmp.file("textfile")
        try makeDirectories(dir)
        let w = admin(["metrics", "--output", dir + "/guarded_run.prom"])
        XCTAssertEqual(w.termination, .exited(0), w.errorText)
        XCTAssertEqual(w.outputText, "")
        XCTAssertEqual(try directoryEntries(dir), ["guarded_run.prom"])
        XCTAssertEqual(try fileStatus(dir + "/guarded_run.prom").permissions, 0o644)
        XCTAssertEqual(try readTextFile(dir + "/guarded_run.prom"), r.outputText)
        let bad = admin(["metrics", "--output", fx.tmp.file("no/such/dir/x.prom")])
        XCTAssertEqual(bad.termination, .exited(70))
        XCTAssertEqual(bad.errorText, "guarded-run: metrics: cannot write \(fx.tmp.file("no/such/dir/x.prom")): No such file or directory\n")
    }

    func testVenvsReportShowsWhatHappenedOvernight() throws {
        try writeHistory()
        let r = runGuarded(["venvs", "report", "--root", fx.tmp.path, "--state-dir", fx.state])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        XCTAssertTrue(r.outputText.hasPrefix("2 venvs: 1 broken, 0 degraded, 1 healthy\nbroken:\n  \(otherVenv): pyvenv-cfg-missing: "), r.outputText)
        XCTAssertTrue(r.outputText.contains("last 24 h: 0 repaired, 0 rolled back, 1 failed closed, 0 transient (2 agents with health logs)\n"), r.outputText)
        XCTAssertTrue(r.outputText.contains("  other  failed-closed  \(otherVenv)  pyvenv-cfg-missing: "), r.outputText)
    }
}
