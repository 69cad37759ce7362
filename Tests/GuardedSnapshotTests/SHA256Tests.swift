import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        // FIPS 180-4 / NIST examples.
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length around the block and padding boundaries, fed whole and in random pieces.
    func testIncrementalMatchesOneShot() {
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4097] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var h = SHA256()
            var i = 0
            while i < length {
                let n = min(length - i, Int.random(in: 1...70, using: &rng))
                h.update(Array(bytes[i..<(i + n)]))
                i += n
            }
            XCTAssertEqual(hexString(h.finish()), SHA256.hex(bytes), "length \(length)")
        }
    }

    func testAgreesWithSha256sumOnRandomFiles() throws {
        guard let sha256sum = Subprocess.findExecutable("sha256sum") else { throw XCTSkip("no sha256sum") }
        let dir = try TemporaryDirectory("sha")
        defer { dir.remove() }
        var rng = SystemRandomNumberGenerator()
        var paths: [String] = [], expected: [String: String] = [:]
        for i in 0..<24 {
            let length = i < 4 ? [0, 63, 64, 65][i] : Int.random(in: 0...300_000, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let path = dir.file("f\(i)")
            try writeFileAtomically(path, bytes)
            paths.append(path)
            expected[path] = SHA256.hex(bytes)
        }
        let result = TestSupport.run(sha256sum, paths)
        XCTAssertTrue(result.succeeded)
        let lines = result.outputText.split(separator: "\n")
        XCTAssertEqual(lines.count, paths.count)
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            let path = String(parts[1].drop(while: { $0 == " " || $0 == "*" }))
            XCTAssertEqual(String(parts[0]), expected[path], path)
        }
    }
}
