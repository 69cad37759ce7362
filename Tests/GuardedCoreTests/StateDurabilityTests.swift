@testable import GuardedCheck
@testable import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The durability rules (docs/architecture.md, "Durability"): the fingerprint cache is written
/// without fsync because every copy a power loss can leave is a miss; known-good.json keeps its
/// fsyncs and is written only when the set changes.
final class StateDurabilityTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("durability") }
    override func tearDown() { tmp.remove() }

    func knownGood(checked: String, requests: String = "2.32.3") -> KnownGood {
        KnownGood(venv: tmp.file("venv"), checkedAt: checked, pythonVersion: "3.11.2", interpreter: "/usr/bin/python3.11",
                  home: "/usr/bin", distributions: [Distribution(name: "pip", version: "23.0.1"),
                                                    Distribution(name: "requests", version: requests)])
    }

    func testKnownGoodIsRewrittenOnlyWhenTheSetChanges() throws {
        let state = StateDirectory(path: tmp.file("state"))
        let path = KnownGood.path(state: state, venv: tmp.file("venv"))
        try knownGood(checked: "2026-11-30T10:00:00Z").save(state: state)
        let first = try fileStatus(path)

        try knownGood(checked: "2026-11-30T11:00:00Z").save(state: state)
        XCTAssertEqual(try fileStatus(path).inode, first.inode, "the same set: the file is not replaced")
        XCTAssertEqual(KnownGood.load(state: state, venv: tmp.file("venv"))?.checkedAt, "2026-11-30T10:00:00Z",
                       "checked stays when this set was first recorded")

        try knownGood(checked: "2026-11-30T12:00:00Z", requests: "2.32.4").save(state: state)
        XCTAssertNotEqual(try fileStatus(path).inode, first.inode, "another version: rewritten")
        XCTAssertEqual(KnownGood.load(state: state, venv: tmp.file("venv")), knownGood(checked: "2026-11-30T12:00:00Z", requests: "2.32.4"))
    }

    func testAnUnreadableKnownGoodIsReplaced() throws {
        let state = StateDirectory(path: tmp.file("state"))
        try state.writeFile(["venvs", StateDirectory.key(for: tmp.file("venv"))], "known-good.json", Array("{\"venv\": ".utf8))
        try knownGood(checked: "2026-11-30T10:00:00Z").save(state: state)
        XCTAssertEqual(KnownGood.load(state: state, venv: tmp.file("venv")), knownGood(checked: "2026-11-30T10:00:00Z"))
    }

    /// What a power loss can leave of an unsynced fingerprint: none, empty (a truncated copy is
    /// FingerprintTests' `truncated at`), or the copy it replaced, taken before a later check that
    /// refused the venv replaced the invalidation marker (which is fsync'd): every one a miss.
    func testEveryCopyAPowerLossCanLeaveIsAMiss() throws {
        try tmp.write("venv/pyvenv.cfg", "home = /usr/bin\n")
        let state = StateDirectory(path: tmp.file("state"))
        var r = CheckReport(venv: tmp.file("venv"), imports: [])
        r.watchPaths = [tmp.file("venv"), tmp.file("venv/pyvenv.cfg")]
        r.startedWallNs = Clock.wallNanoseconds() + 1_000_000_000
        let older = try r.cacheableFingerprint().get()
        try older.save(state: state)
        XCTAssertNotNil(Fingerprint.launcherVerdict(state: state, venv: older.venv, imports: []), "the saved copy is a hit")

        XCTAssertNil(Fingerprint.launcherVerdict([], venv: older.venv, imports: []), "empty")
        try BesideVenv(venv: tmp.file("venv")).invalidate(status: "broken")
        XCTAssertNil(Fingerprint.launcherVerdict(state: state, venv: older.venv, imports: []),
                     "a copy from before a refusing check's marker")
    }
}
