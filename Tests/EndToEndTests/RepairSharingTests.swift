import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// One repair per venv however many state directories use it, interrupted repairs counted toward
/// the backoff, and the host-wide limit on concurrent repairs (docs/auto-repair.md), on real venvs.
final class RepairSharingTests: XCTestCase {
    var fixtures: [RepairFixture] = []
    var running: [Process] = []
    override func tearDown() {
        for p in running where p.isRunning { p.terminate(); p.waitUntilExit() }
        running = []
        fixtures.forEach { $0.remove() }
        fixtures = []
    }

    /// A venv whose known-good set is recorded in its own state directory and in `others` too (each
    /// launcher rebuilds from what its own state directory knows), then broken.
    func broken(_ mode: InstallerMode, others: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> RepairFixture {
        let fx = try RepairFixture(mode: mode)
        fixtures.append(fx)
        for state in [fx.state] + others {
            let r = fx.start(state: state)
            XCTAssertEqual(r.termination, .exited(0), r.errorText, file: file, line: line)
        }
        try removeFile(fx.marker)
        try removeTree(fx.sitePackages + "/alpha")
        return fx
    }

    func launch(_ fx: RepairFixture, env: [String: String?], state: String? = nil) throws -> Process {
        let p = try fx.launch(env: ["ENABLE_AUTO_REPAIR": "1"].merging(env) { _, b in b }, state: state)
        running.append(p)
        return p
    }

    // MARK: two state directories, one venv

    func testTwoStateDirectoriesOneRepairWithPip() throws { try twoStateDirectories(.pip) }
    func testTwoStateDirectoriesOneRepairWithUV() throws { try twoStateDirectories(.uv) }

    /// Root's state directory and the agent's own, started together on one broken venv: the second
    /// waits for the first's lock (beside the venv), finds the venv repaired, and starts on the same
    /// generation. With the lock in each state directory, the second would take its own lock while
    /// the first is mid-install, delete the first's build as a leftover, and build again.
    func twoStateDirectories(_ mode: InstallerMode) throws {
        let other = try TemporaryDirectory("repair-other-state")
        defer { other.remove() }
        let rootState = other.file("state")
        let fx = try broken(mode, others: [rootState])
        let firstPaused = fx.tmp.file("first-paused")
        let secondPaused = fx.tmp.file("second-paused")
        let first = try launch(fx, env: ["GUARDED_RUN_TEST_PAUSE_AT": "install:" + firstPaused])
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(firstPaused) }, "the first repair reached its install step")
        let build = fx.builds
        XCTAssertEqual(build.count, 1, "\(build)")

