import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The installed pair: guarded-run (the Embedded launcher) and guarded-run-full beside it.
final class LauncherPairTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func testTheLauncherIsStaticAndSmallAndTheFullBinaryIsBesideIt() throws {
        let launcher = try readFile(guardedRunBinary, followSymlinks: true)
        XCTAssertEqual(Array(launcher.prefix(4)), [0x7f, 0x45, 0x4c, 0x46])
        // No program interpreter (the dynamic loader's path appears in a dynamic executable's PT_INTERP).
        #if os(Linux)
        let text = String(decoding: launcher, as: UTF8.self)
        XCTAssertFalse(text.contains("/ld-linux"), "guarded-run must be static")
        // No C library either (Sources/CLaunchRuntime): every static glibc program carries the name of
        // the variable its start-up reads, and that start-up is what the launcher skips.
        XCTAssertFalse(text.contains("GLIBC_TUNABLES"), "guarded-run must not link glibc")
        #endif
        XCTAssertLessThan(launcher.count, 2 << 20, "the Embedded launcher carries no Swift runtime")
        XCTAssertTrue(fileExists(guardedRunFullBinary))
    }

    func testAMissingFullBinaryIsExit70AndOneLine() throws {
        let dir = try TemporaryDirectory("pair")
        defer { dir.remove() }
        let launcher = try installGuardedRun(into: dir.path)
        try removeFile(dir.file("guarded-run-full"))
        for args in [["--version"], ["status"], ["--state-dir", fx.state, "--", fx.python, fx.agentScript]] {
            let r = TestSupport.run(launcher, args)
            XCTAssertEqual(r.termination, .exited(70), r.errorText)
            XCTAssertEqual(r.errorText, "guarded-run: cannot run the full binary \(dir.file("guarded-run-full")): No such file or directory; install guarded-run-full beside guarded-run (see docs/guarded-run.md)\n")
            XCTAssertEqual(r.outputText, "")
        }
        XCTAssertEqual(fx.agentRuns, 0)
        // Found beside the launcher's real path, never on PATH: a symlink to the launcher works.
        let elsewhere = try TemporaryDirectory("pair-link")
        defer { elsewhere.remove() }
        let linked = try installGuardedRun(into: elsewhere.path)
        try makeSymbolicLink(dir.file("link"), pointingTo: linked)
        XCTAssertEqual(TestSupport.run(dir.file("link"), ["--version"]).outputText, "guarded-run \(guardedRunVersion)\n")
    }

    /// The launcher's handover variable is the full binary's alone: COMMAND never sees it, on the full
    /// binary's path (a first start) or on the launcher's (a cached one).
    func testTheHandoverNeverReachesTheAgent() throws {
        let printEnv = ["-c", "import os; print(sorted(k for k in os.environ if k.startswith('GUARDED_RUN_HANDOVER')))"]
        let args = ["--agent", fx.agent, "--state-dir", fx.state, "--", fx.python] + printEnv
        let first = runGuarded(args)
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        XCTAssertEqual(first.outputText, "[]\n")
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        let second = runGuarded(args)
        XCTAssertEqual(second.outputText, "[]\n")
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }

    /// A GUARDED_RUN_HANDOVER in the caller's environment (a stale export, a copied unit) is the
    /// caller's: it reaches the agent as received on a first start and on a cached one alike (the pair as
    /// first landed dropped it on the way through the full binary and passed it on a cached start), and it fakes
    /// no handover: the full binary still logs the start.
    func testACallerSetHandoverVariableIsPassedAsReceivedOnEveryPath() throws {
        let printEnv = ["-c", "import os; print([v for k, v in os.environ.items() if k == 'GUARDED_RUN_HANDOVER'])"]
        let args = ["--agent", fx.agent, "--state-dir", fx.state, "--", fx.python] + printEnv
        let env = environment(["GUARDED_RUN_HANDOVER": "2:logged"])
        let miss = runGuarded(args, environment: env)
        XCTAssertEqual(miss.termination, .exited(0), miss.errorText)
        XCTAssertEqual(miss.outputText, "['2:logged']\n")
        XCTAssertEqual(fx.records().count, 1)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        let hit = runGuarded(args, environment: env)
        XCTAssertEqual(hit.termination, .exited(0), hit.errorText)
        XCTAssertEqual(hit.outputText, "['2:logged']\n")
        XCTAssertEqual(fx.records().count, 2)
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }

    /// guarded-run-full run directly (a complete launcher too) with a stray GUARDED_RUN_HANDOVER: as the pair first
    /// landed, `2:logged` silently dropped the start's health-log record, `2:unlogged` printed a false
    /// "No space left on device" warning, and garbage a false version-skew warning. Only the
    /// launcher that exec'd this very process (its PID) hands a start over.
    func testAStrayHandoverOnADirectRunOfTheFullBinaryChangesNothing() throws {
        let runtime = fx.tmp.file("runtime")
        try makeDirectories(runtime, mode: 0o700)
        XCTAssertEqual(fx.start().termination, .exited(0))
        let args = ["--agent", fx.agent, "--state-dir", fx.state, "--", fx.python, fx.agentScript]
        for stray in ["2:logged", "2:unlogged", "garbage", "99", "1:2:logged"] {
            let before = fx.records().count
            let r = TestSupport.run(guardedRunFullBinary, args,
                                    environment: environment(["GUARDED_RUN_HANDOVER": stray, "GUARDED_RUN_RUNTIME_DIR": runtime]))
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            XCTAssertEqual(r.errorText, "", stray)
            XCTAssertEqual(fx.records().count, before + 1, "the start is logged: \(stray)")
            XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        }
        let version = TestSupport.run(guardedRunFullBinary, ["--version"], environment: environment(["GUARDED_RUN_HANDOVER": "garbage", "GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertEqual(version.errorText, "")
    }

    /// guarded-run-full installed as a link to, or a copy of, the launcher (a packaging slip): as the pair
    /// first landed, the launcher exec'd itself forever (same PID, one execve after another, the unit never
    /// failing). It is exit 70 and one line.
    func testAFullBinaryThatIsTheLauncherItselfIsExit70() throws {
        let dir = try TemporaryDirectory("pair-self")
        defer { dir.remove() }
        let launcher = try installGuardedRun(into: dir.path)
        let full = dir.file("guarded-run-full")
        for install in ["link", "copy"] {
            try removeFile(full)
            if install == "link" { try makeSymbolicLink(full, pointingTo: "guarded-run") } else {
                try writeFileAtomically(full, try readFile(launcher), mode: 0o755)
            }
            for args in [["--version"], ["--state-dir", fx.state, "--", fx.python, fx.agentScript]] {
                let r = TestSupport.run(launcher, args, timeout: 60)
                XCTAssertFalse(r.timedOut, install)
                XCTAssertEqual(r.termination, .exited(70), "\(install): \(r.errorText)")
                XCTAssertEqual(r.errorText, "guarded-run: \(full) is not the full binary: it runs the launcher again; install guarded-run-full beside guarded-run (see docs/guarded-run.md)\n", install)
            }
        }
        XCTAssertEqual(fx.agentRuns, 0)
    }

    /// Without /proc (a chroot, a mount namespace without it) the launcher cannot find its own
    /// directory, and the full binary could not run there anyway (the Swift runtime aborts at start-up
    /// without /proc): exit 70, one line that says so (it said "install guarded-run-full beside
    /// guarded-run", which was already done).
    func testWithoutProcTheHandoverIsExit70AndSaysWhy() throws {
        #if os(Linux)
        guard geteuid() == 0, fileExists("/usr/bin/unshare"),
              TestSupport.run("/usr/bin/unshare", ["-m", "/bin/sh", "-c", "umount -l /proc"]).termination == .exited(0) else {
            throw XCTSkip("needs root and a mount namespace (unshare -m) to unmount /proc in")
        }
        let r = TestSupport.run("/usr/bin/unshare", ["-m", "/bin/sh", "-c", "umount -l /proc && exec \"$0\" \"$@\"", guardedRunBinary, "--version"])
        XCTAssertEqual(r.termination, .exited(70), r.errorText)
        XCTAssertEqual(r.errorText, "guarded-run: cannot find its own executable (/proc/self/exe) to run guarded-run-full beside it: No such file or directory; guarded-run-full needs /proc mounted (see docs/guarded-run.md)\n")
        XCTAssertEqual(r.outputText, "")
        #else
        throw XCTSkip("/proc is Linux's")
        #endif
    }

    /// A health-log write that fails in the launcher (here EFBIG: a file-size limit below the log's
    /// size, SIGXFSZ ignored) is reported by the full binary with its own error: the handover said
    /// only `unlogged`, and every such failure read "No space left on device".
    func testARecordLostInTheLauncherIsReportedWithItsOwnError() throws {
        let runtime = fx.tmp.file("runtime")
        try makeDirectories(runtime, mode: 0o700)
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        let log = fx.state + "/agents/" + fx.agent + "/health.jsonl"
        let line = try readTextFile(log).split(separator: "\n").last.map { String($0) + "\n" } ?? ""
        try writeFileAtomically(log, Array(String(repeating: line, count: 8192 / line.utf8.count + 1).utf8), mode: 0o600)
        let before = try readFile(log)
        let r = TestSupport.run("/bin/sh", ["-c", "trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"", guardedRunBinary,
                                            "--agent", fx.agent, "--state-dir", fx.state, "--", fx.python, fx.agentScript],
                                environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(r.errorText, "guarded-run: \(fx.agent): warning: cannot write the health log: File too large; starts are not logged (said once per boot)\n")
        XCTAssertEqual(try readFile(log), before)
        XCTAssertEqual(fx.agentRuns, 3)
    }

    /// An agent whose COMMAND cannot be run: the launcher logs the cached start, hands over with
    /// `:logged`, and the full binary reports the exec failure (127) without a second record.
    func testAnExecFailureOnACachedStartIsLoggedOnceAndReportedOnce() throws {
        let ok = fx.start()
        XCTAssertEqual(ok.termination, .exited(0), ok.errorText)
        let before = fx.records().count
        let missing = fx.tmp.file("gone/agent")
        let r = runGuarded(["--agent", fx.agent, "--venv", fx.venv, "--state-dir", fx.state, "--", missing])
        XCTAssertEqual(r.termination, .exited(127), r.errorText)
        XCTAssertEqual(r.errorText, "guarded-run: demo: cannot run \(missing): No such file or directory\n")
        XCTAssertEqual(fx.records().count, before + 1)
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }

    /// Half an upgrade: a launcher of another cache format hands a start over. The full binary says
    /// so once per boot and starts the agent on its own verdict; a cache in a format the launcher
    /// does not know is never a hit.
    func testVersionSkewIsSaidOnceAndNeverFastOks() throws {
        let runtime = fx.tmp.file("runtime")
        try makeDirectories(runtime, mode: 0o700)
        let env = environment(["GUARDED_RUN_RUNTIME_DIR": runtime])
        // The launcher of another format, as a shell that execs the full binary in its own PID.
        let args = ["-c", "GUARDED_RUN_HANDOVER=$$:99 exec \"$0\" \"$@\"", guardedRunFullBinary,
                    "--agent", fx.agent, "--state-dir", fx.state, "--", fx.python, fx.agentScript]
        let first = TestSupport.run("/bin/sh", args, environment: env)
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        XCTAssertEqual(first.errorText.split(separator: "\n").count, 1, first.errorText)
        XCTAssertTrue(first.errorText.contains("the launcher (guarded-run) speaks cache format 99 and this full binary (guarded-run-full) cache format \(Fingerprint.formatVersion): install both from one build"), first.errorText)
        let second = TestSupport.run("/bin/sh", args, environment: env)
        XCTAssertEqual(second.termination, .exited(0), second.errorText)
        XCTAssertEqual(second.errorText, "", "said once per boot")
        XCTAssertEqual(fx.agentRuns, 2)

        // The cache rewritten as a future format (a valid checksum): the launcher never reads it as a hit.
        let key = StateDirectory.key(for: fx.venv)
        let cache = fx.state + "/venvs/" + key + "/fingerprint-none"
        var text = try readTextFile(cache)
        text = String(text[..<text.range(of: "end ")!.lowerBound]).replacingOccurrences(of: "guarded-run fingerprint \(Fingerprint.formatVersion)\n", with: "guarded-run fingerprint 99\n")
        let sum = String(fnv1a64(text.utf8), radix: 16)
        try writeFileAtomically(cache, Array((text + "end " + String(repeating: "0", count: 16 - sum.count) + sum + "\n").utf8), mode: 0o600)
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
    }

    /// A venv whose path holds a backslash (escaped in the cache) is a cached start like any other;
    /// on 0.1.0 the fast path left every such start to a full check.
    func testAPathWithABackslashIsCachedToo() throws {
        let dir = fx.tmp.file("back\\slash")
        try makeDirectories(dir)
        makeVenv(dir + "/venv")
        let args = ["--agent", "slash", "--state-dir", fx.state, "--", dir + "/venv/bin/python", "-c", "pass"]
        XCTAssertEqual(runGuarded(args).termination, .exited(0))
        let second = runGuarded(args)
        XCTAssertEqual(second.termination, .exited(0), second.errorText)
        let log = try readTextFile(fx.state + "/agents/slash/health.jsonl")
        let decisions = log.split(separator: "\n").compactMap { JSONValue.parse(String($0)) }.compactMap { $0["decision"]?.stringValue }
        XCTAssertEqual(decisions, ["checked-ok", "fast-ok"])
    }
}
