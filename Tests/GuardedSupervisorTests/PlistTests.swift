import Foundation
import GuardedSupervisor
import TestSupport
import XCTest

final class PlistTests: XCTestCase {
    var temp: TemporaryDirectory!
    override func setUpWithError() throws { temp = try TemporaryDirectory("plist") }
    override func tearDown() { temp.remove() }

    func testReadsEveryValueType() throws {
        let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.mail.plist"))))
        let root = doc.root
        XCTAssertEqual(root["Label"], .string("com.example.mail"))
        XCTAssertEqual(root["ProgramArguments"]?.strings?[3], "--subject=R&D <weekly> \"digest\" 'v2' \u{e9}t\u{e9}")
        XCTAssertEqual(root["ProgramArguments"]?.strings?[4], "")
        XCTAssertEqual(root["ProgramArguments"]?.strings?[5], "  spaced  ")
        XCTAssertEqual(root["Cookie"], .data([0, 1, 2, 3, 4] + Array("mail".utf8)))
        XCTAssertEqual(root["Installed"], .date("2024-03-01T08:30:00Z"))
        XCTAssertEqual(root["Weight"], .real("1.50"))
        XCTAssertEqual(root["KeepAlive"], .boolean(true))
        XCTAssertEqual(root["Script"], .string("if [ \"$x\" < 3 ]; then echo & fi"))
        XCTAssertEqual(root.entries?.map(\.key).prefix(3), ["Label", "ProgramArguments", "EnvironmentVariables"])
    }

    func testCompactFileWithCRLFAndEmptyForms() throws {
        let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.compact.plist"))))
        XCTAssertEqual(doc.root["Empty"], .string(""))
        XCTAssertEqual(doc.root["EmptyDict"], .dictionary([]))
        XCTAssertEqual(doc.root["EmptyArray"], .array([]))
        XCTAssertEqual(doc.root["Neg"], .integer("-7"))
        XCTAssertEqual(doc.root["ProgramArguments"]?.strings, ["/usr/bin/python3", "-c", "print(A)"])
    }

    func testBinaryPlistMatchesPlistlib() throws {
        let path = Fixtures.launchd + "/com.example.binary.plist"
        let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(doc.format, .binary)
        XCTAssertEqual(doc.root["Big"], .integer("9223372036854775813"))
        XCTAssertEqual(doc.root["Small"], .integer("-3"))
        XCTAssertEqual(doc.root["Installed"], .date("2023-05-06T07:08:09Z"))
        XCTAssertEqual(doc.root["ProgramArguments"]?.strings?.last, "ünïcode ✓")
        // Written as XML, plistlib reads the same keys and values as from the binary original.
        try temp.write("as-xml.plist", PlistWriter.document(doc.root))
        XCTAssertEqual(plistlibJSON(temp.file("as-xml.plist")), plistlibJSON(path))
    }

    func testWriterOutputReadsBackInPlistlib() throws {
        let root = PlistValue.dictionary([
            PlistEntry("Label", .string("a&b<c>")), PlistEntry("Z", .integer("1")), PlistEntry("A", .real("2.5")),
            PlistEntry("D", .data(Array(0...255))), PlistEntry("T", .date("2020-02-29T23:59:59Z")),
            PlistEntry("L", .array([.boolean(true), .boolean(false), .array([]), .dictionary([])])),
            PlistEntry("CR", .string("a\rb\nc")),
        ])
        try temp.write("w.plist", PlistWriter.document(root))
        XCTAssertEqual(try XMLPlist(Array(PlistWriter.document(root).utf8)).root, root)
        let json = plistlibJSON(temp.file("w.plist"))
        XCTAssertTrue(json.contains("\"a&b<c>\""), json)
        XCTAssertTrue(json.contains("\"a\\rb\\nc\""), json)
        XCTAssertTrue(json.hasPrefix("{\"dict\": [[\"Label\""), "key order kept: \(json)")
    }

    func testDamagedInputIsAnErrorNotACrash() {
        var generator = SystemRandomNumberGenerator()
        let seeds: [[UInt8]] = [Array("bplist00".utf8) + [UInt8](repeating: 0xff, count: 40),
                                Array("<plist><dict><key>a</key>".utf8), Array("<plist><dict><key>a</key><string>&bogus;</string></dict></plist>".utf8),
                                Array("<plist><array><integer>x</integer></array></plist>".utf8)]
        for seed in seeds { XCTAssertThrowsError(try PlistDocument(seed)) }
        let binary = (try? Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.binary.plist"))).map(Array.init) ?? []
        XCTAssertFalse(binary.isEmpty)
        for _ in 0..<2000 {
            var mutated = binary
            for _ in 0..<3 { mutated[Int.random(in: 8..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? PlistDocument(mutated)
        }
    }
}