        // The second launcher, with its own state directory, says when it finds the lock held (the
        // first is still paused mid-build), and stops right after it holds the lock.
        let secondBlocked = fx.tmp.file("second-blocked")
        let second = try launch(fx, env: ["GUARDED_RUN_TEST_PAUSE_AT": "lock-wait:" + secondBlocked + ",lock:" + secondPaused], state: rootState)
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(secondBlocked) || !second.isRunning }, "the second found the lock held")
        try removeFile(secondBlocked)
        try removeFile(firstPaused)
        XCTAssertTrue(waitUntil(timeout: 120) { fileExists(secondPaused) || !second.isRunning }, "the second got the lock")
        // It got the lock only once the first had swapped generation 1 in: never during the build.
        XCTAssertEqual(fx.currentGeneration, 1, "the second held the lock before the first had finished")
        try removeFile(secondPaused)
        first.waitUntilExit()
        second.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(second.terminationStatus, 0)

        XCTAssertEqual(fx.records().last?.decision, "repaired")
        let waited = try XCTUnwrap(fx.records(state: rootState).last)
        XCTAssertEqual(waited.decision, "checked-ok", "\(waited)")
        XCTAssertEqual(waited["repair_wait"]?["result"], .string("healthy"), "\(waited)")
        XCTAssertEqual(waited["repair_wait"]?["checked_by"], .string("probe"), "another state directory holds no fingerprint of the repair")
        let repairs = (fx.records() + fx.records(state: rootState)).filter { $0["repair"]?["result"] != nil }
        XCTAssertEqual(repairs.count, 1, "one repair across both state directories")
        XCTAssertEqual(Set(fx.agentRuns.map { $0[2] }), [try resolvedPath(fx.generationsDirectory + "/1")], "both on generation 1")
        XCTAssertEqual(fx.agentRuns.count, 2)
        XCTAssertEqual(fx.leftovers, [])
        XCTAssertEqual(fx.builds, [])

        // The shared place: never through a symlink, private, owned like the venv.
        let place = try fileStatus(fx.repairPlace)
        XCTAssertTrue(place.isDirectory)
        XCTAssertEqual(place.permissions, 0o700)
        let lock = try fileStatus(fx.repairPlace + "/lock")
        XCTAssertTrue(lock.isRegularFile)
        XCTAssertEqual(lock.permissions, 0o600)
        XCTAssertEqual(lock.uid, try fileStatus(fx.venv, followSymlinks: true).uid)
        XCTAssertFalse(fileExists(fx.repairPlace + "/in-progress.json"), "the attempt ended: no in-progress record")
    }

    /// A symlink planted at the lock's name is refused, not followed: the repair fails, and the
    /// file the link names is untouched.
    func testSymlinkAtTheLockIsRefused() throws {
        let fx = try broken(.pip)
        let target = fx.tmp.file("elsewhere")
        try fx.tmp.write("elsewhere", "mine\n")
        try makeDirectories(fx.repairPlace)
        _ = chmod(fx.repairPlace, 0o700)
        try makeSymbolicLink(fx.repairPlace + "/lock", pointingTo: target)
        let r = fx.start(["--auto-repair"])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        XCTAssertTrue(r.errorText.contains("repair failed: lock: "), r.errorText)
        XCTAssertEqual(try readTextFile(target), "mine\n")
        XCTAssertEqual(fx.builds, [])
    }

    // MARK: another state directory's build is never deleted while its holder lives

    func testAnotherStateDirectorysBuildSurvivesWhileItsHolderLives() throws {
        let other = try TemporaryDirectory("repair-other-state")
        defer { other.remove() }
        let rootState = other.file("state")
        let fx = try broken(InstallerMode.uvPath == nil ? .pip : .uv, others: [rootState])
        let paused = fx.tmp.file("paused")
        let first = try launch(fx, env: ["GUARDED_RUN_TEST_PAUSE_AT": "install:" + paused])
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(paused) }, "the first repair reached its install step")
        let build = fx.builds
        XCTAssertEqual(build.count, 1)
        XCTAssertTrue(fileExists(fx.repairPlace + "/in-progress.json"))

        // From the other state directory: a launcher waits its bound and exits 75; the admin
        // commands that tidy leftovers under the lock are busy too. None touches the build.
        let waiter = fx.start(["--auto-repair"], env: ["GUARDED_RUN_REPAIR_WAIT": "0.3"], state: rootState)
        XCTAssertEqual(waiter.termination, .exited(75), waiter.errorText)
        XCTAssertTrue(waiter.errorText.contains("repair-busy: another repair of \(fx.venv) still holds its lock"), waiter.errorText)
        let prune = runGuarded(["generations", "--venv", fx.venv, "--prune", "--force", "--state-dir", rootState],
                               environment: fx.env(["GUARDED_RUN_REPAIR_WAIT": "0.3"]))
        XCTAssertEqual(prune.termination, .exited(75), prune.errorText)
        XCTAssertEqual(fx.builds, build, "the live holder's build is still there")
        XCTAssertTrue(fileExists(fx.repairPlace + "/in-progress.json"))

        try removeFile(paused)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(fx.records().last?.decision, "repaired")
        XCTAssertEqual(fx.currentGeneration, 1)
        XCTAssertEqual(fx.builds, [])
        // The waiter's failure was transient, not a failed attempt: no backoff from it.
        XCTAssertFalse(fileExists(fx.repairPlace + "/failure.json"))
    }

    // MARK: a killed repair counts toward the backoff; its build is cleaned

    func testKilledRepairCountsAsAFailureAndItsBuildIsCleaned() throws {
        let other = try TemporaryDirectory("repair-other-state")
        defer { other.remove() }
        let rootState = other.file("state")
        let fx = try broken(InstallerMode.uvPath == nil ? .pip : .uv, others: [rootState])
        let killed = fx.start(["--auto-repair"], env: ["GUARDED_RUN_TEST_KILL_AT": "install"])
        XCTAssertEqual(killed.termination, .signaled(SIGKILL), killed.errorText)
        XCTAssertEqual(fx.builds.count, 1, "the killed repair's build is left behind")
        XCTAssertTrue(fileExists(fx.repairPlace + "/in-progress.json"))

        // The next start (the supervisor's relaunch) cleans the build and backs off: one line, 78.
        let next = fx.start(["--auto-repair"])
        XCTAssertEqual(next.termination, .exited(78), next.errorText)
        XCTAssertEqual(next.errorText.split(separator: "\n").count, 1, next.errorText)
        XCTAssertTrue(next.errorText.contains("no new attempt before"), next.errorText)
        XCTAssertTrue(next.errorText.contains("repair interrupted: the attempt started at "), next.errorText)
        XCTAssertNotNil(fx.lastRecord()["repair_backoff"], "\(fx.lastRecord())")
        XCTAssertEqual(fx.builds, [], "the stale build is removed")
        XCTAssertEqual(fx.leftovers, [])
        XCTAssertFalse(fileExists(fx.repairPlace + "/in-progress.json"))
        let record = try XCTUnwrap(JSONValue.parse(bytes: try readFile(fx.repairPlace + "/failure.json")))
        XCTAssertEqual(record["attempts"], .number(1))
        XCTAssertEqual(try fileStatus(fx.repairPlace + "/failure.json").permissions, 0o600)

        // The backoff is shared: the agent's launcher in another state directory backs off too,
        // before any check (no probe), without another attempt.
        let elsewhere = fx.start(["--auto-repair"], state: rootState)
        XCTAssertEqual(elsewhere.termination, .exited(78), elsewhere.errorText)
        let refused = try XCTUnwrap(fx.records(state: rootState).last)
        XCTAssertNotNil(refused["repair_backoff"], "\(refused)")
        XCTAssertNil(refused["probe_ms"], "\(refused)")
        XCTAssertEqual(fx.agentRuns.count, 0)

        // `repair --force` ignores it and repairs; the record goes.
        let forced = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--import", "beta", "--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertFalse(fileExists(fx.repairPlace + "/failure.json"))
        XCTAssertEqual(fx.start(["--auto-repair"], state: rootState).termination, .exited(0))
    }

    // MARK: the host-wide limit

    /// Limit 1, two venvs broken at once: while the first builds, the second waits; past its wait
    /// bound it exits 75 (transient, not a failed attempt); with the slot free it repairs.
    func testHostLimitOfOneSerializesTwoVenvs() throws {
        let mode: InstallerMode = InstallerMode.uvPath == nil ? .pip : .uv
        let a = try broken(mode)
        let b = try broken(mode)
        let limit: [String: String?] = ["GUARDED_RUN_MAX_REPAIRS": "1", "GUARDED_RUN_REPAIR_SLOTS_DIR": a.tmp.file("host-slots")]
        let paused = a.tmp.file("paused")
        let first = try launch(a, env: limit.merging(["GUARDED_RUN_TEST_PAUSE_AT": "install:" + paused]) { _, n in n })
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(paused) }, "the first repair holds the host's one slot")

        let busy = b.start(["--auto-repair"], env: limit.merging(["GUARDED_RUN_REPAIR_WAIT": "0.3"]) { _, n in n })
        XCTAssertEqual(busy.termination, .exited(75), busy.errorText)
        XCTAssertTrue(busy.errorText.contains("repair-busy: 1 other repair on this host still running"), busy.errorText)
        XCTAssertEqual(b.lastRecord().decision, "transient")
        XCTAssertEqual(b.builds, [], "nothing built while waiting")
        XCTAssertFalse(fileExists(b.repairPlace + "/failure.json"), "a busy host is not a failed attempt")

        // A waiter within its bound: it gets the slot once the first is done, never before.
        let secondPaused = b.tmp.file("second-paused")
        let second = try launch(b, env: limit.merging(["GUARDED_RUN_TEST_PAUSE_AT": "slot:" + secondPaused]) { _, n in n })
        try removeFile(paused)
        XCTAssertTrue(waitUntil(timeout: 120) { fileExists(secondPaused) || !second.isRunning }, "the second got the slot")
        XCTAssertEqual(a.currentGeneration, 1, "the second got the slot before the first had finished")
        try removeFile(secondPaused)
        first.waitUntilExit()
        second.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(second.terminationStatus, 0)
        XCTAssertEqual(a.lastRecord().decision, "repaired")
        XCTAssertEqual(b.lastRecord().decision, "repaired")
        XCTAssertEqual(b.currentGeneration, 1)
    }

    /// GUARDED_RUN_MAX_REPAIRS out of range: the admin commands refuse it (64), the launcher uses
    /// the default and says so in one line (without echoing the value).
    func testBadHostLimitSetting() throws {
        let fx = try broken(.pip)
        for bad in ["0", "-1", "1025", "abc", "99999999999999999999999", ""] {
            let r = fx.admin(["repair", "--venv", fx.venv, "--force"], env: ["GUARDED_RUN_MAX_REPAIRS": bad])
            XCTAssertEqual(r.termination, .exited(64), "\(bad): \(r.errorText)")
            XCTAssertTrue(r.errorText.contains("GUARDED_RUN_MAX_REPAIRS must be a whole number from 1 to 1024"), r.errorText)
            let venvs = fx.admin(["venvs", "repair", "--root", fx.tmp.file("agent")], env: ["GUARDED_RUN_MAX_REPAIRS": bad])
            XCTAssertEqual(venvs.termination, .exited(64), "\(bad): \(venvs.errorText)")
        }
        XCTAssertEqual(fx.builds, [])
        let r = fx.start(["--auto-repair"], env: ["GUARDED_RUN_MAX_REPAIRS": "12345678"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let lines = r.errorText.split(separator: "\n").filter { $0.contains("GUARDED_RUN_MAX_REPAIRS") }
        XCTAssertEqual(lines.count, 1, r.errorText)
        // The repairer hands the note back; the launcher prints it, with its usual prefix.
        XCTAssertTrue(lines.first?.hasPrefix("guarded-run: warning: GUARDED_RUN_MAX_REPAIRS must be a whole number from 1 to 1024; using the default ") == true, r.errorText)
        XCTAssertFalse(r.errorText.contains("12345678"), "no environment value in output")
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
    }
}
