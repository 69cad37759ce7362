import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The state layout for a fleet (issue 11 item 1): `$STATE_DIRECTORY`, an agent without a usable
/// state directory (started, said once per boot, visible to `status`), and root's `status`,
/// `metrics` and `log` over the state directories of agents that run as other users.
final class StateLayoutTests: XCTestCase {
    var fx: AgentFixture!
    var runtime: String!

    override func setUpWithError() throws {
        fx = try AgentFixture()
        runtime = fx.tmp.file("runtime")
        try makeDirectories(runtime, mode: 0o700)
    }

    override func tearDown() { fx?.remove() }

    func launch(_ options: [String], env: [String: String?] = [:]) -> SubprocessResult {
        var env = env
        env["GUARDED_RUN_RUNTIME_DIR"] = runtime
        return runGuarded(["--agent", fx.agent] + options + ["--", fx.python, fx.agentScript], environment: environment(env))
    }

    func testStateDirectoryFromSystemdFirstEntry() throws {
        let env: [String: String?] = ["GUARDED_RUN_STATE_DIR": nil, "STATE_DIRECTORY": fx.state + ":" + fx.tmp.file("second")]
        XCTAssertEqual(launch([], env: env).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(launch([], env: env).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok", "the fast path reads the same directory")
        XCTAssertFalse(fileExists(fx.tmp.file("second")))
        // GUARDED_RUN_STATE_DIR wins over it.
        let other = fx.tmp.file("env-state")
        XCTAssertEqual(launch([], env: env.merging(["GUARDED_RUN_STATE_DIR": other]) { $1 }).termination, .exited(0))
        XCTAssertEqual(HealthLog.read(state: StateDirectory(path: other), agent: fx.agent).records.count, 1)
    }

    func testUnusableStateDirectoryStartsTheAgentSaysSoOnceAndShowsInStatus() throws {
        try fx.tmp.write("a-file", "x")
        let unusable = fx.tmp.file("a-file/state")
        let first = launch(["--state-dir", unusable])
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        XCTAssertEqual(first.errorText.split(separator: "\n").count, 1, first.errorText)
        XCTAssertTrue(first.errorText.contains("demo: warning: the state directory (from --state-dir) cannot be used"), first.errorText)
        XCTAssertFalse(first.errorText.contains(unusable), "no path that may come from the environment")
        let second = launch(["--state-dir", unusable])
        XCTAssertEqual(second.termination, .exited(0))
        XCTAssertEqual(second.errorText, "", "said once per boot")
        XCTAssertEqual(fx.agentRuns, 2)

        let status = runGuarded(["status", "--json", "--state-dir", fx.state], environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertEqual(status.termination, .exited(1), status.errorText)
        let json = try XCTUnwrap(JSONValue.parse(status.outputText))
        let without = try XCTUnwrap(json["without_state"]?.arrayValue)
        XCTAssertEqual(without.map { $0["agent"]?.stringValue }, ["demo"])
        XCTAssertEqual(without.first?["venv"]?.stringValue, fx.venv)
        let table = runGuarded(["status", "--state-dir", fx.state], environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertTrue(table.outputText.contains("demo (uid 0): no state directory since "), table.outputText)

        // Fixed: once the agent logs a start again, status no longer lists it.
        XCTAssertEqual(launch(["--state-dir", fx.state]).termination, .exited(0))
        let after = runGuarded(["status", "--json", "--state-dir", fx.state], environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertEqual(JSONValue.parse(after.outputText)?["without_state"]?.arrayValue?.count, 0, after.outputText)
    }

    /// A marker planted by someone else (another owner) does not silence the notice.
    func testPlantedMarkerDoesNotSilence() throws {
        try fx.tmp.write("a-file", "x")
        _ = launch(["--state-dir", fx.tmp.file("a-file/state")])
        let marker = try XCTUnwrap(try directoryEntries(runtime).first { $0.hasSuffix(".no-state.demo") })
        XCTAssertEqual(chown(runtime + "/" + marker, 65534, 65534), 0)
        let again = launch(["--state-dir", fx.tmp.file("a-file/state")])
        XCTAssertTrue(again.errorText.contains("cannot be used"), again.errorText)
    }

    /// Root's status, metrics and log read the state directory of an agent that runs as another
    /// user (owned by it), listed in fleet.conf as `state = DIR/*`.
    func testRootReadsEveryAgentsStateDirectory() throws {
        let agents = fx.tmp.file("agents-state")
        let mail = agents + "/mail"
        try makeDirectories(agents, mode: 0o755)
        let record = HealthRecord(agent: "mail", venv: "/srv/mail/.venv", status: "healthy", decision: .checkedOK, checkMicroseconds: 1000)
        try HealthLog.append(record, state: StateDirectory(path: mail))
        // Owned by the service user, as systemd's StateDirectory= leaves it.
        XCTAssertEqual(TestSupport.run("/bin/chown", ["-R", "65534:65534", mail]).termination, .exited(0))
        XCTAssertEqual(launch(["--state-dir", fx.state]).termination, .exited(0))
        try fx.tmp.write("state/fleet.conf", "state = \(agents)/*\n")

        let status = runGuarded(["status", "--json", "--state-dir", fx.state], environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertEqual(status.termination, .exited(0), status.errorText)
        let names = JSONValue.parse(status.outputText)?["agents"]?.arrayValue?.compactMap { $0["agent"]?.stringValue }
        XCTAssertEqual(names, ["demo", "mail"])
        let metrics = runGuarded(["metrics", "--state-dir", fx.state])
        XCTAssertTrue(metrics.outputText.contains("guarded_run_agent_info{agent=\"mail\",venv=\"/srv/mail/.venv\"} 1"), metrics.outputText)
        let log = runGuarded(["log", "mail", "--json", "--state-dir", fx.state])
        XCTAssertEqual(log.termination, .exited(0), log.errorText)
        XCTAssertTrue(log.outputText.contains("/srv/mail/.venv"))

        // A file in that directory that is not its owner's, or is writable by others, is not read.
        XCTAssertEqual(chmod(mail + "/agents/mail/health.jsonl", 0o666), 0)
        let names2 = JSONValue.parse(runGuarded(["status", "--json", "--state-dir", fx.state]).outputText)?["agents"]?.arrayValue
        XCTAssertEqual(names2?.first { $0["agent"]?.stringValue == "mail" }?["records"]?.intValue, 0)
    }
}
