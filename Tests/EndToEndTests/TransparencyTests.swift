import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// After a healthy check the agent is guarded-run's own process: same PID, arguments byte for byte,
/// environment, descriptors, signal dispositions and mask; its exit code and death by signal are
/// what the supervisor sees.
final class TransparencyTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func testAgentIsTheSameProcessWithEverythingUnchanged() throws {
        try fx.tmp.write("report.py", """
            import os, sys, json
            print(json.dumps({
                "pid": os.getpid(),
                "argv": [os.fsencode(a).hex() for a in sys.argv[1:]],
                "env": os.environ.get("GR_TEST_VALUE"),
            }))
            """)
        // The shell records its own PID and state, then execs guarded-run: same PID all the way.
        // Process state is read by a shell agent (Python itself ignores SIGPIPE and SIGXFSZ at start).
        let shellAgent = "echo agent $$ $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/5) $(grep SigIgn /proc/$$/status | cut -f2) $(grep SigBlk /proc/$$/status | cut -f2)"
        let script = """
            exec 5>\(fx.tmp.file("fd5-target"))
            trap '' USR1
            echo "shell $$ $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/5) $(grep SigIgn /proc/$$/status | cut -f2) $(grep SigBlk /proc/$$/status | cut -f2)"
            \(guardedRunBinary) --state-dir \(fx.state) --venv \(fx.venv) -- /bin/sh -c '\(shellAgent)'
            exec \(guardedRunBinary) --state-dir \(fx.state) --venv \(fx.venv) -- \(fx.python) \(fx.tmp.file("report.py")) \\
                'two words' '"quoted"' '' "$(printf 'bytes\\377\\376')" --not-ours
            """
        let r = TestSupport.run("/bin/sh", ["-c", script], environment: environment(["GR_TEST_VALUE": "secret value 123"]))
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let lines = r.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, r.outputText)
        let shell = lines[0].split(separator: " ").map(String.init)
        let agentState = lines[1].split(separator: " ").map(String.init)
        XCTAssertEqual(Array(agentState.dropFirst(2)), Array(shell.dropFirst(2)),
                       "stdout, fd 5, ignored and blocked signals exactly as received")
        XCTAssertTrue(shell[4].hasSuffix("200"), "SIGUSR1 ignored by the shell: \(shell)")
        let agent = try XCTUnwrap(JSONValue.parse(lines[2]))
        XCTAssertEqual(agent["pid"]?.intValue.map(String.init), shell[1], "same PID as the shell that exec'd guarded-run")
        XCTAssertEqual(agent["env"]?.stringValue, "secret value 123")
        let expected = ["two words", "\"quoted\"", ""].map { hexString(Array($0.utf8)) }
            + [hexString(Array("bytes".utf8) + [0xff, 0xfe]), hexString(Array("--not-ours".utf8))]
        XCTAssertEqual(agent["argv"]?.arrayValue?.compactMap(\.stringValue), expected)
        // No environment value and no agent argument in the health log.
        let log = try readTextFile(fx.state + "/agents/agent/health.jsonl")
        XCTAssertEqual(log.split(separator: "\n").count, 2)
        XCTAssertFalse(log.contains("secret value 123"))
        XCTAssertFalse(log.contains("two words"), "agent arguments are not logged")
    }

    /// The same through the pair on both paths: a first start (the launcher misses and hands the
    /// start to guarded-run-full with one execve, which runs the full check and execs COMMAND) and a
    /// cached one (the launcher execs COMMAND itself). PID, argv bytes and the environment, a
    /// caller's GUARDED_RUN_HANDOVER included, arrive as received either way.
    func testFirstAndCachedStartsThroughThePairPassEverythingAsReceived() throws {
        try fx.tmp.write("report.py", """
            import os, sys, json
            print(json.dumps({
                "pid": os.getpid(),
                "argv": [os.fsencode(a).hex() for a in sys.argv[1:]],
                "env": sorted(os.fsencode(k).hex() + "=" + os.fsencode(v).hex() for k, v in os.environ.items() if k != "_"),
            }))
            """)
        let script = """
            echo "$$"
            exec \(guardedRunBinary) --agent \(fx.agent) --state-dir \(fx.state) --venv \(fx.venv) -- \(fx.python) \(fx.tmp.file("report.py")) \\
                'two words' '' "$(printf 'bytes\\377\\376')" --not-ours
            """
        let baseline = TestSupport.run("/bin/sh", ["-c", "exec \(fx.python) \(fx.tmp.file("report.py"))"],
                                       environment: environment(["GR_TEST_VALUE": "secret value 123", "GUARDED_RUN_HANDOVER": "7:2:logged"]))
        let expectedEnv = try XCTUnwrap(JSONValue.parse(baseline.outputText))["env"]?.arrayValue?.compactMap(\.stringValue)
        XCTAssertEqual(expectedEnv?.isEmpty, false)
        let expectedArgv = ["two words", ""].map { hexString(Array($0.utf8)) }
            + [hexString(Array("bytes".utf8) + [0xff, 0xfe]), hexString(Array("--not-ours".utf8))]
        for decision in ["checked-ok", "fast-ok"] {
            let r = TestSupport.run("/bin/sh", ["-c", script],
                                    environment: environment(["GR_TEST_VALUE": "secret value 123", "GUARDED_RUN_HANDOVER": "7:2:logged"]))
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            let lines = r.outputText.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 2, r.outputText)
            guard lines.count == 2 else { continue }
            let agent = try XCTUnwrap(JSONValue.parse(lines[1]))
            XCTAssertEqual(agent["pid"]?.intValue.map(String.init), lines[0], "\(decision): same PID as the shell that exec'd guarded-run")
            XCTAssertEqual(agent["argv"]?.arrayValue?.compactMap(\.stringValue), expectedArgv, decision)
            XCTAssertEqual(agent["env"]?.arrayValue?.compactMap(\.stringValue), expectedEnv, "\(decision): the environment exactly as received")
            XCTAssertEqual(fx.lastRecord().decision, decision)
        }
    }

    func testExitCodeAndSignalDeathComeBackUnchanged() throws {
        let exit42 = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", fx.python, "-c", "import sys; sys.exit(42)"])
        XCTAssertEqual(exit42.termination, .exited(42))
        let killed = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", fx.python, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
        XCTAssertEqual(killed.termination, .signaled(SIGTERM))
        let stdin = TestSupport.run("/bin/sh", ["-c", "echo from-stdin | \(guardedRunBinary) --state-dir \(fx.state) --venv \(fx.venv) -- \(fx.python) -c 'import sys; print(sys.stdin.read().strip())'"])
        XCTAssertEqual(stdin.outputText, "from-stdin\n")
    }

    func testNoDescriptorOfOursLeaksIntoTheAgent() throws {
        // Baseline: what the agent inherits from this test process when started directly.
        let listFDs = "import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')))"
        let direct = TestSupport.run(fx.python, ["-c", listFDs])
        XCTAssertEqual(direct.termination, .exited(0))
        // The first start takes the slow path (probe, cache and log writes), the second the fast one.
        for _ in 0..<2 {
            let r = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", fx.python, "-c", listFDs])
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            XCTAssertEqual(r.outputText, direct.outputText, "guarded-run adds no descriptor and closes none")
        }
    }

    func testConcurrentLaunchersAllStartAndTheLogStaysWhole() throws {
        // 24 launchers at once on a fresh venv: every one runs its agent, and every log line is whole JSON.
        let script = (0..<24).map { _ in "\(guardedRunBinary) --agent demo --state-dir \(fx.state) --venv \(fx.venv) -- \(fx.python) \(fx.agentScript) &" }
            .joined(separator: "\n") + "\nwait\n"
        let r = TestSupport.run("/bin/sh", ["-c", script], timeout: 300)
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.agentRuns, 24)
        let (records, malformed) = HealthLog.read(state: StateDirectory(path: fx.state), agent: "demo")
        XCTAssertEqual(malformed, 0)
        XCTAssertEqual(records.count, 24)
        XCTAssertTrue(records.allSatisfy { ["checked-ok", "fast-ok"].contains($0.decision ?? "") })
        XCTAssertNotNil(Fingerprint.launcherVerdict(state: StateDirectory(path: fx.state), venv: fx.venv, imports: []))
    }

    func testHealthLogRotatesAtItsCapKeepingOneOldFile() throws {
        for _ in 0..<12 {
            let r = fx.start(env: ["GUARDED_RUN_LOG_MAX_BYTES": "1000"])
            XCTAssertEqual(r.termination, .exited(0))
        }
        let path = fx.state + "/agents/demo/health.jsonl"
        XCTAssertLessThanOrEqual(try fileStatus(path).size, 1000)
        XCTAssertTrue(fileExists(path + ".1"))
        XCTAssertEqual(try fileStatus(path + ".1").permissions, 0o600)
        let (records, malformed) = HealthLog.read(state: StateDirectory(path: fx.state), agent: "demo")
        XCTAssertEqual(malformed, 0)
        XCTAssertGreaterThan(records.count, 4)
    }
}
