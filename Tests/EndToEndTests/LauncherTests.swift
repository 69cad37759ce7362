import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The launcher against real venvs: fail closed on real breakage, exec transparently on health,
/// the fast path after one full check, and a cache that survives garbage.
final class LauncherTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func assertFailedClosed(_ r: SubprocessResult, reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.termination, .exited(78), r.errorText, file: file, line: line)
        XCTAssertEqual(fx.agentRuns, 0, "the agent must not have run", file: file, line: line)
        let lines = r.errorText.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line on stderr: \(r.errorText)", file: file, line: line)
        XCTAssertTrue(r.errorText.hasPrefix("guarded-run: demo: venv \(fx.venv) is broken: "), r.errorText, file: file, line: line)
        XCTAssertTrue(r.errorText.contains(reason), "stderr names \(reason): \(r.errorText)", file: file, line: line)
        XCTAssertTrue(r.errorText.contains("see guarded-run check --agent demo --state-dir \(fx.state))"), r.errorText, file: file, line: line)
        let rec = fx.lastRecord(file: file, line: line)
        XCTAssertEqual(rec.decision, "failed-closed", file: file, line: line)
        XCTAssertEqual(rec["status"], .string("broken"), file: file, line: line)
        XCTAssertTrue(rec.reasonList.contains { $0.hasPrefix(reason) }, "\(rec.reasonList)", file: file, line: line)
    }

    // MARK: broken for real

    func testDanglingInterpreterAfterBaseInstallRemoved() throws {
        // A Homebrew-style install dir whose python is a link, a venv made from it, the dir deleted.
        fx.remove()
        let tmp = try TemporaryDirectory("dangling")
        defer { tmp.remove() }
        try makeDirectories(tmp.file("Cellar/python/3.11/bin"))
        try makeSymbolicLink(tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"), pointingTo: testPython)
        makeVenv(tmp.file("venv"), python: tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"))
        try tmp.write("agent.py", "open(\(JSONValue.quoted(tmp.file("ran"))), 'w').write('x')\n")
        let ok = runGuarded(["--state-dir", tmp.file("state"), "--", tmp.file("venv/bin/python"), tmp.file("agent.py")])
        XCTAssertEqual(ok.termination, .exited(0), ok.errorText)
        try removeFile(tmp.file("ran"))
        try removeTree(tmp.file("Cellar"))

        let r = runGuarded(["--state-dir", tmp.file("state"), "--", tmp.file("venv/bin/python"), tmp.file("agent.py")])
        XCTAssertEqual(r.termination, .exited(78))
        XCTAssertFalse(fileExists(tmp.file("ran")))
        XCTAssertEqual(r.errorText.split(separator: "\n").count, 1)
        XCTAssertTrue(r.errorText.contains("is broken: interpreter-missing: bin/python -> \(tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)")): No such file or directory"), r.errorText)
        XCTAssertTrue(r.errorText.contains("(+1 more; see guarded-run check --agent \(defaultAgentName(venv: tmp.file("venv"))) --state-dir \(tmp.file("state")))"), r.errorText)
    }

    func testImportModuleDeleted() throws {
        try fx.writeModule("agentmod", "VALUE = 1\n")
        XCTAssertEqual(fx.start(["--import", "agentmod"]).termination, .exited(0))
        XCTAssertEqual(fx.agentRuns, 1)
        try removeFile(fx.marker)
        try removeFile(fx.sitePackages + "/agentmod.py")
        assertFailedClosed(fx.start(["--import", "agentmod"]), reason: "import-failed: agentmod: ModuleNotFoundError")
    }

    func testSyntaxErrorInImportModule() throws {
        try fx.writeModule("agentmod", "VALUE = 1\n")
        XCTAssertEqual(fx.start(["--import", "agentmod"]).termination, .exited(0))
        try removeFile(fx.marker)
        // Written in place (site-packages itself does not change). A different size, because
        // Python trusts a .pyc whose source has the same size and mtime second.
        try fx.writeModule("agentmod", "VALUE = (1,\n")
        assertFailedClosed(fx.start(["--import", "agentmod"]), reason: "import-failed: agentmod: SyntaxError")
    }

    func testPyvenvCfgRemoved() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeFile(fx.marker)
        try removeFile(fx.venv + "/pyvenv.cfg")
        assertFailedClosed(fx.start(), reason: "pyvenv-cfg-missing")
    }

    func testHomePointedElsewhere() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeFile(fx.marker)
        let cfg = try readTextFile(fx.venv + "/pyvenv.cfg")
        let edited = cfg.split(separator: "\n").map { $0.hasPrefix("home") ? "home = /nonexistent/python/bin" : String($0) }.joined(separator: "\n") + "\n"
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", edited, mode: 0o644)
        assertFailedClosed(fx.start(), reason: "home-missing: pyvenv.cfg home = /nonexistent/python/bin")
    }

    // MARK: degraded: the agent starts, the log and check say why

    func testInstallLeftoverIsDegraded() throws {
        try makeDirectories(fx.sitePackages + "/~equests")
        let r = fx.start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.agentRuns, 1)
        XCTAssertEqual(fx.lastRecord()["status"], .string("degraded"))
        XCTAssertTrue(fx.lastRecord().reasonList.first?.hasPrefix("install-leftovers: ") == true)
        let check = runGuarded(["check", "--venv", fx.venv, "--state-dir", fx.state])
        XCTAssertEqual(check.termination, .exited(1))
        XCTAssertTrue(check.outputText.contains("WARN  install-leftovers: install-leftovers: \(fx.sitePackages)/~equests"), check.outputText)
        // A degraded check invalidates the caches (check.md): one full check, then the fast path
        // keeps the degraded status and reasons.
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.lastRecord()["status"], .string("degraded"))
        XCTAssertTrue(fx.lastRecord().reasonList.first?.hasPrefix("install-leftovers: ") == true)
    }

    func testDistInfoWithoutRecordIsDegraded() throws {
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/tinypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n\n")
        let r = fx.start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.agentRuns, 1)
        XCTAssertEqual(fx.lastRecord()["status"], .string("degraded"))
        XCTAssertEqual(fx.lastRecord().reasonList, ["dist-info-incomplete: tinypkg-1.0.dist-info (no RECORD)"])
        let check = runGuarded(["check", "--venv", fx.venv, "--json"])
        XCTAssertEqual(check.termination, .exited(1))
        let json = try XCTUnwrap(JSONValue.parse(check.outputText))
        XCTAssertEqual(json["status"], .string("degraded"))
        XCTAssertEqual(json["healthy"], .bool(false))
        XCTAssertEqual(json["distributions"]?.arrayValue?.first?["name"], .string("tinypkg"))
    }

    // MARK: the fast path

    func testFastPathAfterOneFullCheckAndMissesOnChange() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertNotNil(fx.lastRecord()["probe_ms"])
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertNil(fx.lastRecord()["probe_ms"], "the fast path runs no probe")

        // Touching site-packages (a new entry) -> full check.
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/new.pth", "")
        fx.start()
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        fx.start()
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")

        // Replacing the interpreter link (same target, new inode) -> full check.
        let target = try readSymbolicLink(fx.venv + "/bin/python3")
        try removeFile(fx.venv + "/bin/python3")
        try makeSymbolicLink(fx.venv + "/bin/python3", pointingTo: target)
        fx.start()
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        fx.start()
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")

        // Editing pyvenv.cfg -> full check.
        let cfg = try readTextFile(fx.venv + "/pyvenv.cfg")
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", cfg + "# edited\n", mode: 0o644)
        fx.start()
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(fx.agentRuns, 7)
        for rec in fx.records() {
            XCTAssertEqual(rec["agent"], .string("demo"))
            XCTAssertEqual(rec["venv"], .string(fx.venv))
            XCTAssertNotNil(rec["time"]?.stringValue.flatMap(Clock.parseRFC3339))
            XCTAssertNotNil(rec["check_us"]?.intValue)
        }
    }

    func testGarbageCacheFallsBackToFullCheckAndIsRewritten() throws {
        XCTAssertEqual(fx.start().termination, .exited(0))
        let state = StateDirectory(path: fx.state)
        let cache = Fingerprint.cachePath(state: state, venv: fx.venv, imports: [])
        let good = try readFile(cache)
        var generator = SystemRandomNumberGenerator()
        let other = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "fingerprint \(Fingerprint.formatVersion)", with: "fingerprint 9")
        let damages: [(String, () throws -> Void)] = [
            ("empty", { try writeFileAtomically(cache, []) }),
            ("truncated", { try writeFileAtomically(cache, Array(good.prefix(good.count / 2))) }),
            ("random", { try writeFileAtomically(cache, (0..<3000).map { _ in UInt8.random(in: 0...255, using: &generator) }) }),
            ("other version", { try writeFileAtomically(cache, other) }),
            ("symlink to /etc/passwd", { try removeFile(cache); try makeSymbolicLink(cache, pointingTo: "/etc/passwd") }),
            ("a directory", { try removeFile(cache); try makeDirectories(cache) }),
        ]
        for (name, damage) in damages {
            try damage()
            let r = fx.start()
            XCTAssertEqual(r.termination, .exited(0), "\(name): \(r.errorText)")
            XCTAssertEqual(fx.lastRecord().decision, "checked-ok", name)
            if name == "a directory" { try removeTree(cache); continue }
            // Rewritten safely: a regular 0600 file again, not a link, and the next start is fast.
            let st = try fileStatus(cache)
            XCTAssertTrue(st.isRegularFile, name)
            XCTAssertEqual(st.permissions, 0o600, name)
            fx.start()
            XCTAssertEqual(fx.lastRecord().decision, "fast-ok", name)
        }
        XCTAssertTrue(try readTextFile("/etc/passwd").contains("root:"), "the link target was not written")
    }

    // MARK: usage and exec failures

    func testNoVenvIsAUsageError() {
        let r = runGuarded(["--state-dir", fx.state, "--", "/bin/true"])
        XCTAssertEqual(r.termination, .exited(64))
        XCTAssertTrue(r.errorText.contains("name the venv with --venv DIR"), r.errorText)
        XCTAssertEqual(runGuarded(["--bogus", "--", "/bin/true"]).termination, .exited(64))
        XCTAssertEqual(runGuarded(["--venv", fx.venv]).termination, .exited(64))
        XCTAssertEqual(runGuarded(["--venv", fx.venv, "--"]).termination, .exited(64))
        XCTAssertEqual(runGuarded(["--agent", "../x", "--venv", fx.venv, "--", "/bin/true"]).termination, .exited(64))
    }

    func testCommandNotFoundAndNotExecutable() throws {
        let missing = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", fx.tmp.file("nope")])
        XCTAssertEqual(missing.termination, .exited(127), missing.errorText)
        let onPath = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", "no-such-command-xyz"])
        XCTAssertEqual(onPath.termination, .exited(127))
        try fx.tmp.write("plain.txt", "not a program", mode: 0o644)
        let notExec = runGuarded(["--state-dir", fx.state, "--venv", fx.venv, "--", fx.tmp.file("plain.txt")])
        XCTAssertEqual(notExec.termination, .exited(126))
        XCTAssertTrue(notExec.errorText.contains("cannot run \(fx.tmp.file("plain.txt")): Permission denied"), notExec.errorText)
    }

    func testVenvDefaultsToTheOneCommandLivesIn() throws {
        let r = runGuarded(["--state-dir", fx.state, "--", fx.python, "-c", "import sys; print(sys.prefix)"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(r.outputText, fx.venv + "\n")
        // Default agent name: the venv is `.venv`, so its parent's name.
        let recs = HealthLog.read(state: StateDirectory(path: fx.state), agent: "agent").records
        XCTAssertEqual(recs.last?["venv"], .string(fx.venv))
    }
}

final class LauncherFormsTests: XCTestCase {
    /// Unusual but valid command lines (relative paths, --name=value, a COMMAND on PATH) reach the
    /// same fast path after the general parser normalizes them.
    func testUnusualFormsStillTakeTheFastPath() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        XCTAssertEqual(fx.start().termination, .exited(0))
        let forms: [([String], String?)] = [
            (["--agent=demo", "--state-dir=\(fx.state)", "--venv=\(fx.venv)/", "--", fx.python, fx.agentScript], nil),
            (["--agent", "demo", "--state-dir", fx.state, "--venv", "agent/.venv", "--", fx.python, fx.agentScript], fx.tmp.path),
            (["--agent", "demo", "--state-dir", fx.state, "--venv", fx.venv, "--", "python3", fx.agentScript], nil),
        ]
        for (args, cwd) in forms {
            let env = environment(["PATH": fx.venv + "/bin:/usr/bin:/bin"])
            let r = runGuarded(args, environment: env, cwd: cwd)
            XCTAssertEqual(r.termination, .exited(0), "\(args): \(r.errorText)")
            XCTAssertEqual(fx.lastRecord().decision, "fast-ok", "\(args)")
            XCTAssertEqual(fx.lastRecord()["venv"], .string(fx.venv))
        }
        XCTAssertEqual(fx.agentRuns, 4)
    }

    func testGiveUpAfterConsecutiveFailures() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try removeFile(fx.venv + "/pyvenv.cfg")
        let args = ["--give-up-after", "3", "--venv", fx.venv]
        XCTAssertEqual(fx.start(args).termination, .exited(78))
        XCTAssertEqual(fx.start(args).termination, .exited(78))
        let third = fx.start(args)
        XCTAssertEqual(third.termination, .exited(0), "gives up: exit 0 so launchd stops respawning")
        XCTAssertTrue(third.errorText.contains("GIVING UP: 3 consecutive failed-closed starts"), third.errorText)
        XCTAssertEqual(fx.agentRuns, 0)
        XCTAssertEqual(fx.lastRecord().decision, "failed-closed")
        XCTAssertEqual(fx.lastRecord()["gave_up"], .bool(true), "logged loudly in the health log too")
        XCTAssertEqual(fx.lastRecord()["failed_closed_streak"]?.intValue, 3)
    }
}

