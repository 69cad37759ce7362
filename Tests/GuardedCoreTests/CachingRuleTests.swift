@testable import GuardedCheck
@testable import GuardedCore
@testable import GuardedLaunch
import GuardedSystem
import TestSupport
import XCTest

/// The caching rule (docs/guarded-run.md, "What is cached"): a passing check's fingerprint only when
/// nothing it watched moved while it ran; absent entries on the String and the byte-level paths.
final class CachingRuleTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("rule") }
    override func tearDown() { tmp.remove() }

    func report(started: Int64) throws -> CheckReport {
        try tmp.write("venv/pyvenv.cfg", "home = /usr/bin\n")
        var r = CheckReport(venv: tmp.file("venv"), imports: [])
        r.watchPaths = [tmp.file("venv"), tmp.file("venv/pyvenv.cfg")]
        r.startedWallNs = started
        return r
    }

    func testAnEntryNewerThanTheCheckStartIsNotCached() throws {
        let r = try report(started: Clock.wallNanoseconds())
        guard case .failure(.changed(let path, let settles)) = r.cacheableFingerprint() else {
            return XCTFail("cached a watch list written as the check began")
        }
        XCTAssertTrue(r.watchPaths.contains(path))
        XCTAssertGreaterThan(settles, try fileStatus(path).ctimeNs, "settles one granularity after the change")
    }

    func testEntriesOlderThanTheStartLessTheGranularityAreCached() throws {
        // As if the check had begun a second after the files were written.
        let r = try report(started: Clock.wallNanoseconds() + 1_000_000_000)
        let fp = try r.cacheableFingerprint().get()
        XCTAssertEqual(fp.entries.map(\.path), r.watchPaths + [tmp.file("venv.generations/.check-invalidated")])
        XCTAssertTrue(fp.entries.last!.status.isAbsent, "no marker yet: recorded absent")
        XCTAssertNotNil(Fingerprint.launcherVerdict(Array(fp.encoded().utf8), venv: fp.venv, imports: fp.imports))
    }

    /// A link in a watched directory is covered by that directory's times (replacing the link moves
    /// them); a link whose directory is not watched, or is watched as a link, stays on the list.
    func testALinkIsLeftToItsWatchedDirectory() throws {
        var r = try report(started: Clock.wallNanoseconds() + 1_000_000_000)
        try tmp.write("venv/bin/python3.11", "")
        try tmp.write("real/python", "")
        try makeSymbolicLink(tmp.file("venv/bin/python"), pointingTo: "python3.11")
        try makeSymbolicLink(tmp.file("venv/lib64"), pointingTo: "lib")
        try makeSymbolicLink(tmp.file("aliased"), pointingTo: "real")
        try makeSymbolicLink(tmp.file("real/link"), pointingTo: "python")
        try makeSymbolicLink(tmp.file("unwatched-link"), pointingTo: "real")
        r.watchPaths = [tmp.file("venv"), tmp.file("venv/bin"), tmp.file("venv/bin/python"), tmp.file("venv/bin/python3.11"),
                        tmp.file("venv/lib64"), tmp.file("aliased"), tmp.file("aliased/link"), tmp.file("unwatched-link")]
        r.startedWallNs = Clock.wallNanoseconds() + 1_000_000_000
        let fp = try r.cacheableFingerprint().get()
        XCTAssertEqual(fp.entries.map(\.path), [
            tmp.file("venv"), tmp.file("venv/bin"), tmp.file("venv/bin/python3.11"),
            tmp.file("aliased"), tmp.file("aliased/link"), tmp.file("unwatched-link"),
            tmp.file("venv.generations/.check-invalidated"),
        ])
    }

    /// FAT stamps in 2-s steps from the coarse clock, which lags the clock the check's start was
    /// read from by up to a tick: a change just after the start can carry a stamp 2 s and a few
    /// milliseconds before it, and must still count as a change.
    func testAWholeSecondStampATickMoreThanTwoSecondsBeforeTheStartIsNotTrusted() {
        let stamp: Int64 = 1_700_000_000_000_000_000
        let st = FileStatus(device: 1, inode: 2, mode: 0o100644, linkCount: 1, uid: 0, gid: 0, size: 1,
                            mtimeNs: stamp, ctimeNs: stamp)
        let start = stamp + 2_005_000_000
        XCTAssertNotNil(CheckReport.changeTime(st, since: start, now: start + 1_000_000,
                                               margin: CheckReport.timestampGranularity(st)))
    }

    func testAMtimeSetIntoTheFutureByHandDoesNotBlockCaching() throws {
        var r = try report(started: 0)
        var times = [timespec(tv_sec: 4_102_444_800, tv_nsec: 0), timespec(tv_sec: 4_102_444_800, tv_nsec: 0)] // 2100
        XCTAssertEqual(utimensat(AT_FDCWD, tmp.file("venv/pyvenv.cfg"), &times, 0), 0)
        r.startedWallNs = Clock.wallNanoseconds() + 1_000_000_000
        XCTAssertNoThrow(try r.cacheableFingerprint().get())
    }

    func testAnEntryChangedSinceTheBaselineIsNotCached() throws {
        var r = try report(started: 0)
        r.baseline = [WatchEntry(path: tmp.file("venv/pyvenv.cfg"), status: try fileStatus(tmp.file("venv/pyvenv.cfg")))]
        r.startedWallNs = Clock.wallNanoseconds() + 1_000_000_000
        XCTAssertNoThrow(try r.cacheableFingerprint().get())
        try writeFileAtomically(tmp.file("venv/pyvenv.cfg"), "home = /elsewhere\n", mode: 0o644)
        guard case .failure(.changed(let path, _)) = r.cacheableFingerprint() else { return XCTFail("cached a changed entry") }
        XCTAssertEqual(path, tmp.file("venv/pyvenv.cfg"))
        // A marker that appeared since the baseline recorded it absent: changed too.
        var m = try report(started: 0)
        m.startedWallNs = Clock.wallNanoseconds() + 1_000_000_000
        m.baseline = [WatchEntry(path: tmp.file("venv.generations/.check-invalidated"), status: .absent)]
        try tmp.write("venv.generations/.check-invalidated", "x")
        guard case .failure(.changed) = m.cacheableFingerprint() else { return XCTFail("cached across an invalidation") }
    }

    func testAVanishedEntryAndABrokenReportAreNotCached() throws {
        var r = try report(started: Clock.wallNanoseconds() + 1_000_000_000)
        r.watchPaths.append(tmp.file("gone"))
        XCTAssertEqual(r.cacheableFingerprint().failure, .vanished(tmp.file("gone")))
        var broken = try report(started: Clock.wallNanoseconds() + 1_000_000_000)
        broken.checks.append(CheckResult(name: "x", ok: false, reason: "x-broken"))
        XCTAssertEqual(broken.cacheableFingerprint().failure, .notPassing)
    }

    /// An absent entry matches while lstat says ENOENT, on the String path and the byte-level fast
    /// path alike; present, or unreachable (ENOTDIR), is a miss.
    func testAbsentEntryOnBothPaths() throws {
        try tmp.write("f", "x")
        let marker = tmp.file("beside/.check-invalidated")
        let fp = Fingerprint(venv: "/v", imports: [], status: "healthy", checkedAt: "t",
                             reasons: [], entries: [WatchEntry(path: tmp.file("f"), status: try fileStatus(tmp.file("f"))),
                                                    WatchEntry(path: marker, status: .absent)])
        XCTAssertTrue(fp.encoded().contains("\nwatch 0 0 0 0 0 0 \(marker)\n"))
        func fastPathMatches() -> Bool {
            var bytes = Array(fp.encoded().utf8)
            let list = BytesList(capacity: 1)
            defer { list.free() }
            var parsed = FastPath.Parsed()
            defer { parsed.reasons.free() }
            let v = Array("/v".utf8)
            return bytes.withUnsafeMutableBufferPointer { b in
                v.withUnsafeBufferPointer { FastPath.parseAndVerify(b.baseAddress!, b.count, venv: Bytes($0.baseAddress!, 2), imports: list, into: &parsed) }
            }
        }
        XCTAssertTrue(fastPathMatches())
        try tmp.write("beside/.check-invalidated", "")
        XCTAssertFalse(fastPathMatches())
        try removeTree(tmp.file("beside"))
        try tmp.write("beside", "a file where the directory was")
        XCTAssertFalse(fastPathMatches(), "ENOTDIR is not absent")
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { return f }; return nil }
}
