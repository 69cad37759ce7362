import Foundation
import GuardedCore
@testable import GuardedSupervisor
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
            case .write(let dropIn): text = dropIn.content
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
            let options = LaunchdWrap.Options(giveUpAfter: name.contains("mail") ? 5 : nil, guardedRun: Fixtures.guardedRun)
            let edit = try LaunchdWrap.wrap(bytes, options: options)
            let text: String
            switch edit.outcome {
            case .refused(let reason): text = "refused: \(reason)\n"
            case .unchanged: text = "unchanged\n"
            case .changed: text = String(decoding: edit.bytes, as: UTF8.self)
            }
            Fixtures.assertGolden(text, "launchd-wrap/\(name)")
            guard edit.outcome == .changed else { continue }

            // Wrapping twice changes nothing.
            XCTAssertEqual(try LaunchdWrap.wrap(edit.bytes, options: options).outcome, .unchanged, name)

            // Unwrap restores the original bytes (a binary plist comes back binary).
            let back = try LaunchdWrap.unwrap(edit.bytes)
            XCTAssertEqual(back.outcome, .changed, name)
            XCTAssertTrue(back.bytes == bytes, "\(name): unwrap gave\n\(String(decoding: back.bytes, as: UTF8.self))")
        }
    }

    /// Wrap then unwrap is the identity, byte for byte, over the whole corpus with every option
    /// and every combination that changes what wrap writes.
    func testWrapThenUnwrapIsTheIdentityForEveryOption() throws {
        let launcher = LauncherOptions(venv: "/opt/venvs/a b", imports: ["mail_agent", "pkg.sub"], requirements: "/srv/req.txt",
                                       python: "/usr/bin/python3.11", findLinks: ["/srv/wheels", "https://example.org/w"],
                                       observe: true, stateDir: "/var/lib/guarded-run/mail")
        let variants: [LaunchdWrap.Options] = [
            .init(guardedRun: Fixtures.guardedRun),
            .init(autoRepair: true, guardedRun: Fixtures.guardedRun),
            .init(giveUpAfter: 5, guardedRun: Fixtures.guardedRun),
            .init(keepAlive: true, guardedRun: Fixtures.guardedRun),
            .init(keepAlive: true, throttleInterval: 120, guardedRun: Fixtures.guardedRun),
            .init(agent: "other", guardedRun: Fixtures.guardedRun, launcher: launcher),
            .init(autoRepair: true, giveUpAfter: 3, keepAlive: true, throttleInterval: 600, guardedRun: "/opt/g r/guarded-run", launcher: launcher),
        ]
        var wrapped = 0
        for name in Fixtures.files(Fixtures.launchd, suffix: ".plist") {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + name)))
            for (k, options) in variants.enumerated() {
                let edit = try LaunchdWrap.wrap(bytes, options: options)
                guard edit.outcome == .changed else { continue }
                wrapped += 1
                let back = try LaunchdWrap.unwrap(edit.bytes)
                XCTAssertTrue(back.bytes == bytes, "\(name), variant \(k): unwrap gave\n\(String(decoding: back.bytes, as: UTF8.self))")
                XCTAssertEqual(back.notes, [], "\(name), variant \(k)")
            }
        }
        XCTAssertGreaterThanOrEqual(wrapped, 6 * variants.count)

        let systemdVariants: [SystemdWrap.Options] = [
            .init(guardedRun: Fixtures.guardedRun),
            .init(autoRepair: true, guardedRun: Fixtures.guardedRun),
            .init(agent: "x", autoRepair: true, guardedRun: "/opt/g r/guarded-run", launcher: launcher),
        ]
        let state = try XCTUnwrap(StateDirectory.resolve(explicit: temp.file("state")))
        for (k, options) in systemdVariants.enumerated() {
            let units = temp.file("units\(k)")
            try FileManager.default.copyItem(atPath: Fixtures.systemd, toPath: units)
            // One unit with a drop-in directory of its own, which unwrap must leave.
            try temp.write("units\(k)/simple.service.d/10-env.conf", "[Service]\nEnvironment=A=1\n")
            let before = tree(units)
            for name in Fixtures.files(units, suffix: "") where !name.hasSuffix(".d") {
                var o = options
                if name != "simple.service" { o.agent = nil }
                let report = SystemdFleet.wrap([units + "/" + name], options: o, force: true, state: state)
                XCTAssertFalse(report.snapshotFailed, report.errors.joined())
            }
            XCTAssertNotEqual(tree(units), before)
            let report = SystemdFleet.unwrap(Fixtures.files(units, suffix: ".service").map { units + "/" + $0 }, force: true, state: state)
            XCTAssertEqual(report.problems, 0, report.lines.joined(separator: "\n"))
            XCTAssertEqual(tree(units), before, "variant \(k)")
        }
    }

    func tree(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        for path in FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [] {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir + "/" + path, isDirectory: &isDir)
            out[path] = isDir.boolValue ? Data("<dir>".utf8) : FileManager.default.contents(atPath: dir + "/" + path)
        }
        return out
    }

    func testKeepAliveOption() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.mail.plist")))
        let edit = try LaunchdWrap.wrap(bytes, options: .init(giveUpAfter: 3, keepAlive: true, throttleInterval: 60, guardedRun: Fixtures.guardedRun))
        XCTAssertEqual(edit.outcome, .changed)
        Fixtures.assertGolden(String(decoding: edit.bytes, as: UTF8.self), "launchd-wrap/keepalive-mail.plist")
        let root = try PlistDocument(edit.bytes).root
        XCTAssertEqual(root["KeepAlive"], .dictionary([PlistEntry("SuccessfulExit", .boolean(false))]))
        XCTAssertEqual(root["ThrottleInterval"], .integer("60"))
        XCTAssertEqual(edit.changes.map(\.key), ["ProgramArguments", "KeepAlive", "ThrottleInterval"])
        XCTAssertEqual(edit.changes.map(\.line).last, "ThrottleInterval: 30 -> 60")
    }

    /// --keepalive merges: {Crashed, NetworkState} keep their conditions, a longer ThrottleInterval
    /// stays, a shorter one is raised; periodic jobs and KeepAlive = false are left alone.
    func testKeepAliveIsConservative() throws {
        func wrap(_ name: String, throttle: Int = 30) throws -> (PlistValue, LaunchdWrap.Edit) {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + name)))
            let edit = try LaunchdWrap.wrap(bytes, options: .init(giveUpAfter: 5, keepAlive: true, throttleInterval: throttle, guardedRun: Fixtures.guardedRun))
            return (try PlistDocument(edit.bytes).root, edit)
        }
        let (crashed, edit) = try wrap("com.example.crashed.plist")
        XCTAssertEqual(crashed["KeepAlive"], .dictionary([PlistEntry("Crashed", .boolean(true)), PlistEntry("NetworkState", .boolean(true)),
                                                          PlistEntry("SuccessfulExit", .boolean(false))]))
        XCTAssertEqual(crashed["ThrottleInterval"], .integer("60"), "never lowered")
        XCTAssertEqual(edit.changes.map(\.line).last, "KeepAlive: {Crashed = true; NetworkState = true} -> {Crashed = true; NetworkState = true; SuccessfulExit = false}")
        Fixtures.assertGolden(String(decoding: edit.bytes, as: UTF8.self), "launchd-wrap/keepalive-crashed.plist")
        XCTAssertEqual(try wrap("com.example.crashed.plist", throttle: 120).0["ThrottleInterval"], .integer("120"), "raised")

        // SuccessfulExit already there (with NetworkState): nothing to merge.
        let (argv0, argv0Edit) = try wrap("com.example.argv0.plist")
        XCTAssertEqual(argv0["KeepAlive"], .dictionary([PlistEntry("SuccessfulExit", .boolean(false)), PlistEntry("NetworkState", .boolean(true))]))
        XCTAssertEqual(argv0Edit.changes.map(\.key), ["Program", "ProgramArguments", "ThrottleInterval"])

        for periodic in ["com.example.calendar.plist", "com.example.program-only.plist"] {
            let (root, edit) = try wrap(periodic)
            XCTAssertNil(root["KeepAlive"], periodic)
            XCTAssertNil(root["ThrottleInterval"], periodic)
            XCTAssertTrue(edit.notes.contains { $0.hasPrefix("a periodic job") }, "\(edit.notes)")
        }
    }

    /// A plist edited since wrap: unwrap reverses only the wrap's own changes and says which of
    /// them it left because they were changed since.
    func testUnwrapOfAnEditedPlistReversesOnlyTheWrap() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.crashed.plist")))
        let wrapped = try LaunchdWrap.wrap(bytes, options: .init(keepAlive: true, throttleInterval: 120, guardedRun: Fixtures.guardedRun)).bytes
        var doc = try PlistDocument(wrapped)
        doc.set("ThrottleInterval", .integer("90"))
        doc.set("Nice", .integer("5"))
        let edited = doc.serialized()
        XCTAssertNotNil(WrapRecord.find(in: edited)?.record, "the record survives an edit elsewhere")

        let back = try LaunchdWrap.unwrap(edited)
        XCTAssertEqual(back.outcome, .changed)
        let root = try PlistDocument(back.bytes).root
        let original = try PlistDocument(bytes).root
        XCTAssertEqual(root["ProgramArguments"], original["ProgramArguments"])
        XCTAssertEqual(root["KeepAlive"], original["KeepAlive"], "wrap's own merge reversed")
        XCTAssertEqual(root["ThrottleInterval"], .integer("90"), "changed since wrap: kept")
        XCTAssertEqual(root["Nice"], .integer("5"))
        XCTAssertTrue(back.notes.contains("ThrottleInterval was changed since wrap: left as it is"), "\(back.notes)")
        XCTAssertNil(WrapRecord.find(in: back.bytes), "the record is gone")

        // A damaged record: the wrap's changes to the program are still reversed.
        var damaged = String(decoding: wrapped, as: UTF8.self)
        damaged = damaged.replacingOccurrences(of: "sha256 ", with: "sha256 zz")
        let fromDamaged = try LaunchdWrap.unwrap(Array(damaged.utf8))
        XCTAssertEqual(try PlistDocument(fromDamaged.bytes).root["ProgramArguments"], original["ProgramArguments"])
        XCTAssertTrue(fromDamaged.notes.contains { $0.contains("damaged") }, "\(fromDamaged.notes)")
    }

    /// A record whose job no longer starts guarded-run (unwrapped by hand) is refused by wrap;
    /// unwrap then puts back the KeepAlive wrap set. Damaged records never crash unwrap.
    func testHalfUnwrappedAndDamagedRecords() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.crashed.plist")))
        let options = LaunchdWrap.Options(keepAlive: true, guardedRun: Fixtures.guardedRun)
        let wrapped = try LaunchdWrap.wrap(bytes, options: options).bytes
        var doc = try PlistDocument(wrapped)
        doc.set("ProgramArguments", try PlistDocument(bytes).root["ProgramArguments"]!)
        let byHand = doc.serialized()
        guard case .refused(let reason) = try LaunchdWrap.wrap(byHand, options: options).outcome else { return XCTFail() }
        XCTAssertTrue(reason.contains("wrap record"), reason)
        let back = try LaunchdWrap.unwrap(byHand)
        XCTAssertEqual(try PlistDocument(back.bytes).root, try PlistDocument(bytes).root)

        // Seeded mutations inside the record: a miss or a refusal, never a trap.
        let range = try XCTUnwrap(WrapRecord.find(in: wrapped)).range
        var seed: UInt64 = 0x9E3779B97F4A7C15
        func next() -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int(seed >> 33) }
        for _ in 0..<300 {
            var mutated = wrapped
            for _ in 0..<(1 + next() % 4) {
                mutated[range.lowerBound + next() % range.count] = UInt8(truncatingIfNeeded: next())
            }
            _ = try? LaunchdWrap.unwrap(mutated)
        }
    }

    /// A record planted in a wrapped plist (its hash computed over the file, as anyone who can
    /// write the file can) claiming a different original: unwrap must not write that original.
    /// Before the fix unwrap restored it byte for byte: a root daemon's plist would have been
    /// replaced by whatever the record said.
    func testAPlantedWrapRecordCannotChooseWhatUnwrapWrites() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.crashed.plist")))
        let wrapped = try LaunchdWrap.wrap(bytes, options: .init(keepAlive: true, guardedRun: Fixtures.guardedRun)).bytes
        let real = try XCTUnwrap(WrapRecord.find(in: wrapped))
        let stripped = Array(wrapped[..<real.range.lowerBound] + wrapped[real.range.upperBound...])
        var evil = try PlistDocument(bytes)
        evil.set("ProgramArguments", .array([.string("/tmp/evil"), .string("--as-root")]))
        evil.set("UserName", .string("root"))
        let forged = WrapRecord(original: evil.serialized(), wrapped: stripped, wrote: try XCTUnwrap(real.record).wrote)
        let planted = Array(wrapped[..<real.range.lowerBound]) + Array(forged.comment.utf8) + Array(wrapped[real.range.upperBound...])
        XCTAssertEqual(WrapRecord.find(in: planted)?.record, forged, "the forged record reads as a record")

        let back = try LaunchdWrap.unwrap(planted)
        XCTAssertEqual(back.outcome, .changed)
        XCTAssertFalse(back.bytes == evil.serialized(), "the planted original was written")
        let root = try PlistDocument(back.bytes).root
        XCTAssertEqual(root["ProgramArguments"], try PlistDocument(bytes).root["ProgramArguments"], "the wrap's own change is reversed")
        XCTAssertNil(root["UserName"])
        XCTAssertTrue(back.notes.contains { $0.contains("does not describe this job") }, "\(back.notes)")

        // The genuine record still restores the file byte for byte.
        XCTAssertTrue(try LaunchdWrap.unwrap(wrapped).bytes == bytes)
    }

    /// Launcher options land on the wrapped command line: as separate strings in the plist, and
    /// quoted by systemd's rules in the drop-in (systemd splits them back to the same words).
    func testLauncherOptionsOnTheWrappedCommand() throws {
        let launcher = LauncherOptions(venv: "/srv/my venv", imports: ["a.b", "c"], requirements: "/srv/req%s.txt", python: "/usr/bin/python3",
                                       findLinks: ["/srv/wheels"], observe: true, stateDir: "/var/lib/$agent")
        let expected = ["--agent", "prefixes", "--venv", "/srv/my venv", "--import", "a.b", "--import", "c", "--requirements", "/srv/req%s.txt",
                        "--python", "/usr/bin/python3", "--find-links", "/srv/wheels", "--observe", "--state-dir", "/var/lib/$agent", "--"]
        try temp.write("prefixes.service", "[Service]\nExecStart=/usr/bin/python3 -m mail_agent\n")
        guard case .write(let dropIn) = try SystemdWrap.plan(unitPath: temp.file("prefixes.service"),
                                                             options: .init(guardedRun: Fixtures.guardedRun, launcher: launcher)) else { return XCTFail() }
        Fixtures.assertGolden(dropIn.content, "systemd-wrap/launcher-options.conf")
        let exec = try XCTUnwrap(try UnitFile(path: "x", text: dropIn.content).values("Service", "ExecStart").last?.value)
        // Resolve what systemd resolves later: %% to %, $$ to $.
        let words = try SystemdSyntax.words(exec).map { $0.replacingOccurrences(of: "%%", with: "%").replacingOccurrences(of: "$$", with: "$") }
        XCTAssertEqual(Array(words[1...expected.count]), expected)

        let plist = Array(PlistWriter.document(.dictionary([PlistEntry("Label", .string("prefixes")),
                                                            PlistEntry("ProgramArguments", .array([.string("/usr/bin/python3")]))])).utf8)
        let edit = try LaunchdWrap.wrap(plist, options: .init(guardedRun: Fixtures.guardedRun, launcher: launcher))
        XCTAssertEqual(try PlistDocument(edit.bytes).root["ProgramArguments"]?.strings, [Fixtures.guardedRun] + expected + ["/usr/bin/python3"])

        XCTAssertNil(launcher.problem())
        XCTAssertEqual(LauncherOptions(imports: ["1x"]).problem(), "--import takes a dotted module name like 'pkg.mod', not '1x'")
        XCTAssertEqual(LauncherOptions(venv: "venv").problem(), "--venv takes an absolute path, not 'venv'")
        XCTAssertEqual(LauncherOptions(python: "/a\nb").problem(), "--python contains a control character (a newline, a tab...)")
        XCTAssertNotNil(LauncherOptions(findLinks: ["wheels"]).problem())
    }

    /// A key name with a newline is listed in the service's comment as one line: before the fix
    /// the rest of the name landed in the unit as directives (`ExecStartPre=/bin/evil`).
    func testAnUnmappedKeyCannotInjectDirectives() throws {
        let root = PlistValue.dictionary([
            PlistEntry("Label", .string("com.example.keys")),
            PlistEntry("ProgramArguments", .array([.string("/usr/bin/python3")])),
            PlistEntry("EnvironmentVariables", .dictionary([PlistEntry("X\n[Service]\nExecStartPre=/bin/evil", .string("1"))])),
        ])
        guard case .success(let c) = LaunchdConverter.convert(root, options: .init(guardedRun: Fixtures.guardedRun)) else { return XCTFail() }
        let unit = try UnitFile(path: "com.example.keys.service", text: c.service)
        XCTAssertEqual(unit.values("Service", "ExecStartPre").count, 0, c.service)
        XCTAssertTrue(c.service.contains("EnvironmentVariables.X\\u000a[Service]\\u000aExecStartPre=/bin/evil"), c.service)
        XCTAssertEqual(c.unmapped, ["EnvironmentVariables.X\\u000a[Service]\\u000aExecStartPre=/bin/evil"])
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
                if let path = c.path { Fixtures.assertGolden(path, "convert/\(c.name).path") }
                // Nothing silently dropped: every key is converted or listed.
                let listed = Set(c.unmapped.map { String($0.split(separator: ".")[0]) })
                for e in doc.root.entries! where !listed.contains(e.key) {
                    XCTAssertTrue(["Label", "Program", "ProgramArguments", "EnvironmentVariables", "WorkingDirectory", "StandardOutPath",
                                   "StandardErrorPath", "StandardInPath", "KeepAlive", "RunAtLoad", "StartInterval", "StartCalendarInterval",
                                   "UserName", "GroupName", "Nice", "ThrottleInterval", "Umask", "ExitTimeOut",
                                   "LowPriorityIO", "WatchPaths", "QueueDirectories"].contains(e.key), "\(name): \(e.key)")
                }
            }
        }
    }

    /// What has a systemd mapping is mapped: LowPriorityIO, WatchPaths/QueueDirectories (a .path
    /// unit), KeepAlive.NetworkState, periodic jobs as Type=oneshot, a Description that says what runs.
    func testConvertMapsWhatHasAMapping() throws {
        let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.crashed.plist"))))
        let c = try LaunchdConverter.convert(doc.root, options: .init(guardedRun: Fixtures.guardedRun)).get()
        XCTAssertEqual(c.unmapped, [])
        let service = try UnitFile(path: "x.service", text: c.service)
        XCTAssertEqual(service.values("Service", "IOSchedulingClass").map(\.value), ["idle"])
        XCTAssertEqual(service.values("Unit", "Wants").map(\.value), ["network-online.target"])
        XCTAssertEqual(service.values("Unit", "After").map(\.value), ["network-online.target"])
        XCTAssertEqual(service.values("Unit", "Description").map(\.value), ["com.example.crashed: python -m inbox_agent"])
        let path = try UnitFile(path: "x.path", text: try XCTUnwrap(c.path))
        XCTAssertEqual(path.values("Path", "PathChanged").map(\.value), ["/Users/me/inbox/new mail", "/etc/inbox.conf"])
        XCTAssertEqual(path.values("Path", "DirectoryNotEmpty").map(\.value), ["/Users/me/inbox/queue"])
        XCTAssertEqual(c.changes.first { $0.key == "LowPriorityIO" }?.after, "IOSchedulingClass=idle")

        for periodic in ["com.example.calendar.plist", "com.example.program-only.plist"] {
            let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/" + periodic))))
            let c = try LaunchdConverter.convert(doc.root, options: .init(guardedRun: Fixtures.guardedRun)).get()
            let unit = try UnitFile(path: "x.service", text: c.service)
            XCTAssertEqual(unit.values("Service", "Type").map(\.value), ["oneshot"], periodic)
            XCTAssertEqual(unit.values("Service", "RestartForceExitStatus").count, 0, periodic)
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