final class LauncherCrashTests: XCTestCase {
    /// SIGKILL in the middle of a full check leaves no partial cache and no temp files; the next
    /// start checks again and runs the agent.
    func testSIGKILLDuringTheFullCheckLeavesUsableState() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        let started = fx.tmp.file("probe-started")
        try fx.writeModule("slowmod", "import os, time\nopen(\(JSONValue.quoted(started)), 'w').write(str(os.getpid()))\ntime.sleep(30)\n")
        let script = "exec \(guardedRunBinary) --agent demo --state-dir \(fx.state) --import slowmod -- \(fx.python) \(fx.agentScript)"
        let pidFile = fx.tmp.file("pid")
        // A shell records its PID (guarded-run's, after its exec) and runs in the background.
        try fx.tmp.write("start.sh", "echo $$ > \(pidFile)\n\(script)\n", mode: 0o755)
        let r = TestSupport.run("/bin/sh", ["-c", "/bin/sh \(fx.tmp.file("start.sh")) >/dev/null 2>&1 &"])
        XCTAssertEqual(r.termination, .exited(0))
        XCTAssertTrue(waitUntil(timeout: 30) { ((try? readTextFile(started)) ?? "").count > 0 }, "the probe reached the slow import")
        let probe = try XCTUnwrap(Int32(readTextFile(started)))
        let pid = try XCTUnwrap(Int32(readTextFile(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        XCTAssertTrue(waitUntil { kill(pid, 0) != 0 })
        // The probe notices it was orphaned and exits by itself instead of finishing its slow import.
        XCTAssertTrue(waitUntil(timeout: 10) { kill(probe, 0) != 0 }, "the orphaned probe exited")

        let venvState = StateDirectory(path: fx.state).venvDirectory(for: fx.venv)
        let leftovers = ((try? directoryEntries(venvState)) ?? []).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temp files")
        XCTAssertNil(Fingerprint.launcherVerdict(state: StateDirectory(path: fx.state), venv: fx.venv, imports: ["slowmod"]))
        XCTAssertEqual(fx.agentRuns, 0)

        try fx.writeModule("slowmod", "VALUE = 2\n")
        let next = fx.start(["--import", "slowmod"])
        XCTAssertEqual(next.termination, .exited(0), next.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(fx.agentRuns, 1)
    }
}
