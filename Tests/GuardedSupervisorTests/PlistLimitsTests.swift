import GuardedSupervisor
import XCTest

/// Hostile plists are refused with one clear error, never a trap, a hang or a runaway allocation.
final class PlistLimitsTests: XCTestCase {
    static func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }

    /// A bplist with `objects` (each a marker and refs, one byte per offset and ref).
    static func bplist(_ objects: [[UInt8]], top: UInt64 = 0) -> [UInt8] {
        var body: [UInt8] = [], offsets: [UInt8] = []
        for o in objects { offsets.append(UInt8(8 + body.count)); body += o }
        return Array("bplist00".utf8) + body + offsets + [0, 0, 0, 0, 0, 0, 1, 1]
            + bigEndian(UInt64(objects.count)) + bigEndian(top) + bigEndian(UInt64(8 + body.count))
    }

    func error(_ bytes: [UInt8]) -> String? {
        do { _ = try BinaryPlist.read(bytes); return nil } catch { return error.message }
    }

    func testTrailerOffsetsThatOverflow() {
        let one: [UInt8] = Array("bplist00".utf8) + [0x08] + [0, 0, 0, 0, 0, 0, 1, 1]
        for table in [UInt64.max, UInt64.max - 7, 1 << 63] {
            XCTAssertEqual(error(one + Self.bigEndian(1) + Self.bigEndian(0) + Self.bigEndian(table)), "damaged bplist trailer")
        }
        // An 8-byte offset entry pointing past Int.max.
        var wide = Array("bplist00".utf8) + [0x08] + Self.bigEndian(UInt64.max)
        wide += [0, 0, 0, 0, 0, 0, 8, 1] + Self.bigEndian(1) + Self.bigEndian(0) + Self.bigEndian(9)
        XCTAssertEqual(error(wide), "damaged bplist offset")
    }

    func testSharedSubObjectsAreCapped() {
        var objects: [[UInt8]] = (0..<60).map { [0xA2, UInt8($0 + 1), UInt8($0 + 1)] }
        objects.append([0x09])
        let e = error(Self.bplist(objects))
        XCTAssertEqual(e, "bplist expands to more than \(BinaryPlist.maxObjects) values (shared sub-objects)")
        // Sharing within the cap still reads: 10 levels, 2^10 leaves.
        var small: [[UInt8]] = (0..<10).map { [0xA2, UInt8($0 + 1), UInt8($0 + 1)] }
        small.append([0x09])
        XCTAssertNoThrow(try BinaryPlist.read(Self.bplist(small)))
    }

    /// A shared object first met shallow, then again deep: its height still counts the second time.
    func testDepthOfASharedObjectCountsAtEachUse() {
        // 0: [1, 40]; 1..39: a chain down to 40; 40..69: a chain of 30 down to a leaf.
        var objects: [[UInt8]] = [[0xA2, 40, 1]]
        for i in 1..<40 { objects.append([0xA1, UInt8(i + 1)]) }
        for i in 40..<70 { objects.append([0xA1, UInt8(i + 1)]) }
        objects.append([0x09])
        XCTAssertEqual(error(Self.bplist(objects)), "bplist nested more than \(BinaryPlist.maxDepth) levels deep")
    }

    func testDepthIsCapped() {
        var objects: [[UInt8]] = (0..<70).map { [0xA1, UInt8($0 + 1)] }
        objects.append([0x09])
        XCTAssertEqual(error(Self.bplist(objects)), "bplist nested more than \(BinaryPlist.maxDepth) levels deep")
        let xml = String(repeating: "<array>", count: 70) + String(repeating: "</array>", count: 70)
        XCTAssertThrowsError(try XMLPlist(Array(xml.utf8)))
    }
}
