import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

final class FingerprintTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("fp") }
    override func tearDown() { tmp.remove() }

    func sample() throws -> Fingerprint {
        try tmp.write("a.txt", "hello")
        try removeFile(tmp.file("link"))
        try makeSymbolicLink(tmp.file("link"), pointingTo: "a.txt")
        let paths = [tmp.file("a.txt"), tmp.file("link"), tmp.path]
        return Fingerprint(venv: tmp.path + "/odd name\twith\\escapes", imports: ["b", "a.mod"], status: "degraded",
                           checkedAt: "2026-01-02T03:04:05.000006Z", reasons: ["install-leftovers: ~x", "two\nlines"],
                           entries: try paths.map { WatchEntry(path: $0, status: try fileStatus($0)) })
    }

    func testRoundTrip() throws {
        let fp = try sample()
        let decoded = try XCTUnwrap(Fingerprint.decode(Array(fp.encoded().utf8)))
        XCTAssertEqual(decoded.venv, fp.venv)
        XCTAssertEqual(decoded.imports, ["a.mod", "b"])
        XCTAssertEqual(decoded.status, "degraded")
        XCTAssertEqual(decoded.reasons, fp.reasons)
        XCTAssertEqual(decoded.entries.map(\.path), fp.entries.map(\.path))
        XCTAssertTrue(decoded.stillMatches())
    }

    func testEveryTruncationAndEveryFlippedByteIsAMiss() throws {
        let bytes = Array(try sample().encoded().utf8)
        for cut in 0..<bytes.count {
            XCTAssertNil(Fingerprint.decode(Array(bytes[0..<cut])), "truncated at \(cut)")
        }
        for i in stride(from: 0, to: bytes.count, by: 3) {
            var damaged = bytes
            damaged[i] ^= 0x20
            XCTAssertNil(Fingerprint.decode(damaged), "flipped byte \(i)")
        }
    }

    func testRandomGarbageNeverDecodes() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 25, 100, 4096] {
            for _ in 0..<50 {
                let junk = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                XCTAssertNil(Fingerprint.decode(junk))
            }
        }
    }

    func testOtherFormatVersionIsAMiss() throws {
        let text = try sample().encoded().replacingOccurrences(of: "guarded-run fingerprint \(Fingerprint.formatVersion)", with: "guarded-run fingerprint 1")
        // Re-sign it so only the version differs.
        let body = String(text[..<text.range(of: "end ")!.lowerBound])
        let sum = String(fnv1a64(body.utf8), radix: 16)
        let resigned = body + "end " + String(repeating: "0", count: 16 - sum.count) + sum + "\n"
        XCTAssertNil(Fingerprint.decode(Array(resigned.utf8)))
    }

    func testAnyChangeToAWatchedPathIsAMiss() throws {
        let fp = try sample()
        XCTAssertTrue(fp.stillMatches())
        try tmp.write("a.txt", "hellO") // same size, new mtime/ctime
        XCTAssertFalse(fp.stillMatches())
        let again = try sample()
        XCTAssertTrue(again.stillMatches())
        chmod(tmp.file("a.txt"), 0o600) // ctime only
        XCTAssertFalse(again.stillMatches())
        let third = try sample()
        try removeFile(tmp.file("a.txt"))
        XCTAssertFalse(third.stillMatches())
    }

    func testSymlinkWhereAFileWasIsAMiss() throws {
        let fp = try sample()
        try removeFile(tmp.file("a.txt"))
        try makeSymbolicLink(tmp.file("a.txt"), pointingTo: "/etc/passwd")
        XCTAssertFalse(fp.stillMatches())
    }

    func testLoadRefusesASymlinkedCacheFile() throws {
        let fp = try sample()
        try writeFileAtomically(tmp.file("real"), fp.encoded())
        XCTAssertNotNil(Fingerprint.load(from: tmp.file("real")))
        try makeSymbolicLink(tmp.file("cache"), pointingTo: tmp.file("real"))
        XCTAssertNil(Fingerprint.load(from: tmp.file("cache")))
    }

    func testSaveWritesPrivateFilesAtomically() throws {
        let state = StateDirectory(path: tmp.file("state"))
        let fp = try sample()
        try fp.save(state: state)
        let path = Fingerprint.cachePath(state: state, venv: fp.venv, imports: fp.imports)
        XCTAssertEqual(try fileStatus(path).permissions, 0o600)
        XCTAssertEqual(try fileStatus(tmp.file("state")).permissions, 0o700)
        XCTAssertEqual(try fileStatus(parentDirectory(of: path)).permissions, 0o700)
        XCTAssertEqual(Fingerprint.load(from: path)?.venv, fp.venv)
        // No temp files left behind.
        XCTAssertEqual(try directoryEntries(parentDirectory(of: path)).filter { $0.hasPrefix(".") }, [])
    }

    func testImportsKeyIgnoresOrderAndDuplicates() {
        XCTAssertEqual(Fingerprint.importsKey([]), "none")
        XCTAssertEqual(Fingerprint.importsKey(["a", "b"]), Fingerprint.importsKey(["b", "a", "a"]))
        XCTAssertNotEqual(Fingerprint.importsKey(["a"]), Fingerprint.importsKey(["a", "b"]))
    }
}
