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
        XCTAssertFalse(String(decoding: launcher, as: UTF8.self).contains("/ld-linux"), "guarded-run must be static")
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

    /// The handover variable is the full binary's alone: COMMAND never sees it, on the full binary's
    /// path (a first start) or on the launcher's (a cached one); one a caller set is passed as received
    /// by a cached start, and replaced on the way to the full binary.
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
        // A stray value in the caller's environment cannot fake a handover to the full binary:
        // the launcher replaces it (a miss here: another import set).
        let stray = runGuarded(["--import", "json"] + args, environment: environment(["GUARDED_RUN_HANDOVER": "2:logged"]))
        XCTAssertEqual(stray.termination, .exited(0), stray.errorText)
        XCTAssertEqual(stray.outputText, "[]\n")
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
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
        let env = environment(["GUARDED_RUN_HANDOVER": "99", "GUARDED_RUN_RUNTIME_DIR": runtime])
        let args = ["--agent", fx.agent, "--state-dir", fx.state, "--", fx.python, fx.agentScript]
        let first = TestSupport.run(guardedRunFullBinary, args, environment: env)
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        XCTAssertEqual(first.errorText.split(separator: "\n").count, 1, first.errorText)
        XCTAssertTrue(first.errorText.contains("the launcher (guarded-run) speaks cache format 99 and this full binary (guarded-run-full) cache format \(Fingerprint.formatVersion): install both from one build"), first.errorText)
        let second = TestSupport.run(guardedRunFullBinary, args, environment: env)
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
