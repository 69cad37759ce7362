import Foundation
@testable import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Day-two operation of a fleet, on real venvs and the built binary: observe mode, counters that
/// survive log rotation, give-ups and repair details in `status` and `log`, CLI typos.
final class OperationsTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func admin(_ args: [String], env: [String: String?] = [:]) -> SubprocessResult {
        runGuarded(args + ["--state-dir", fx.state], environment: environment(env))
    }

    /// Every file and directory under `root` with its lstat identity and times: "nothing changed".
    func tree(_ root: String) throws -> [String: FileStatus] {
        var out: [String: FileStatus] = [:]
        var pending = [root]
        while let dir = pending.popLast() {
            for name in try directoryEntries(dir) {
                let path = dir + "/" + name
                let st = try fileStatus(path)
                out[path] = st
                if st.isDirectory { pending.append(path) }
            }
        }
        return out
    }

    // MARK: observe mode

    func testObserveStartsTheAgentOnABrokenVenvAndChangesNothing() throws {
        XCTAssertEqual(fx.start(["--observe"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(fx.lastRecord()["observe"], .bool(true))
        XCTAssertEqual(fx.start(["--observe"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok", "the fast path recognises --observe")
        XCTAssertEqual(fx.lastRecord()["observe"], .bool(true))

        let cfg = try readFile(fx.venv + "/pyvenv.cfg")
        try removeFile(fx.venv + "/pyvenv.cfg")
        let before = try tree(fx.tmp.file("agent"))
        let runs = fx.agentRuns
        // Auto-repair asked for too: observe mode must not touch the venv.
        let r = fx.start(["--observe", "--auto-repair"], env: ["ENABLE_AUTO_REPAIR": "1"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.agentRuns, runs + 1, "the agent ran")
        let rec = fx.lastRecord()
        XCTAssertEqual(rec.decision, "observed")
        XCTAssertEqual(rec["would"], .string("failed-closed"))
        XCTAssertEqual(rec["observe"], .bool(true))
        XCTAssertEqual(rec["status"], .string("broken"))
        XCTAssertNil(rec["repair"], "no repair in observe mode")
        XCTAssertTrue(rec.reasonList.first?.hasPrefix("pyvenv-cfg-missing: ") == true, "\(rec.reasonList)")
        XCTAssertTrue(r.errorText.hasPrefix("guarded-run: demo: observe mode: would refuse the start (failed-closed, exit 78); starting it anyway: venv \(fx.venv) is broken: pyvenv-cfg-missing: "), r.errorText)
        var after = try tree(fx.tmp.file("agent"))
        after[fx.marker] = before[fx.marker]
        XCTAssertEqual(after.keys.sorted(), before.keys.sorted(), "no file added or removed beside the venv")
        for (path, st) in before where path != fx.marker {
            XCTAssertTrue(after[path]!.sameIdentityAndTimes(as: st), "\(path) changed in observe mode")
        }

        // Enforcing, the same start fails closed.
        XCTAssertEqual(fx.start().termination, .exited(78))

        // status: which agents observe and which enforce.
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", cfg)
        let other = fx.tmp.file("other/.venv")
        makeVenv(other)
        try removeFile(other + "/pyvenv.cfg")
        XCTAssertEqual(runGuarded(["--observe", "--agent", "other", "--venv", other, "--state-dir", fx.state, "--", other + "/bin/python", "-c", "pass"]).termination, .exited(0))
        let s = admin(["status"])
        XCTAssertEqual(s.termination, .exited(78), "demo's last start failed closed")
        let lines = s.outputText.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("demo   enforce  "), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("other  observe  "), lines[2])
        XCTAssertTrue(lines[2].contains("  observed (would failed-closed)  "), lines[2])
        XCTAssertEqual(lines[3], "2 agents, 1 not running on their last start, 1 in observe mode")
        let json = try XCTUnwrap(JSONValue.parse(admin(["status", "--json"]).outputText))
        let modes = json["agents"]?.arrayValue?.map { [$0["agent"]?.stringValue ?? "", $0["mode"]?.stringValue ?? "", $0["would"]?.stringValue ?? "-"] }
        XCTAssertEqual(modes, [["demo", "enforce", "-"], ["other", "observe", "failed-closed"]])
        try removeTree(fx.state + "/agents/demo")
        XCTAssertEqual(admin(["status"]).termination, .exited(1), "a start that would have been refused needs attention")

        let m = try parsePrometheus(admin(["metrics"]).outputText)
        XCTAssertEqual(m.value("guarded_run_agent_observe_mode", ["agent": "other"]), 1)
        XCTAssertEqual(m.value("guarded_run_agent_observed_refusals_total", ["agent": "other", "would": "failed-closed"]), 1)
        XCTAssertEqual(m.value("guarded_run_agent_starts_total", ["agent": "other", "decision": "observed"]), 1)
        XCTAssertEqual(m.value("guarded_run_agent_starts_total", ["agent": "other", "decision": "failed-closed"]), 0)
    }

    func testObserveFromTheEnvironmentOnEveryPath() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        // The fast path reads GUARDED_RUN_OBSERVE itself (plain spellings) ...
        XCTAssertEqual(fx.start(env: ["GUARDED_RUN_OBSERVE": "1"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.lastRecord()["observe"], .bool(true))
        // ... and hands other spellings to the general code, which reaches the same decision.
        let upper = fx.start(env: ["GUARDED_RUN_OBSERVE": "YES"])
        XCTAssertEqual(upper.termination, .exited(0))
        XCTAssertEqual(upper.errorText, "")
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.lastRecord()["observe"], .bool(true))
        let off = fx.start(env: ["GUARDED_RUN_OBSERVE": "0"])
        XCTAssertEqual(off.errorText, "")
        XCTAssertNil(fx.lastRecord()["observe"])
        // An unrecognised value enforces, and says so once, without repeating the value.
        let odd = fx.start(env: ["GUARDED_RUN_OBSERVE": "sometimes"])
        XCTAssertEqual(odd.termination, .exited(0))
        XCTAssertEqual(odd.errorText, "guarded-run: demo: warning: GUARDED_RUN_OBSERVE has an unrecognised value (use true/1/yes or false/0/no): observe mode is off (the launcher enforces)\n")
        XCTAssertNil(fx.lastRecord()["observe"])
        try removeFile(fx.venv + "/pyvenv.cfg")
        XCTAssertEqual(fx.start(env: ["GUARDED_RUN_OBSERVE": "sometimes"]).termination, .exited(78))
        XCTAssertEqual(fx.start(env: ["GUARDED_RUN_OBSERVE": "true"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "observed")
    }

    // MARK: counters across rotation

    /// A small GUARDED_RUN_LOG_MAX_BYTES rotates the log every few starts; every counter and the
    /// histogram, read by prometheus_client after each start, never goes down and ends at the true
    /// count of starts.
    func testCountersOnlyGoUpAcrossManyRotations() throws {
        let env: [String: String?] = ["GUARDED_RUN_LOG_MAX_BYTES": "900"]
        let cfg = try readFile(fx.venv + "/pyvenv.cfg")
        var expected: [String: Int] = [:]
        var texts: [String] = []
        var broken = false
        for i in 0..<40 {
            if i % 7 == 4 { try removeFile(fx.venv + "/pyvenv.cfg"); broken = true }
            let r = fx.start(env: env)
            let decision: String
            if broken { decision = "failed-closed"; XCTAssertEqual(r.termination, .exited(78)) }
            else { decision = fx.lastRecord().decision ?? "?"; XCTAssertEqual(r.termination, .exited(0), r.errorText) }
            XCTAssertEqual(fx.lastRecord().decision, decision)
            expected[decision, default: 0] += 1
            if broken { try writeFileAtomically(fx.venv + "/pyvenv.cfg", cfg); broken = false }
            let m = admin(["metrics"])
            XCTAssertEqual(m.termination, .exited(0), m.errorText)
            texts.append(m.outputText)
        }
        XCTAssertGreaterThanOrEqual(expected["fast-ok"] ?? 0, 20)
        XCTAssertGreaterThanOrEqual(expected["failed-closed"] ?? 0, 5)
        let left = fx.records().count
        XCTAssertLessThan(left, 15, "the log rotated many times (\(left) records left of 40)")

        let parsed = try countersAndHistograms(texts)
        XCTAssertEqual(parsed.count, 40)
        XCTAssertGreaterThan(assertMonotonic(parsed), 10)
        let final = parsed.last!
        for d in ["fast-ok", "checked-ok", "failed-closed"] {
            XCTAssertEqual(final["guarded_run_agent_starts_total{agent=demo,decision=\(d)}"], Double(expected[d] ?? 0), d)
        }
        XCTAssertEqual(final["guarded_run_fast_path_decision_seconds_count{}"], Double(expected["fast-ok"] ?? 0))
        XCTAssertEqual(final["guarded_run_fast_path_decision_seconds_bucket{le=+Inf}"], Double(expected["fast-ok"] ?? 0))
        XCTAssertGreaterThan(final["guarded_run_fast_path_decision_seconds_sum{}"] ?? 0, 0)
        XCTAssertEqual(try fileStatus(fx.state + "/agents/demo/health-counts").permissions, 0o600)
    }

    /// Every counter and histogram sample of each exposition, as prometheus_client parses them:
    /// `name{label=value,...}` to value, one dictionary per exposition.
    func countersAndHistograms(_ texts: [String]) throws -> [[String: Double]] {
        let python = try prometheusPython()
        let dir = fx.tmp.file("expositions-\(randomHex(3))")
        try makeDirectories(dir)
        for (i, t) in texts.enumerated() { try writeFileAtomically(dir + "/\(i).prom", t) }
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for i in range(int(sys.argv[2])):
                series = {}
                for f in text_string_to_metric_families(open("%s/%d.prom" % (sys.argv[1], i)).read()):
                    if f.type not in ("counter", "histogram"):
                        continue
                    for s in f.samples:
                        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
                        series[key] = s.value
                out.append(series)
            print(json.dumps(out))
            """
        let r = try Subprocess.run(python, ["-c", script, dir, String(texts.count)], timeoutSeconds: 300)
        XCTAssertTrue(r.succeeded, r.errorText)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.outputText.utf8)) as? [[String: Double]])
    }

    /// Asserts no series goes down from one exposition to the next; returns how many series.
    @discardableResult
    func assertMonotonic(_ expositions: [[String: Double]], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let keys = Set(expositions.flatMap(\.keys))
        for key in keys {
            var last = 0.0
            for (i, series) in expositions.enumerated() {
                guard let v = series[key] else { continue }
                XCTAssertGreaterThanOrEqual(v, last, "\(key) went down at exposition \(i + 1): \(last) -> \(v)", file: file, line: line)
                last = v
            }
        }
        return keys.count
    }

    /// Rotations while `metrics` reads: launchers start concurrently (each start may rotate) while
    /// `metrics` runs over and over; no reading ever sees a counter go down, and once the starts
    /// are done the totals are exact.
    func testCountersStayMonotonicWhileRotationsRunConcurrently() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        let script = "for i in $(seq 15); do \"$0\" \"$@\" >/dev/null 2>&1; done"
        let args = [guardedRunBinary, "--agent", fx.agent, "--state-dir", fx.state, "--", fx.python, "-c", "pass"]
        var env = ProcessInfo.processInfo.environment
        env["GUARDED_RUN_LOG_MAX_BYTES"] = "800"
        let workers = try (0..<3).map { _ -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script] + args
            p.environment = env
            try p.run()
            return p
        }
        var texts: [String] = []
        while workers.contains(where: \.isRunning) {
            let m = admin(["metrics"])
            XCTAssertEqual(m.termination, .exited(0), m.errorText)
            texts.append(m.outputText)
        }
        for w in workers { w.waitUntilExit(); XCTAssertEqual(w.terminationStatus, 0) }
        texts.append(admin(["metrics"]).outputText)
        let parsed = try countersAndHistograms(texts)
        assertMonotonic(parsed)
        let final = try XCTUnwrap(parsed.last)
        let total = (final["guarded_run_agent_starts_total{agent=demo,decision=fast-ok}"] ?? 0)
            + (final["guarded_run_agent_starts_total{agent=demo,decision=checked-ok}"] ?? 0)
        // 1 + 3 x 15 starts, none counted twice. (A launcher descheduled between opening the log
        // and writing its line, across two rotations by others, writes into a file already
        // dropped: that line is lost from the log itself, so a total a little short is possible.)
        XCTAssertLessThanOrEqual(total, 46)
        XCTAssertGreaterThanOrEqual(total, 40)
    }

    /// The carried counts are outside input too: garbage there is a miss (the log's own records
    /// still count), never a crash; and a rotated file already carried is not counted twice.
    func testCarriedCountsSurviveGarbageAndAreNeverCountedTwice() throws {
        let env: [String: String?] = ["GUARDED_RUN_LOG_MAX_BYTES": "700"]
        for _ in 0..<8 { XCTAssertEqual(fx.start(env: env).termination, .exited(0)) }
        let state = StateDirectory(path: fx.state)
        let snap = HealthLog.snapshot(state: state, agent: "demo")
        XCTAssertEqual(snap.totals["decision:fast-ok"] + snap.totals["decision:checked-ok"], 8)
        let counts = fx.state + "/agents/demo/health-counts"
        let good = try readTextFile(counts)
        XCTAssertTrue(good.hasPrefix("guarded-run health-counts 1\nabsorbed "), good)

        // The crash window: counts written, rename not done. Simulate by absorbing the current
        // rotated file again: its lines must not count twice.
        try HealthCounts.carry(rotatedOut: state.healthLogPath(for: "demo") + ".1", state: state, agent: "demo")
        XCTAssertEqual(HealthLog.snapshot(state: state, agent: "demo").totals.values, snap.totals.values)
        try HealthCounts.carry(rotatedOut: state.healthLogPath(for: "demo") + ".1", state: state, agent: "demo")
        XCTAssertEqual(HealthLog.snapshot(state: state, agent: "demo").totals.values, snap.totals.values, "absorbing twice is once")

        for garbage in ["", "garbage\n", "guarded-run health-counts 1\ndecision:fast-ok 99999999999999999999999\nabsorbed x y\n",
                        "guarded-run health-counts 1\ndecision:fast-ok -5\nfast_count 9223372036854775807\nfast_count 3\n"] {
            try writeFileAtomically(counts, garbage)
            let m = admin(["metrics"])
            XCTAssertEqual(m.termination, .exited(0), m.errorText)
            let families = try parsePrometheus(m.outputText)
            XCTAssertNotNil(families.value("guarded_run_agent_starts_total", ["agent": "demo", "decision": "fast-ok"]))
        }
        // Saturating, never trapping: a huge carried count plus more starts.
        XCTAssertEqual(fx.start(env: env).termination, .exited(0))
        XCTAssertEqual(fx.start(env: env).termination, .exited(0))
        XCTAssertEqual(admin(["metrics"]).termination, .exited(0))
    }

    // MARK: status and log

    func testStatusShowsAgentsThatGaveUpWithTheirStreak() throws {
        try removeFile(fx.venv + "/pyvenv.cfg")
        let args = ["--give-up-after", "2", "--venv", fx.venv]
        XCTAssertEqual(fx.start(args).termination, .exited(78))
        var s = admin(["status"])
        XCTAssertTrue(s.outputText.contains("  failed-closed (streak 1)  "), s.outputText)
        XCTAssertEqual(fx.start(args).termination, .exited(0))
        XCTAssertEqual(fx.start(args).termination, .exited(0))
        s = admin(["status"])
        XCTAssertEqual(s.termination, .exited(78))
        let lines = s.outputText.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].contains("  failed-closed, gave up after 3  "), lines[1])
        XCTAssertEqual(lines[2], "1 agent, 1 not running on their last start, 1 gave up (restarts stopped)")
        let json = try XCTUnwrap(JSONValue.parse(admin(["status", "--json"]).outputText))
        let demo = try XCTUnwrap(json["agents"]?.arrayValue?.first)
        XCTAssertEqual(demo["gave_up"], .bool(true))
        XCTAssertEqual(demo["failed_closed_streak"]?.intValue, 3)
        let m = try parsePrometheus(admin(["metrics"]).outputText)
        XCTAssertEqual(m.value("guarded_run_agent_give_ups_total", ["agent": "demo"]), 2)
    }

    /// Repair and rollback details, as the repairer writes them, in `log`'s text output.
    func testLogShowsRepairAndRollbackDetails() throws {
        let state = StateDirectory(path: fx.state)
        let repaired = HealthRecord(agent: "demo", venv: fx.venv, status: "healthy", decision: .repaired, checkMicroseconds: 41_200_000,
                                    extra: [("probe_ms", .number(80)), ("repair", .object([
                                        ("result", .string("repaired")), ("generation", .number(3)), ("source", .string("requirements.txt")),
                                        ("packages", .number(23)), ("interpreter", .string("/usr/bin/python3.11")),
                                        ("python_version", .string("3.11.2")), ("interpreter_reason", .string("the venv's own home")),
                                        ("installer", .string("uv")), ("previous_generation", .number(2)), ("adopted", .bool(false)),
                                        ("broken_reasons", JSONValue(["interpreter-missing: bin/python -> /opt/py/bin/python3.11"])),
                                        ("pruned", .array([.number(1)])), ("duration_ms", .number(41_150)),
                                    ]))])
        let rolledBack = HealthRecord(agent: "demo", venv: fx.venv, status: "healthy", decision: .rolledBack, checkMicroseconds: 900_000,
                                      extra: [("repair", .object([
                                          ("result", .string("rolled-back")), ("generation", .number(2)), ("from_generation", .number(3)),
                                          ("repair_failure", .string("repair failed: no interpreter")), ("tried", JSONValue(["/usr/bin/python3.11: gone"])),
                                          ("broken_reasons", JSONValue(["home-missing: /opt/py"])), ("duration_ms", .number(850)),
                                      ]))])
        let backoff = HealthRecord(agent: "demo", venv: fx.venv, status: "broken", decision: .failedClosed, reasons: ["home-missing: /opt/py"],
                                   checkMicroseconds: 300, extra: [("repair_backoff", .object([
                                       ("failed", .string("2026-11-25T07:00:00Z")), ("attempts", .number(2)), ("retry_after", .string("2026-11-25 08:00:00Z")),
                                   ]))])
        for r in [repaired, rolledBack, backoff] { try HealthLog.append(r, state: state) }
        let out = admin(["log", "demo"])
        XCTAssertEqual(out.termination, .exited(0), out.errorText)
        let text = out.outputText
        for expected in [
            "    repair: repaired\n        generation: 3\n        source: requirements.txt\n        packages: 23\n        interpreter: /usr/bin/python3.11\n",
            "        python version: 3.11.2\n", "        installer: uv\n", "        previous generation: 2\n", "        adopted: no\n",
            "        broken reasons: interpreter-missing: bin/python -> /opt/py/bin/python3.11\n", "        pruned: 1\n",
            "        duration: 41.2 s\n",
            "    repair: rolled-back\n        generation: 2\n        from generation: 3\n        repair failure: repair failed: no interpreter\n        tried: /usr/bin/python3.11: gone\n",
            "    home-missing: /opt/py\n    repair backoff:\n        failed: 2026-11-25T07:00:00Z\n        attempts: 2\n        retry after: 2026-11-25 08:00:00Z\n",
        ] {
            XCTAssertTrue(text.contains(expected), "missing:\n\(expected)\nin:\n\(text)")
        }
    }

    // MARK: CLI habits

    func testDidYouMeanForSubcommandsAndOptions() {
        let cases: [([String], String)] = [
            (["stauts"], "guarded-run: unknown command 'stauts'; did you mean 'status'?\n"),
            (["metrcs"], "guarded-run: unknown command 'metrcs'; did you mean 'metrics'?\n"),
            (["xyz"], "guarded-run: unknown command 'xyz'; run 'guarded-run --help'\n"),
            (["status", "--jsno"], "guarded-run: status: unknown option '--jsno'; did you mean '--json'?\nusage: guarded-run status "),
            (["status", "--state-dri", "x"], "guarded-run: status: unknown option '--state-dri'; did you mean '--state-dir'?\nusage: guarded-run status "),
            (["status", "--zz"], "guarded-run: status: unknown option '--zz'\nusage: guarded-run status "),
            (["venvs", "chekc"], "guarded-run: venvs: unknown action 'chekc' (check, report or repair); did you mean 'check'?\n"),
            (["snapshot", "lsit"], "guarded-run: snapshot: unknown action 'lsit'; did you mean 'list'?\n"),
        ]
        for (args, expected) in cases {
            let r = runGuarded(args)
            XCTAssertEqual(r.termination, .exited(64), "\(args)")
            XCTAssertTrue(r.errorText.hasPrefix(expected), "\(args): \(r.errorText)")
        }
        for (typo, meant) in [("--agnet", "--agent"), ("--obsreve", "--observe"), ("--give-up-afer", "--give-up-after"), ("--improt", "--import")] {
            let r = runGuarded([typo, "x", "--", "/bin/true"])
            XCTAssertEqual(r.termination, .exited(64))
            XCTAssertTrue(r.errorText.hasPrefix("guarded-run: unknown option '\(typo)'; did you mean '\(meant)'?\n"), r.errorText)
        }
    }

    func testInvalidEnableAutoRepairIsSaidOnStderrWithoutItsValue() throws {
        let r = fx.start(env: ["ENABLE_AUTO_REPAIR": "sometimes-secret"])
        XCTAssertEqual(r.termination, .exited(0))
        XCTAssertEqual(r.errorText, "guarded-run: demo: warning: ENABLE_AUTO_REPAIR has an unrecognised value (use true/1/yes or false/0/no): auto-repair is off\n")
        XCTAssertEqual(fx.lastRecord()["auto_repair_note"]?.stringValue?.contains("sometimes"), false)
        XCTAssertNotNil(fx.lastRecord()["auto_repair_note"])
    }
}
