import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// No symlink is followed below the state directory, on the fast path or the slow one, and a file
/// or directory there that is not ours alone is a miss (issue 9 item 5). Each test plants one link
/// (or one foreign owner or mode) after a first start made the cache and the log, then starts again.
final class StateWalkTests: XCTestCase {
    var fx: AgentFixture!
    var outside: String!
    var runtime: String!

    override func setUpWithError() throws {
        fx = try AgentFixture()
        outside = fx.tmp.file("outside")
        runtime = fx.tmp.file("runtime")
        try makeDirectories(outside, mode: 0o700)
        try makeDirectories(runtime, mode: 0o700)
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }

    override func tearDown() { fx?.remove() }

    @discardableResult
    func start(_ options: [String] = [], env: [String: String?] = [:]) -> SubprocessResult {
        var env = env
        env["GUARDED_RUN_RUNTIME_DIR"] = runtime
        return fx.start(options, env: env)
    }

    var state: StateDirectory { StateDirectory(path: fx.state) }
    var agentDir: String { fx.state + "/agents/demo" }
    var venvDir: String { state.venvDirectory(for: fx.venv) }
    var cache: String { Fingerprint.cachePath(state: state, venv: fx.venv, imports: []) }

    /// Every file below `dir`, with its size, for "nothing was written there".
    func snapshot(_ dir: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for name in (try? directoryEntries(dir)) ?? [] {
            let st = fileStatusIfPresent(dir + "/" + name)
            out[name] = st?.isDirectory == true ? -1 : st?.size ?? -2
            if st?.isDirectory == true { for (k, v) in snapshot(dir + "/" + name) { out[name + "/" + k] = v } }
        }
        return out
    }

    /// Moves `path` to `outside/<as>` and plants a symlink to it at `path`.
    func plantLink(_ path: String, as name: String) throws {
        try renameItem(path, to: outside + "/" + name)
        try makeSymbolicLink(path, pointingTo: outside + "/" + name)
    }

    func testLinkAtAgentDirectoryIsNotFollowedByEitherPath() throws {
        try plantLink(agentDir, as: "agent")
        let before = snapshot(outside)
        // Fast path (the cache is good) and slow path (a change forces the full check).
        let fast = start()
        XCTAssertEqual(fast.termination, .exited(0), fast.errorText)
        XCTAssertTrue(fast.errorText.contains("cannot write the health log"), fast.errorText)
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/touch.py", "x = 1\n")
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", try readFile(fx.venv + "/pyvenv.cfg"))
        let slow = start()
        XCTAssertEqual(slow.termination, .exited(0), slow.errorText)
        XCTAssertEqual(fx.agentRuns, 4)
        XCTAssertEqual(snapshot(outside), before, "nothing written through agents/demo")
        // Said once per boot, not at every start.
        XCTAssertFalse(slow.errorText.contains("cannot write the health log"), slow.errorText)
        XCTAssertTrue(try directoryEntries(runtime).contains { $0.hasSuffix(".no-log.demo") })
    }

    func testLinkAtVenvsIsNotFollowed() throws {
        try plantLink(fx.state + "/venvs", as: "venvs")
        let before = snapshot(outside)
        let r = start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok", "the cache behind the link was not read")
        XCTAssertEqual(snapshot(outside), before)
    }

    func testLinkAtVenvKeyDirectoryIsNotFollowed() throws {
        try plantLink(venvDir, as: "key")
        let before = snapshot(outside)
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertEqual(snapshot(outside), before)
    }

    func testLinkAtCacheFileIsNotFollowed() throws {
        try plantLink(cache, as: "cache")
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertFalse(fileStatusIfPresent(cache)?.isSymbolicLink ?? true, "replaced by a file of ours")
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }

    func testLinkAtHealthLogIsNotFollowed() throws {
        try plantLink(agentDir + "/health.jsonl", as: "health.jsonl")
        let before = snapshot(outside)
        let r = start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(snapshot(outside), before)
        XCTAssertTrue(r.errorText.contains("cannot write the health log"), r.errorText)
    }

    func testLinkAtStreakFileIsNotFollowed() throws {
        try fx.tmp.write("outside/streak", "5\n", mode: 0o600)
        try makeSymbolicLink(agentDir + "/failed-closed-streak", pointingTo: outside + "/streak")
        try removeFile(fx.venv + "/pyvenv.cfg")
        let r = start(["--give-up-after", "3"])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        XCTAssertEqual(fx.lastRecord()["failed_closed_streak"]?.intValue, 1, "the link's target was not read")
        XCTAssertEqual(try readTextFile(outside + "/streak"), "5\n")
    }

    func testLinkAtAgentDirectoryDoesNotCarryTheStreak() throws {
        try plantLink(agentDir, as: "agent")
        let before = snapshot(outside)
        try removeFile(fx.venv + "/pyvenv.cfg")
        XCTAssertEqual(start(["--give-up-after", "3"]).termination, .exited(78))
        XCTAssertEqual(snapshot(outside), before)
    }

    func testForeignOwnerOrWritableModeIsAMiss() throws {
        let changes: [(String, () throws -> Void, () throws -> Void)] = [
            ("cache owned by another user", { XCTAssertEqual(chown(self.cache, 65534, 65534), 0) }, {}),
            ("cache writable by others", { XCTAssertEqual(chmod(self.cache, 0o606), 0) }, {}),
            ("venv directory writable by group", { XCTAssertEqual(chmod(self.venvDir, 0o770), 0) }, { chmod(self.venvDir, 0o700) }),
            ("venv directory owned by another user", { XCTAssertEqual(chown(self.venvDir, 65534, 65534), 0) }, { chown(self.venvDir, 0, 0) }),
        ]
        for (name, change, undo) in changes {
            try change()
            let r = start()
            XCTAssertEqual(r.termination, .exited(0), "\(name): \(r.errorText)")
            XCTAssertEqual(fx.lastRecord().decision, "checked-ok", name)
            try undo()
            XCTAssertEqual(start().termination, .exited(0))
            XCTAssertEqual(fx.lastRecord().decision, "fast-ok", "\(name): rewritten as ours")
        }
    }

    func testHealthLogOfAnotherOwnerIsNotAppendedTo() throws {
        let log = agentDir + "/health.jsonl"
        XCTAssertEqual(chown(log, 65534, 65534), 0)
        let size = try fileStatus(log).size
        let r = start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(try fileStatus(log).size, size)
        XCTAssertTrue(r.errorText.contains("cannot write the health log"), r.errorText)
    }

    func testFIFOAtCacheOrLogDoesNotHang() throws {
        try removeFile(cache)
        XCTAssertEqual(mkfifo(cache, 0o600), 0)
        let r = start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertFalse(r.timedOut)
        try removeFile(agentDir + "/health.jsonl")
        XCTAssertEqual(mkfifo(agentDir + "/health.jsonl", 0o600), 0)
        let again = start()
        XCTAssertEqual(again.termination, .exited(0), again.errorText)
        XCTAssertFalse(again.timedOut)
        XCTAssertEqual(fx.agentRuns, 4)
    }

    /// The state directory itself may be reached through a link (macOS /var, DynamicUser).
    func testStateDirectoryBehindALinkStillWorks() throws {
        let link = fx.tmp.file("state-link")
        try makeSymbolicLink(link, pointingTo: fx.state)
        let r = runGuarded(["--agent", fx.agent, "--state-dir", link, "--", fx.python, fx.agentScript])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }
}
