import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Issue 9 item 7: inputs that used to end the built binary with a Swift trap (SIGILL, exit 132),
/// a hang or runaway memory. Each runs the real binary on the exact input.
final class HostileInputTests: XCTestCase {
    var temp: TemporaryDirectory!
    override func setUpWithError() throws { temp = try TemporaryDirectory("hostile") }
    override func tearDown() { temp.remove() }

    /// A trap shows as a signal (SIGILL/SIGTRAP) or as 128+signal from a shell; neither may happen.
    func assertNoTrap(_ r: SubprocessResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if case .signaled(let s) = r.termination { XCTFail("\(what): killed by signal \(s): \(r.errorText)", file: file, line: line) }
        XCTAssertFalse(r.timedOut, "\(what): hung", file: file, line: line)
    }

    // MARK: binary plists

    /// 41 bytes: one object and a trailer that puts the offset table at 2^64-1.
    static let offsetTableAtMax: [UInt8] = Array("bplist00".utf8) + [0x08] + [0, 0, 0, 0, 0, 0, 1, 1]
        + bigEndian(1) + bigEndian(0) + bigEndian(UInt64.max)

    /// 282 bytes: 60 arrays, each holding the next one twice (2^60 values when expanded).
    static let sharedSixtyDeep: [UInt8] = {
        var objects: [UInt8] = [], offsets: [UInt8] = []
        for i in 0..<60 { offsets.append(UInt8(8 + objects.count)); objects += [0xA2, UInt8(i + 1), UInt8(i + 1)] }
        offsets.append(UInt8(8 + objects.count)); objects.append(0x09)
        let table = UInt64(8 + objects.count)
        return Array("bplist00".utf8) + objects + offsets + [0, 0, 0, 0, 0, 0, 1, 1] + bigEndian(61) + bigEndian(0) + bigEndian(table)
    }()

    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }

    /// A directory with both hostile plists and one good one: every command refuses the two with one
    /// line each and goes on with the third.
    func testHostileBinaryPlistsAreRefusedAndTheRestProceeds() throws {
        XCTAssertEqual(Self.offsetTableAtMax.count, 41)
        XCTAssertEqual(Self.sharedSixtyDeep.count, 282)
        let dir = temp.file("LaunchAgents")
        try makeDirectories(dir)
        try Data(Self.offsetTableAtMax).write(to: URL(fileURLWithPath: dir + "/a-offset.plist"))
        try Data(Self.sharedSixtyDeep).write(to: URL(fileURLWithPath: dir + "/b-shared.plist"))
        try temp.write("LaunchAgents/c-ok.plist", """
            <?xml version="1.0" encoding="UTF-8"?>
            <plist version="1.0"><dict><key>Label</key><string>com.example.ok</string>
            <key>ProgramArguments</key><array><string>/srv/ok/.venv/bin/python</string><string>-m</string><string>ok</string></array>
            </dict></plist>
            """)
        let state = temp.file("state")
        let commands: [(String, [String])] = [
            ("wrap", ["wrap", "launchd", dir, "--force", "--state-dir", state]),
            ("unwrap", ["unwrap", "launchd", dir, "--force", "--state-dir", state]),
            ("convert", ["convert", "launchd-to-systemd", dir, "--output", temp.file("units"), "--state-dir", state]),
        ]
        try makeDirectories(temp.file("units"))
        for (name, args) in commands {
            let r = runGuarded(args, timeout: 60)
            assertNoTrap(r, name)
            XCTAssertEqual(r.termination, .exited(1), "\(name): \(r.errorText)")
            let text = r.outputText + r.errorText
            XCTAssertTrue(text.contains("a-offset.plist: refused: cannot read the plist: damaged bplist trailer"), "\(name): \(text)")
            XCTAssertTrue(text.contains("b-shared.plist: refused: cannot read the plist: bplist expands to more than"), "\(name): \(text)")
            XCTAssertTrue(text.contains("c-ok.plist"), "\(name) went on with the good plist: \(text)")
            XCTAssertEqual(text.split(separator: "\n").filter { $0.contains("b-shared.plist") }.count, 1, text)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: temp.file("units/com.example.ok.service")))
    }

    // MARK: times after 2262

    /// `touch -d 2300-01-01`: 64-bit nanoseconds end in April 2262.
    func setMtime2300(_ path: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = TestSupport.run("/usr/bin/touch", ["-h", "-d", "2300-01-01", path], file: file, line: line)
        XCTAssertEqual(r.termination, .exited(0), r.errorText, file: file, line: line)
    }

    func testMtimeAfter2262InTheVenvStartsChecksAndSnapshots() throws {
        let venv = temp.file("agent/.venv")
        try makeDirectories(temp.file("agent"))
        makeVenv(venv)
        try temp.write("agent/agent.py", "print('agent ran')\n")
        setMtime2300(venv + "/pyvenv.cfg")
        let state = temp.file("state")
        let start = ["--agent", "far", "--state-dir", state, "--", venv + "/bin/python", temp.file("agent/agent.py")]
        // First start: full check (it stats pyvenv.cfg); the second: the fast path reads that back.
        for attempt in 1...2 {
            let r = runGuarded(start)
            assertNoTrap(r, "launcher start \(attempt)")
            XCTAssertEqual(r.termination, .exited(0), "start \(attempt): \(r.errorText)")
            XCTAssertEqual(r.outputText, "agent ran\n")
        }
        let records = HealthLog.read(state: StateDirectory(path: state), agent: "far").records
        XCTAssertEqual(records.map { $0["decision"]?.stringValue ?? "" }, ["checked-ok", "fast-ok"])

        let check = runGuarded(["check", "--venv", venv, "--state-dir", state])
        assertNoTrap(check, "check")
        XCTAssertEqual(check.termination, .exited(0), check.errorText)

        try temp.write("tree/far.conf", "x = 1\n")
        setMtime2300(temp.file("tree/far.conf"))
        let snap = runGuarded(["snapshot", "create", temp.file("tree"), "--state-dir", state])
        assertNoTrap(snap, "snapshot create")
        XCTAssertEqual(snap.termination, .exited(0), snap.errorText)
    }

    // MARK: settings

    func testOutOfRangeSettingsNeverTrap() throws {
        let venv = temp.file("agent/.venv")
        try makeDirectories(temp.file("agent"))
        makeVenv(venv)
        try temp.write("agent/agent.py", "print('agent ran')\n")
        let state = temp.file("state")
        let bad: [(String, String)] = [
            ("GUARDED_RUN_CHECK_TIMEOUT", "1e10"), ("GUARDED_RUN_CHECK_TIMEOUT", "inf"), ("GUARDED_RUN_CHECK_TIMEOUT", "nan"),
            ("GUARDED_RUN_CHECK_TIMEOUT", "-1"), ("GUARDED_RUN_REPAIR_WAIT", "1e300"), ("GUARDED_RUN_REPAIR_TIMEOUT", "1e300"),
            ("GUARDED_RUN_REPAIR_BACKOFF", "1e300"), ("GUARDED_RUN_REPAIR_BACKOFF_MAX", "inf"),
            ("GUARDED_RUN_LOG_MAX_BYTES", "99999999999999999999"), ("GUARDED_RUN_KEEP_GENERATIONS", "9223372036854775807"),
        ]
        for (name, value) in bad {
            // The launcher: the default, said on stderr (the variable named, never its value), and a start.
            try? removeTree(state)
            let r = runGuarded(["--agent", "s", "--state-dir", state, "--", venv + "/bin/python", temp.file("agent/agent.py")],
                               environment: environment([name: value]))
            assertNoTrap(r, "launcher with \(name)=\(value)")
            XCTAssertEqual(r.termination, .exited(0), "\(name)=\(value): \(r.errorText)")
            XCTAssertEqual(r.outputText, "agent ran\n")
            XCTAssertTrue(r.errorText.contains("warning: \(name) must be"), "\(name)=\(value): \(r.errorText)")
            XCTAssertTrue(r.errorText.contains("using the default"), r.errorText)
            XCTAssertFalse(r.errorText.contains(value), "the value is not echoed: \(r.errorText)")

            // Admin commands: one line, exit 64.
            for args in [["check", "--venv", venv, "--state-dir", state], ["repair", "--venv", venv, "--state-dir", state],
                         ["generations", "--venv", venv, "--state-dir", state]] {
                let a = runGuarded(args, environment: environment([name: value]))
                assertNoTrap(a, "\(args[0]) with \(name)=\(value)")
                XCTAssertEqual(a.termination, .exited(ExitCode.usage), "\(args[0]) \(name)=\(value): \(a.errorText)")
                XCTAssertEqual(a.errorText.split(separator: "\n").count, 1, a.errorText)
                XCTAssertTrue(a.errorText.hasPrefix("guarded-run: \(name) must be"), a.errorText)
            }
        }
        // In range, as before.
        let ok = runGuarded(["check", "--venv", venv, "--state-dir", state], environment: environment(["GUARDED_RUN_CHECK_TIMEOUT": "45.5"]))
        XCTAssertEqual(ok.termination, .exited(0), ok.errorText)
    }

    // MARK: state files

    /// A venv started once (so its state exists): the venv, the state dir, the start's argv.
    func startedAgent() throws -> (venv: String, state: String, start: [String]) {
        let venv = temp.file("agent/.venv")
        try makeDirectories(temp.file("agent"))
        makeVenv(venv)
        try temp.write("agent/agent.py", "print('agent ran')\n")
        let state = temp.file("state")
        let start = ["--agent", "n", "--state-dir", state, "--", venv + "/bin/python", temp.file("agent/agent.py")]
        XCTAssertEqual(runGuarded(start).termination, .exited(0))
        return (venv, state, start)
    }

    func testFingerprintNumberAboveInt64MaxIsAMiss() throws {
        let (venv, state, start) = try startedAgent()
        let cachePath = Fingerprint.cachePath(state: StateDirectory(path: state), venv: venv, imports: [])

        // A fingerprint whose watch line holds a 19-digit number above Int64.max, with a valid checksum.
        let cache = try readTextFile(cachePath)
        var lines = cache.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let watch = lines.firstIndex { $0.hasPrefix("watch ") }!
        var fields = lines[watch].split(separator: " ", maxSplits: 7).map(String.init)
        fields[5] = "9999999999999999999"
        lines[watch] = fields.joined(separator: " ")
        let body = lines.prefix { !$0.hasPrefix("end ") }.joined(separator: "\n") + "\n"
        var sum: UInt64 = 0xcbf29ce484222325
        for b in body.utf8 { sum = (sum ^ UInt64(b)) &* 0x100000001b3 }
        let hex = String(sum, radix: 16)
        try writeFileAtomically(cachePath, body + "end " + String(repeating: "0", count: 16 - hex.count) + hex + "\n")
        let r = runGuarded(start)
        assertNoTrap(r, "fingerprint with a number above Int64.max")
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(HealthLog.read(state: StateDirectory(path: state), agent: "n").records.last?["decision"]?.stringValue, "checked-ok")

    }

    func testRepairFailureRetryAfter1e300() throws {
        let (venv, state, _) = try startedAgent()
        // The backoff record (beside the venv, docs/auto-repair.md) with "retry_after": 1e300. A real failed repair writes the record (the
        // venv's home gone, requirements missing); then its retry_after is set far past any date.
        let cfg = try readTextFile(venv + "/pyvenv.cfg")
        try writeFileAtomically(venv + "/pyvenv.cfg", cfg.split(separator: "\n").map { $0.hasPrefix("home") ? "home = /nonexistent/bin" : String($0) }.joined(separator: "\n") + "\n")
        let repairing = ["--agent", "n", "--state-dir", state, "--auto-repair", "--requirements", temp.file("missing.txt"), "--",
                         venv + "/bin/python", temp.file("agent/agent.py")]
        let failed = runGuarded(repairing)
        XCTAssertEqual(failed.termination, .exited(ExitCode.broken), failed.errorText)
        let failurePath = venv + ".generations/.repair/failure.json"
        let record = try readTextFile(failurePath)
        let edited = record.replacingOccurrences(of: #""retry_after": [0-9.e+]+"#, with: #""retry_after": 1e300"#, options: .regularExpression)
        XCTAssertNotEqual(edited, record)
        try writeFileAtomically(failurePath, edited)
        for args in [repairing, ["repair", "--venv", venv, "--state-dir", state, "--requirements", temp.file("missing.txt")],
                     ["status", "--state-dir", state]] {
            let a = runGuarded(args)
            assertNoTrap(a, "\(args.first!) with retry_after 1e300")
        }
        let again = runGuarded(repairing)
        XCTAssertEqual(again.termination, .exited(ExitCode.broken), "a damaged record holds nothing back: \(again.errorText)")
    }

    func testGenerationNamedInt64Max() throws {
        let (venv, state, _) = try startedAgent()
        // A generation directory and a leftover build named with Int64.max.
        try makeDirectories(venv + ".generations/9223372036854775807")
        try makeDirectories(venv + ".generations/.build-9223372036854775807-ab")
        for args in [["generations", "--venv", venv, "--state-dir", state], ["repair", "--venv", venv, "--rebuild", "--state-dir", state], ["generations", "--venv", venv, "--prune", "--state-dir", state],
                     ["venvs", "report", "--root", temp.file("agent"), "--state-dir", state]] {
            let a = runGuarded(args)
            assertNoTrap(a, args.joined(separator: " "))
        }
    }

    func testFailedClosedStreakAtInt64Max() throws {
        let (venv, state, _) = try startedAgent()
        try makeDirectories(state + "/agents/n")
        try writeFileAtomically(state + "/agents/n/failed-closed-streak", "9223372036854775807\n")
        try writeFileAtomically(venv + "/pyvenv.cfg", "home = /nonexistent/bin\n")
        let r = runGuarded(["--agent", "n", "--state-dir", state, "--give-up-after", "3", "--", venv + "/bin/python", temp.file("agent/agent.py")])
        assertNoTrap(r, "give-up-after with a streak at Int64.max")
        XCTAssertEqual(r.termination, .exited(ExitCode.broken), "the streak starts over at 1: \(r.errorText)")
        XCTAssertEqual(try readTextFile(state + "/agents/n/failed-closed-streak"), "1\n")
    }

    func testMetricsOverHugeCheckTimes() throws {
        let state = temp.file("state")
        try makeDirectories(state + "/agents/big")
        let line = #"{"time":"2026-01-01T00:00:00.000000Z","agent":"big","venv":"/v","status":"healthy","decision":"fast-ok","reasons":[],"check_us":8999999999999999}"#
        try writeFileAtomically(state + "/agents/big/health.jsonl", String(repeating: line + "\n", count: 1100))
        let r = runGuarded(["metrics", "--state-dir", state])
        assertNoTrap(r, "metrics")
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertTrue(r.outputText.contains("guarded_run_fast_path_decision_seconds_count 1100"), r.outputText)
    }
}
