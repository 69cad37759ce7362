import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

final class FingerprintTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("fp") }
    override func tearDown() { tmp.remove() }

    /// FNV-1a 64 the same whether the bytes are a String's, an array's or a sequence that is not
    /// contiguous; the values from an independent Python implementation.
    func testFNV1a64OnEveryKindOfSequence() {
        for (text, expected) in [("", 0xcbf29ce484222325 as UInt64), ("guarded-run", 0x03a979e50d07331f), ("é/ü", 0x9eb8410d30b64cd5)] {
            XCTAssertEqual(fnv1a64(text.utf8), expected, text)
            XCTAssertEqual(fnv1a64(Array(text.utf8)), expected, text)
            XCTAssertEqual(fnv1a64(text.utf8.lazy.map { $0 }), expected, text)
            XCTAssertEqual(fnv1a64(Substring(text).utf8), expected, text)
        }
        XCTAssertEqual(fnv1a64Hex("guarded-run"), "03a979e50d07331f")
    }

    func sample() throws -> Fingerprint {
        try tmp.write("a.txt", "hello")
        try removeFile(tmp.file("link"))
        try makeSymbolicLink(tmp.file("link"), pointingTo: "a.txt")
        let paths = [tmp.file("a.txt"), tmp.file("link"), tmp.path]
        return Fingerprint(venv: tmp.path + "/odd name\twith\\escapes", imports: ["b", "a.mod"], status: "degraded",
                           checkedAt: "2026-01-02T03:04:05.000006Z", reasons: ["install-leftovers: ~x", "two\nlines"],
                           entries: try paths.map { WatchEntry(path: $0, status: try fileStatus($0)) })
    }

    /// What `encoded()` writes, the launcher's reader (`FastPath.parseAndVerify`) reads back: the
    /// escaped venv and reasons, the imports in any order, the status.
    func verdict(_ fp: Fingerprint, _ bytes: [UInt8]? = nil) -> CachedVerdict? {
        Fingerprint.launcherVerdict(bytes ?? Array(fp.encoded().utf8), venv: fp.venv, imports: fp.imports)
    }

    func testRoundTrip() throws {
        let fp = try sample()
        XCTAssertEqual(verdict(fp), CachedVerdict(status: "degraded", reasons: fp.reasons))
        XCTAssertEqual(Fingerprint.launcherVerdict(Array(fp.encoded().utf8), venv: fp.venv, imports: ["a.mod", "b", "a.mod"])?.status, "degraded")
        XCTAssertNil(Fingerprint.launcherVerdict(Array(fp.encoded().utf8), venv: fp.venv, imports: ["b"]), "another import set")
        XCTAssertNil(Fingerprint.launcherVerdict(Array(fp.encoded().utf8), venv: fp.venv + "x", imports: fp.imports), "another venv")
    }

    func testEveryTruncationAndEveryFlippedByteIsAMiss() throws {
        let fp = try sample()
        let bytes = Array(fp.encoded().utf8)
        XCTAssertNotNil(verdict(fp, bytes))
        for cut in 0..<bytes.count {
            XCTAssertNil(verdict(fp, Array(bytes[0..<cut])), "truncated at \(cut)")
        }
        for i in 0..<bytes.count {
            var damaged = bytes
            damaged[i] ^= 0x20
            XCTAssertNil(verdict(fp, damaged), "flipped byte \(i)")
        }
    }

    func testRandomGarbageNeverDecodes() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 25, 100, 4096] {
            for _ in 0..<50 {
                let junk = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                XCTAssertNil(Fingerprint.launcherVerdict(junk, venv: "/v", imports: []))
            }
        }
    }

    func testOtherFormatVersionIsAMiss() throws {
        let text = try sample().encoded().replacingOccurrences(of: "guarded-run fingerprint \(Fingerprint.formatVersion)", with: "guarded-run fingerprint 1")
        // Re-sign it so only the version differs.
        let body = String(text[..<text.range(of: "end ")!.lowerBound])
        let sum = String(fnv1a64(body.utf8), radix: 16)
        let resigned = body + "end " + String(repeating: "0", count: 16 - sum.count) + sum + "\n"
        XCTAssertNotNil(verdict(try sample()), "the original is a hit")
        XCTAssertNil(verdict(try sample(), Array(resigned.utf8)))
    }

    func testAnyChangeToAWatchedPathIsAMiss() throws {
        let fp = try sample()
        XCTAssertNotNil(verdict(fp))
        try tmp.write("a.txt", "hellO") // same size, new mtime/ctime
        XCTAssertNil(verdict(fp))
        let again = try sample()
        XCTAssertNotNil(verdict(again))
        chmod(tmp.file("a.txt"), 0o600) // ctime only
        XCTAssertNil(verdict(again))
        let third = try sample()
        try removeFile(tmp.file("a.txt"))
        XCTAssertNil(verdict(third))
    }

    func testSymlinkWhereAFileWasIsAMiss() throws {
        let fp = try sample()
        try removeFile(tmp.file("a.txt"))
        try makeSymbolicLink(tmp.file("a.txt"), pointingTo: "/etc/passwd")
        XCTAssertNil(verdict(fp))
    }

    func testTheLauncherRefusesASymlinkedCacheFile() throws {
        let state = StateDirectory(path: tmp.file("state"))
        try makeDirectories(state.path, mode: 0o700) // before the sample watches the directory holding it
        let fp = try sample()
        try fp.save(state: state)
        XCTAssertNotNil(Fingerprint.launcherVerdict(state: state, venv: fp.venv, imports: fp.imports))
        let path = Fingerprint.cachePath(state: state, venv: fp.venv, imports: fp.imports)
        try writeFileAtomically(tmp.file("real"), fp.encoded(), mode: 0o600)
        try removeFile(path)
        try makeSymbolicLink(path, pointingTo: tmp.file("real"))
        XCTAssertNil(Fingerprint.launcherVerdict(state: state, venv: fp.venv, imports: fp.imports))
    }

    func testSaveWritesPrivateFilesAtomically() throws {
        let state = StateDirectory(path: tmp.file("state"))
        try makeDirectories(state.path, mode: 0o700) // before the sample watches the directory holding it
        let fp = try sample()
        try fp.save(state: state)
        let path = Fingerprint.cachePath(state: state, venv: fp.venv, imports: fp.imports)
        XCTAssertEqual(try fileStatus(path).permissions, 0o600)
        XCTAssertEqual(try fileStatus(tmp.file("state")).permissions, 0o700)
        XCTAssertEqual(try fileStatus(parentDirectory(of: path)).permissions, 0o700)
        XCTAssertNotNil(Fingerprint.launcherVerdict(state: state, venv: fp.venv, imports: fp.imports))
        // No temp files left behind.
        XCTAssertEqual(try directoryEntries(parentDirectory(of: path)).filter { $0.hasPrefix(".") }, [])
    }

    func testImportsKeyIgnoresOrderAndDuplicates() {
        XCTAssertEqual(Fingerprint.importsKey([]), "none")
        XCTAssertEqual(Fingerprint.importsKey(["a", "b"]), Fingerprint.importsKey(["b", "a", "a"]))
        XCTAssertNotEqual(Fingerprint.importsKey(["a"]), Fingerprint.importsKey(["a", "b"]))
    }
}
