import Foundation
import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// Golden files for wrap, unwrap and convert over the corpus in Fixtures/ (UPDATE_GOLDENS=1
/// rewrites them; review the diff).
final class GoldenTests: XCTestCase {
    var temp: TemporaryDirectory!
    override func setUpWithError() throws { temp = try TemporaryDirectory("golden") }
    override func tearDown() { temp.remove() }

    func testSystemdWrapGoldens() throws {
        let units = Fixtures.files(Fixtures.systemd, suffix: "")
        XCTAssertGreaterThanOrEqual(units.count, 12)
        for name in units {
            // A private copy, so no drop-in beside the corpus is ever read.
            let path = temp.file(name)
            try temp.write(name, String(contentsOfFile: Fixtures.systemd + "/" + name, encoding: .utf8))
            let plan = try SystemdWrap.plan(unitPath: path, options: .init(autoRepair: name == "simple.service", guardedRun: Fixtures.guardedRun))
            let text: String
            switch plan {
            case .write(_, let content, _): text = content
            case .refused(let reason): text = "refused: " + reason.replacingOccurrences(of: temp.path + "/", with: "") + "\n"
            case .alreadyGuarded: text = "unchanged: the unit already starts guarded-run\n"
            case .unchanged: text = "unchanged\n"
            }
            Fixtures.assertGolden(text, "systemd-wrap/\(name).conf")
        }
    }

    func testLaunchdWrapGoldensAndExactUnwrap() throws {
        for name in Fixtures.files(Fixtures.launchd, suffix: ".plist") {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + name)))
            var doc = try PlistDocument(bytes)
            let options = LaunchdWrap.Options(giveUpAfter: name.contains("mail") ? 5 : nil, guardedRun: Fixtures.guardedRun)
            let outcome = LaunchdWrap.wrap(&doc, options: options)
            let text: String
            switch outcome {
            case .refused(let reason): text = "refused: \(reason)\n"
            case .unchanged: text = "unchanged\n"
            case .changed: text = String(decoding: doc.serialized(), as: UTF8.self)
            }
            Fixtures.assertGolden(text, "launchd-wrap/\(name)")
            guard outcome == .changed else { continue }

            // Wrapping twice changes nothing.
            var again = try PlistDocument(doc.serialized())
            XCTAssertEqual(LaunchdWrap.wrap(&again, options: options), .unchanged, name)

            // Unwrap restores the original tree; for XML written the way Apple's tools write it, the
            // original bytes too (the restored arguments are written in that canonical spelling).
            var back = try PlistDocument(doc.serialized())
            XCTAssertEqual(LaunchdWrap.unwrap(&back), .changed, name)
            XCTAssertEqual(back.root, try PlistDocument(bytes).root, name)
            if ["com.example.program-only.plist", "com.example.argv0.plist", "com.example.calendar.plist"].contains(name) {
                XCTAssertEqual(String(decoding: back.serialized(), as: UTF8.self), String(decoding: bytes, as: UTF8.self), name)
            }
        }
    }

    func testKeepAliveOption() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.program-only.plist")))
        var doc = try PlistDocument(bytes)
        XCTAssertEqual(LaunchdWrap.wrap(&doc, options: .init(giveUpAfter: 3, keepAlive: true, throttleInterval: 60, guardedRun: Fixtures.guardedRun)), .changed)
        Fixtures.assertGolden(String(decoding: doc.serialized(), as: UTF8.self), "launchd-wrap/keepalive-program-only.plist")
        XCTAssertEqual(doc.root["KeepAlive"], .dictionary([PlistEntry("SuccessfulExit", .boolean(false))]))
        XCTAssertEqual(doc.root["ThrottleInterval"], .integer("60"))
    }

    func testConvertGoldens() throws {
        for name in Fixtures.files(Fixtures.launchd, suffix: ".plist") {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + name)))
            let doc = try PlistDocument(bytes)
            let base = String(name.dropLast(".plist".count))
            switch LaunchdConverter.convert(doc.root, options: .init(guardedRun: Fixtures.guardedRun)) {
            case .failure(let error):
                Fixtures.assertGolden("refused: \(error.message)\n", "convert/\(base).refused")
            case .success(let c):
                Fixtures.assertGolden(c.service, "convert/\(c.name).service")
                if let timer = c.timer { Fixtures.assertGolden(timer, "convert/\(c.name).timer") }
                // Nothing silently dropped: every key is converted or listed.
                let listed = Set(c.unmapped.map { String($0.split(separator: ".")[0]) })
                for e in doc.root.entries! where !listed.contains(e.key) {
                    XCTAssertTrue(["Label", "Program", "ProgramArguments", "EnvironmentVariables", "WorkingDirectory", "StandardOutPath",
                                   "StandardErrorPath", "StandardInPath", "KeepAlive", "RunAtLoad", "StartInterval", "StartCalendarInterval",
                                   "UserName", "GroupName", "Nice", "ThrottleInterval", "Umask", "ExitTimeOut"].contains(e.key), "\(name): \(e.key)")
                }
            }
        }
    }

    /// The converted ExecStart= runs the plist's argv exactly after guarded-run's `--`.
    func testConvertedExecStartKeepsArgv() throws {
        for name in ["com.example.mail.plist", "com.example.calendar.plist", "com.example.binary.plist"] {
            let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + name))))
            let c = try LaunchdConverter.convert(doc.root, options: .init(guardedRun: Fixtures.guardedRun)).get()
            let unit = try UnitFile(path: "x.service", text: c.service)
            let exec = try XCTUnwrap(unit.values("Service", "ExecStart").first?.value)
            // Resolve what systemd resolves later: %% to %, $$ to $.
            let argv = try SystemdSyntax.words(exec).map { $0.replacingOccurrences(of: "%%", with: "%").replacingOccurrences(of: "$$", with: "$") }
            let dash = try XCTUnwrap(argv.firstIndex(of: "--"))
            XCTAssertEqual(Array(argv[(dash + 1)...]), doc.root["ProgramArguments"]?.strings, name)
        }
    }
}
