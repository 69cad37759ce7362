import Foundation
@testable import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// The built binary against copies of the corpus: real drop-ins checked by the real
/// `systemd-analyze verify`, real plists checked by Python's plistlib.
final class EndToEndSupervisorTests: XCTestCase {
    var temp: TemporaryDirectory!
    /// A copy of the built guarded-run inside the temp dir: the units' ExecStart= points at it,
    /// and systemd-analyze verify insists that the executable exists.
    var binary: String!
    var state: String { temp.file("state") }

    override func setUpWithError() throws {
        temp = try TemporaryDirectory("supervisor")
        binary = temp.file("bin/guarded-run")
        try FileManager.default.createDirectory(atPath: temp.file("bin"), withIntermediateDirectories: true)
        try installGuardedRun(into: temp.file("bin"))
    }
    override func tearDown() { temp.remove() }

    func copyCorpus(_ from: String, to name: String) throws -> String {
        let dir = temp.file(name)
        try FileManager.default.copyItem(atPath: from, toPath: dir)
        return dir
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

    /// `systemd-analyze verify` passes with nothing to say. `--man=no` skips the man-page check;
    /// no `--root` is needed: the unit is given by path, its drop-in directory beside it is read.
    func assertVerifies(_ unit: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = TestSupport.run("/usr/bin/systemd-analyze", ["verify", "--man=no", unit], file: file, line: line)
        XCTAssertEqual(r.termination, .exited(0), "\(unit): \(r.errorText)", file: file, line: line)
        XCTAssertEqual(r.errorText, "", unit, file: file, line: line)
    }

    func testWrapSystemdFleetVerifiesAndUnwrapsExactly() throws {
        let units = try copyCorpus(Fixtures.systemd, to: "units")
        let before = tree(units)

        let dry = runGuarded(["wrap", "systemd", units, "--guarded-run", binary, "--state-dir", state])
        XCTAssertEqual(dry.termination, .exited(1), dry.errorText)  // the corpus has units wrap refuses
        XCTAssertEqual(tree(units), before, "a dry run writes nothing")
        XCTAssertTrue(dry.outputText.contains("\(units)/simple.service: would write \(units)/simple.service.d/guarded-run.conf:\n"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("    ExecStart=\(binary!) --agent simple --state-dir /var/lib/guarded-run-agents/simple -- /usr/bin/python3 -m mail_agent"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("\(units)/multi-simple.service: refused: 2 ExecStart= lines in a Type=simple unit"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("\(units)/no-exec.service: refused: the unit has no ExecStart="), dry.outputText)
        XCTAssertTrue(dry.outputText.hasSuffix("dry run: nothing written; --force writes the drop-ins after taking a snapshot\n"))

        let forced = runGuarded(["wrap", "systemd", units, "--guarded-run", binary, "--state-dir", state, "--force"])
        XCTAssertEqual(forced.termination, .exited(1), forced.errorText)
        let lines = forced.outputText.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("snapshot ") && lines[0].hasSuffix(" taken before writing"), lines[0])
        let units_ = Fixtures.files(Fixtures.systemd, suffix: ".service")
        XCTAssertEqual(lines.filter { $0.hasPrefix(units + "/") }.count, units_.count, "one result line per unit")
        var wrapped = 0
        for name in units_ where FileManager.default.fileExists(atPath: "\(units)/\(name).d/guarded-run.conf") {
            wrapped += 1
            assertVerifies("\(units)/\(name)")
            // What systemd will run: guarded-run, then exactly the original argv after "--".
            let dropIn = try UnitFile.read("\(units)/\(name).d/guarded-run.conf")
            let original = ServiceCommands([try UnitFile.read("\(units)/\(name)")]).execStart
            let rewritten = dropIn.values("Service", "ExecStart").map(\.value).filter { !$0.isEmpty }
            XCTAssertEqual(rewritten.count, original.count, name)
            for (new, old) in zip(rewritten, original) {
                let newWords = try SystemdSyntax.words(new), oldWords = try SystemdSyntax.words(old.value)
                let prefix = SystemdSyntax.execPrefix(of: oldWords[0])
                XCTAssertEqual(newWords[0], prefix + binary, name)
                let dash = try XCTUnwrap(newWords.firstIndex(of: "--"))
                var expected = [String(oldWords[0].dropFirst(prefix.count))] + oldWords.dropFirst()
                if prefix.contains("@") { expected.remove(at: 1) }
                XCTAssertEqual(Array(newWords[(dash + 1)...]), expected, name)
            }
        }
        XCTAssertEqual(wrapped, 9)

        // Wrapping twice changes nothing.
        let afterWrap = tree(units)
        let again = runGuarded(["wrap", "systemd", units, "--guarded-run", binary, "--state-dir", state, "--force"])
        XCTAssertFalse(again.outputText.contains("snapshot"), again.outputText)
        XCTAssertTrue(again.outputText.contains("\(units)/simple.service: unchanged (already wrapped)"), again.outputText)
        XCTAssertEqual(tree(units), afterWrap)

        // Unwrap removes exactly what wrap added.
        let unwrap = runGuarded(["unwrap", "systemd", units, "--state-dir", state, "--force"])
        XCTAssertEqual(unwrap.termination, .exited(0), unwrap.errorText)
        XCTAssertTrue(unwrap.outputText.contains("\(units)/simple.service: removed \(units)/simple.service.d/guarded-run.conf and \(units)/simple.service.d"))
        XCTAssertEqual(tree(units), before)
    }

    func testWrapKeepsOtherDropInsAndRefusesLaterExecStart() throws {
        try temp.write("u/agent.service", "[Service]\nExecStart=/usr/bin/python3 -m old\n")
        try temp.write("u/agent.service.d/10-command.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/python3 -m from_dropin\n")
        let r = runGuarded(["wrap", "systemd", temp.file("u/agent.service"), "--agent", "mail", "--auto-repair", "--guarded-run", binary,
                            "--state-dir", state, "--force"])
        XCTAssertEqual(r.termination, .exited(0), r.outputText + r.errorText)
        let text = try String(contentsOfFile: temp.file("u/agent.service.d/guarded-run.conf"), encoding: .utf8)
        XCTAssertTrue(text.contains("ExecStart=\(binary!) --agent mail -- /usr/bin/python3 -m from_dropin\n"), text)
        XCTAssertTrue(text.contains("Environment=ENABLE_AUTO_REPAIR=true\nSyslogIdentifier=mail\n") || text.contains("SyslogIdentifier=mail\nEnvironment=ENABLE_AUTO_REPAIR=true\n"), text)
        XCTAssertFalse(text.contains(SystemdWrap.createdDirectoryNote), "the directory was there before")
        assertVerifies(temp.file("u/agent.service"))
        let unwrap = runGuarded(["unwrap", "systemd", temp.file("u/agent.service"), "--state-dir", state, "--force"])
        XCTAssertEqual(unwrap.termination, .exited(0))
        XCTAssertTrue(FileManager.default.fileExists(atPath: temp.file("u/agent.service.d/10-command.conf")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.file("u/agent.service.d/guarded-run.conf")))

        try temp.write("v/late.service", "[Service]\nExecStart=/usr/bin/python3 -m late\n")
        try temp.write("v/late.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/python3 -m override\n")
        let late = runGuarded(["wrap", "systemd", temp.file("v/late.service"), "--guarded-run", binary, "--state-dir", state, "--force"])
        XCTAssertEqual(late.termination, .exited(1))
        XCTAssertTrue(late.outputText.contains("override.conf sets ExecStart= after guarded-run.conf would"), late.outputText)
    }

    /// 71 plists in one call (the original fleet's size), one result line each; plistlib reads
    /// every written file and all keys but the program ones are unchanged; unwrap restores all.
    func testWrapLaunchdFleetOfSeventyOne() throws {
        let dir = try copyCorpus(Fixtures.launchd, to: "agents")
        let corpus = Fixtures.files(dir, suffix: ".plist")
        for k in 0..<(71 - corpus.count) {
            let args = ["/Users/me/agents/a\(k)/venv/bin/python", "-m", "agent_\(k)", "--opt=\(k) & <\(k)>"]
            let xml = PlistWriter.document(.dictionary([
                PlistEntry("Label", .string("com.example.fleet\(k)")),
                PlistEntry("ProgramArguments", .array(args.map { .string($0) })),
                PlistEntry("RunAtLoad", .boolean(true)), PlistEntry("KeepAlive", .boolean(k % 2 == 0)),
            ]))
            try temp.write("agents/com.example.fleet\(k).plist", xml)
        }
        let files = Fixtures.files(dir, suffix: ".plist")
        XCTAssertEqual(files.count, 71)
        var before: [String: String] = [:]
        for f in files { before[f] = plistlibJSON(dir + "/" + f) }

        let r = runGuarded(["wrap", "launchd", dir, "--give-up-after", "5", "--guarded-run", "/usr/local/bin/guarded-run",
                            "--state-dir", state, "--force"])
        XCTAssertEqual(r.termination, .exited(1), r.errorText)  // nolabel and noprogram are refused
        let resultLines = r.outputText.split(separator: "\n").filter { $0.hasPrefix(dir + "/") }
        XCTAssertEqual(resultLines.count, 71, r.outputText)
        XCTAssertTrue(r.outputText.hasPrefix("snapshot "), r.outputText)
        XCTAssertTrue(r.outputText.contains("\(dir)/nolabel.plist: refused: no Label"), r.outputText)

        for f in files {
            let old = try JSONSerialization.jsonObject(with: Data(before[f]!.utf8)) as! [String: Any]
            let new = try JSONSerialization.jsonObject(with: Data(plistlibJSON(dir + "/" + f).utf8)) as! [String: Any]
            let oldEntries = old["dict"] as! [[Any]], newEntries = new["dict"] as! [[Any]]
            func value(_ entries: [[Any]], _ key: String) -> NSObject? { entries.first { $0[0] as! String == key }?[1] as? NSObject }
            func strings(_ v: NSObject?) -> [String]? {
                ((v as? [String: Any])?["array"] as? [[String: String]])?.compactMap { $0["string"] }
            }
            let oldKeys = oldEntries.map { $0[0] as! String }, newKeys = newEntries.map { $0[0] as! String }
            // Every other key and value unchanged, in the same order.
            for key in oldKeys where key != "Program" && key != "ProgramArguments" {
                XCTAssertEqual(value(newEntries, key), value(oldEntries, key), "\(f): \(key)")
            }
            XCTAssertEqual(newKeys.filter { $0 != "ProgramArguments" }, oldKeys.filter { $0 != "ProgramArguments" }, f)
            guard f != "nolabel.plist", f != "com.example.noprogram.plist", f != "com.example.wrapped.plist" else {
                XCTAssertEqual(before[f], plistlibJSON(dir + "/" + f), f)
                continue
            }
            let label = (value(oldEntries, "Label") as! [String: String])["string"]!
            let newArgs = try XCTUnwrap(strings(value(newEntries, "ProgramArguments")), f)
            var prefix = ["--agent", label]
            // A daemon with a UserName gets a state directory of its own (a launcher option, before the others).
            if let user = (value(oldEntries, "UserName") as? [String: String])?["string"], user != "root" {
                prefix += ["--state-dir", "/Library/Application Support/guarded-run-agents/" + label]
            }
            prefix += ["--give-up-after", "5", "--"]
            XCTAssertEqual(Array(newArgs[1...prefix.count]), prefix, f)
            let program = (value(oldEntries, "Program") as? [String: String])?["string"]
            switch (program, strings(value(oldEntries, "ProgramArguments"))) {
            case (nil, let args?):
                XCTAssertEqual(newArgs, ["/usr/local/bin/guarded-run"] + prefix + args, f)
            case (let p?, nil):
                XCTAssertEqual(newArgs, ["/usr/local/bin/guarded-run"] + prefix + [p], f)
            case (let p?, let args?):
                XCTAssertEqual(newArgs, [args[0]] + prefix + [p] + args.dropFirst(), f)
            default:
                XCTFail(f)
            }
        }

        let again = runGuarded(["wrap", "launchd", dir, "--give-up-after", "5", "--guarded-run", "/usr/local/bin/guarded-run",
                                "--state-dir", state, "--force"])
        XCTAssertFalse(again.outputText.contains("snapshot"), "wrapping twice changes nothing: \(again.outputText)")

        let unwrap = runGuarded(["unwrap", "launchd", dir, "--state-dir", state, "--force"])
        XCTAssertEqual(unwrap.termination, .exited(1))  // the two refused ones are still refused
        for f in files where f != "com.example.wrapped.plist" {
            XCTAssertEqual(plistlibJSON(dir + "/" + f), before[f], "unwrap restores \(f)")
        }
    }

    func testConvertedUnitsVerify() throws {
        let out = temp.file("converted")
        let r = runGuarded(["convert", "launchd-to-systemd", Fixtures.launchd, "--output", out, "--guarded-run", binary, "--state-dir", state])
        XCTAssertEqual(r.termination, .exited(1), r.errorText)  // three plists cannot be converted
        XCTAssertTrue(r.errorText.contains("guarded-run: convert: \(Fixtures.launchd)/com.example.mail.plist: no systemd equivalent for ProcessType, LimitLoadToSessionType, Cookie, Installed, Weight, Script"), r.errorText)
        let written = Fixtures.files(out, suffix: "")
        XCTAssertEqual(written.filter { $0.hasSuffix(".service") }.count, 7, "\(written)")
        for name in written { assertVerifies(out + "/" + name) }
        let mail = try String(contentsOfFile: out + "/com.example.mail.service", encoding: .utf8)
        XCTAssertTrue(mail.contains("# launchd keys with no systemd equivalent here (not converted): ProcessType"), mail)

        // Existing units are not overwritten without --force.
        let again = runGuarded(["convert", "launchd-to-systemd", Fixtures.launchd + "/com.example.mail.plist", "--output", out,
                                "--guarded-run", binary, "--state-dir", state])
        XCTAssertEqual(again.termination, .exited(1))
        XCTAssertTrue(again.outputText.contains("exists; --force overwrites it"), again.outputText)
    }

    /// The shipped examples: systemd/example-agent.service and the drop-in template verify, and
    /// launchd-compat/com.example.agent.plist reads the same in plistlib and here.
    func testShippedExamples() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let example = try String(contentsOfFile: repo + "/systemd/example-agent.service", encoding: .utf8)
        try temp.write("ex/example-agent.service", example.replacingOccurrences(of: "/usr/local/bin/guarded-run", with: binary))
        assertVerifies(temp.file("ex/example-agent.service"))

        let template = try String(contentsOfFile: repo + "/systemd/guarded-run.conf.template", encoding: .utf8)
        try temp.write("tpl/mail.service", "[Service]\nExecStart=/usr/bin/python3 -m mail\n")
        try temp.write("tpl/mail.service.d/guarded-run.conf", template
            .replacingOccurrences(of: "/usr/local/bin/guarded-run", with: binary)
            .replacingOccurrences(of: "@AGENT@", with: "mail")
            .replacingOccurrences(of: "@ORIGINAL COMMAND LINE@", with: "/usr/bin/python3 -m mail"))
        assertVerifies(temp.file("tpl/mail.service"))
        XCTAssertTrue(template.hasPrefix(SystemdWrap.marker))

        let plist = repo + "/launchd-compat/com.example.agent.plist"
        let doc = try PlistDocument(Array(try Data(contentsOf: URL(fileURLWithPath: plist))))
        XCTAssertEqual(doc.root["ProgramArguments"]?.strings?.prefix(3), ["/usr/local/bin/guarded-run", "--agent", "com.example.agent"])
        XCTAssertTrue(plistlibJSON(plist).contains("\"--give-up-after\""))
    }

    /// The issue's fleet, through the command line only (so the same test runs against 0.1.0):
    /// `--keepalive --give-up-after 5` keeps {Crashed, NetworkState}, never lowers a
    /// ThrottleInterval, leaves periodic jobs alone, and unwrap restores every file byte for byte.
    func testKeepAliveKeepsTheJobsMeaningAndUnwrapRestoresTheFiles() throws {
        let dir = try copyCorpus(Fixtures.launchd, to: "agents")
        let files = Fixtures.files(dir, suffix: ".plist")
        var before: [String: Data] = [:]
        for f in files { before[f] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)) }
        let wrap = runGuarded(["wrap", "launchd", dir, "--keepalive", "--give-up-after", "5", "--guarded-run", "/usr/local/bin/guarded-run",
                               "--state-dir", state, "--force"])
        XCTAssertEqual(wrap.termination, .exited(1), wrap.errorText)  // nolabel and noprogram are refused
        func keys(_ f: String) throws -> [String: Any] {
            let json = try JSONSerialization.jsonObject(with: Data(plistlibJSON(dir + "/" + f).utf8)) as! [String: Any]
            var out: [String: Any] = [:]
            for e in json["dict"] as! [[Any]] { out[e[0] as! String] = e[1] }
            return out
        }
        let crashed = try keys("com.example.crashed.plist")
        let keepAlive = (crashed["KeepAlive"] as? [String: Any])?["dict"] as? [[Any]]
        XCTAssertEqual(keepAlive?.map { $0[0] as! String }, ["Crashed", "NetworkState", "SuccessfulExit"], "merged, nothing replaced or dropped")
        XCTAssertEqual((crashed["ThrottleInterval"] as? [String: String])?["int"], "60", "never lowered")
        for periodic in ["com.example.calendar.plist", "com.example.program-only.plist"] {
            let k = try keys(periodic)
            XCTAssertNil(k["KeepAlive"], periodic)
            XCTAssertNil(k["ThrottleInterval"], periodic)
        }

        let unwrap = runGuarded(["unwrap", "launchd", dir, "--state-dir", state, "--force"])
        XCTAssertEqual(unwrap.termination, .exited(1), unwrap.errorText)  // the same two are still refused
        for f in files where f != "com.example.wrapped.plist" {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)), before[f], "unwrap restores \(f) byte for byte")
        }
    }

    /// Root rewriting a user's plist or MCP config: the file is theirs (owner and mode) from the
    /// instant it is in place, so a SIGKILL right after the rename cannot leave it owned by root
    /// (before the fix the owner was set by name after the rename: killed there, the file stayed
    /// root's; and a chown by name can be pointed at another file linked in its place).
    func testRootKeepsTheOwnerOfAUsersFileEvenWhenKilledRightAfterWriting() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to chown") }
        let dir = try copyCorpus(Fixtures.launchd, to: "agents")
        let plist = dir + "/com.example.crashed.plist"
        XCTAssertEqual(chown(plist, 65534, 65534), 0)
        XCTAssertEqual(chmod(plist, 0o640), 0)
        let killed = runGuarded(["wrap", "launchd", plist, "--state-dir", state, "--force"],
                                environment: environment(["GUARDED_RUN_TEST_KILL_AT": "operator-file-written"]))
        XCTAssertEqual(killed.termination, .signaled(SIGKILL), killed.errorText)
        let st = try fileStatus(plist)
        XCTAssertEqual(st.uid, 65534, "owner kept")
        XCTAssertEqual(st.gid, 65534)
        XCTAssertEqual(st.permissions, 0o640, "mode kept")
        XCTAssertNotNil(WrapRecord.find(in: try readFile(plist)), "the wrapped file is in place")
    }

    /// `wrap mcp --json` and `unwrap mcp --json`: the object `wrap systemd --json` prints, one
    /// element per config file, the command lines before and after under `changes`.
    func testMcpWrapAndUnwrapJSON() throws {
        makeVenv(temp.file("srv/.venv"))
        let py = temp.file("srv/.venv/bin/python")
        let config = temp.file("Claude/claude_desktop_config.json")
        try FileManager.default.createDirectory(atPath: temp.file("Claude"), withIntermediateDirectories: true)
        let original = "{\"mcpServers\": {\"ads\": {\"command\": \"\(py)\", \"args\": [\"-m\", \"ads\"]}, \"web\": {\"command\": \"npx\"}}}\n"
        try original.write(toFile: config, atomically: false, encoding: .utf8)
        try "not json".write(toFile: temp.file("broken.json"), atomically: false, encoding: .utf8)
        func object(_ r: SubprocessResult) throws -> [String: Any] {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.outputText.utf8)) as? [String: Any], r.outputText)
        }
        let dry = runGuarded(["wrap", "mcp", config, temp.file("broken.json"), "--guarded-run", binary, "--state-dir", state, "--json"])
        XCTAssertEqual(dry.termination, .exited(1), dry.errorText)
        let d = try object(dry)
        XCTAssertEqual(d["dry_run"] as? Bool, true)
        XCTAssertEqual(d["exit_code"] as? Int, 1)
        let files = try XCTUnwrap(d["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["action"] as? String }, ["write", "refused"])
        let changes = try XCTUnwrap(files[0]["changes"] as? [[String: Any]])
        XCTAssertEqual(changes.first?["key"] as? String, "mcpServers.ads")
        XCTAssertEqual(changes.first?["before"] as? String, "[\"\(py)\",\"-m\",\"ads\"]")
        XCTAssertEqual(changes.first?["after"] as? String, "[\"\(binary!)\",\"--agent\",\"claude-desktop-ads\",\"--\",\"\(py)\",\"-m\",\"ads\"]")
        XCTAssertEqual(files[0]["warnings"] as? [String], ["mcpServers.web (line 1): left alone: runs npx, not a Python venv"])
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), original, "a dry run writes nothing")

        let wrap = runGuarded(["wrap", "mcp", config, "--guarded-run", binary, "--state-dir", state, "--force", "--json"])
        XCTAssertEqual(wrap.termination, .exited(0), wrap.errorText)
        let w = try object(wrap)
        XCTAssertEqual(w["dry_run"] as? Bool, false)
        XCTAssertNotNil(w["snapshot"] as? String)
        XCTAssertEqual((w["files"] as? [[String: Any]])?.first?["files"] as? [String], [config])

        let unwrap = runGuarded(["unwrap", "mcp", config, "--state-dir", state, "--force", "--json"])
        XCTAssertEqual(unwrap.termination, .exited(0), unwrap.errorText)
        let u = try XCTUnwrap((try object(unwrap)["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(u["action"] as? String, "write")
        XCTAssertEqual((u["changes"] as? [[String: Any]])?.first?["after"] as? String, "[\"\(py)\",\"-m\",\"ads\"]")
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), original)
        let again = try object(runGuarded(["unwrap", "mcp", config, "--state-dir", state, "--json"]))
        XCTAssertEqual((again["files"] as? [[String: Any]])?.first?["action"] as? String, "unchanged")
    }

    /// A plist saved by someone else after wrap read it (here: while it took the snapshot) is not
    /// written over: that file is refused, the new content stays. Before the fix wrap wrote its
    /// edit of the old content over it.
    func testAPlistChangedWhileWrapRunsIsNotWrittenOver() throws {
        let dir = try copyCorpus(Fixtures.launchd, to: "agents")
        let plist = dir + "/com.example.crashed.plist"
        let marker = temp.file("paused")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guardedRunBinary)
        process.arguments = ["wrap", "launchd", plist, "--state-dir", state, "--force"]
        process.environment = ProcessInfo.processInfo.environment.merging(["GUARDED_RUN_TEST_PAUSE_AT": "operator-file-write:" + marker]) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: marker) && process.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "wrap reached the write")
        var edited = try String(contentsOfFile: plist, encoding: .utf8)
        edited = edited.replacingOccurrences(of: "</dict>\n</plist>", with: "\t<key>Nice</key>\n\t<integer>5</integer>\n</dict>\n</plist>")
        try edited.write(toFile: plist, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: marker)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("\(plist): refused: changed while being edited; run again"), text)
        XCTAssertEqual(try String(contentsOfFile: plist, encoding: .utf8), edited, "the newer file is kept")
    }

    /// A Label (or file name) holding a newline or an escape sequence is quoted in the one line
    /// that refuses it: before the fix the line was split in two, the second half reading like
    /// guarded-run's own output (`ExecStartPre=/bin/evil`).
    func testARefusalQuotingTheFileStaysOneLine() throws {
        let plist = temp.file("evil.plist")
        let label = "com.evil\nExecStartPre=/bin/evil\u{1b}[2J"
        try PropertyListSerialization.data(fromPropertyList: ["Label": label, "ProgramArguments": ["/usr/bin/python3"]],
                                           format: .xml, options: 0).write(to: URL(fileURLWithPath: plist))
        for command in [["wrap", "launchd", plist], ["convert", "launchd-to-systemd", plist]] {
            let r = runGuarded(command + ["--state-dir", state])
            XCTAssertEqual(r.termination, .exited(1), r.errorText)
            XCTAssertEqual(r.outputText.split(separator: "\n", omittingEmptySubsequences: false),
                           ["\(plist): refused: the Label 'com.evil\\u000aExecStartPre=/bin/evil\\u001b[2J' is not a usable agent name"
                            + (command[0] == "wrap" ? "; pass --agent NAME" : ""), ""], command[0])
        }
    }

    /// `--from-config` over a directory holding a unit whose name has a newline: each missing
    /// path and each warning is one line (before the fix the file name split them).
    func testFromConfigLinesStayOneLineForOddFileNames() throws {
        let dir = temp.file("units")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "[Service]\nExecStart=/srv/gone/.venv/bin/python\n".write(toFile: dir + "/a\nb.service", atomically: false, encoding: .utf8)
        try "garbage".write(toFile: dir + "/c\nd.service", atomically: false, encoding: .utf8)
        let r = runGuarded(["venvs", "check", "--from-config", dir, "--state-dir", state])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        XCTAssertEqual(r.outputText.split(separator: "\n").first.map(String.init),
                       "missing: \(dir)/a\\u000ab.service: line 2 (ExecStart=): /srv/gone/.venv/bin/python does not exist")
        XCTAssertTrue(r.errorText.split(separator: "\n").contains("guarded-run: venvs: warning: cannot read \(dir)/c\\u000ad.service: line 1: missing '='"),
                      r.errorText)
    }

    /// Root wrapping a user's LaunchAgents while the user swaps the directory for a symlink to
    /// one only root may write (here, after wrap read the plist): the write must not land there.
    /// Before the fix root wrote through the swapped directory; now it writes as the user who
    /// owns the file and its directory, so the swap gains them nothing.
    func testRootWritesAUsersPlistAsThatUser() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root") }
        XCTAssertEqual(chmod(temp.path, 0o755), 0)
        let home = temp.file("home")
        let agents = home + "/LaunchAgents"
        try FileManager.default.createDirectory(atPath: agents, withIntermediateDirectories: true)
        let plist = agents + "/com.example.crashed.plist"
        try FileManager.default.copyItem(atPath: Fixtures.launchd + "/com.example.crashed.plist", toPath: plist)
        for path in [home, agents, plist] { XCTAssertEqual(chown(path, 65534, 65534), 0) }
        // Root's directory, holding a job of the same name and bytes (so the check that the file
        // did not change since it was read passes through the swapped link).
        let daemons = temp.file("LaunchDaemons")
        try FileManager.default.createDirectory(atPath: daemons, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: plist, toPath: daemons + "/com.example.crashed.plist")
        XCTAssertEqual(chown(daemons + "/com.example.crashed.plist", 0, 0), 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: daemons + "/com.example.crashed.plist"))

        // Unswapped, the user's plist is wrapped (as the user) and stays theirs.
        let plain = runGuarded(["wrap", "launchd", plist, "--state-dir", state, "--force"])
        XCTAssertEqual(plain.termination, .exited(0), plain.errorText)
        XCTAssertEqual(try fileStatus(plist).uid, 65534)
        XCTAssertEqual(runGuarded(["unwrap", "launchd", plist, "--state-dir", state, "--force"]).termination, .exited(0))

        let marker = temp.file("paused")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guardedRunBinary)
        process.arguments = ["wrap", "launchd", plist, "--state-dir", state, "--force"]
        process.environment = ProcessInfo.processInfo.environment.merging(["GUARDED_RUN_TEST_PAUSE_AT": "operator-file-write:" + marker]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: marker) && process.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "wrap reached the write")
        XCTAssertEqual(rename(agents, agents + ".old"), 0)
        XCTAssertEqual(symlink(daemons, agents), 0)
        try FileManager.default.removeItem(atPath: marker)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: daemons + "/com.example.crashed.plist")), before, "root's job untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: daemons), ["com.example.crashed.plist"], "nothing written there")
    }

    /// The dry run shows every change --keepalive makes; the '-' prefix is warned about; --json
    /// gives one object per file, for wrap, unwrap and convert, dry run and --force.
    func testDryRunChangesWarningsAndJSON() throws {
        let dir = try copyCorpus(Fixtures.launchd, to: "agents")
        let dry = runGuarded(["wrap", "launchd", dir + "/com.example.crashed.plist", dir + "/com.example.calendar.plist", "--keepalive",
                              "--throttle-interval", "120", "--give-up-after", "5", "--guarded-run", "/usr/local/bin/guarded-run", "--state-dir", state])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        XCTAssertTrue(dry.outputText.contains("    change: KeepAlive: {Crashed = true; NetworkState = true} -> {Crashed = true; NetworkState = true; SuccessfulExit = false}\n    change: ThrottleInterval: 60 -> 120\n"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("    note: a periodic job (StartCalendarInterval): --keepalive left KeepAlive and ThrottleInterval alone"), dry.outputText)

        func json(_ r: SubprocessResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.outputText.utf8)) as? [String: Any], r.outputText, file: file, line: line)
        }
        let wrapJSON = try json(runGuarded(["wrap", "launchd", dir + "/com.example.crashed.plist", "--keepalive", "--json",
                                            "--guarded-run", "/usr/local/bin/guarded-run", "--state-dir", state]))
        XCTAssertEqual(wrapJSON["dry_run"] as? Bool, true)
        XCTAssertTrue(wrapJSON["snapshot"] is NSNull)
        let file = try XCTUnwrap((wrapJSON["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(file["path"] as? String, dir + "/com.example.crashed.plist")
        XCTAssertEqual(file["action"] as? String, "write")
        let changes = try XCTUnwrap(file["changes"] as? [[String: Any]])
        XCTAssertEqual(changes.map { $0["key"] as? String }, ["ProgramArguments", "KeepAlive"])
        XCTAssertEqual(changes[1]["before"] as? String, "{Crashed = true; NetworkState = true}")

        let forced = try json(runGuarded(["wrap", "launchd", dir + "/com.example.crashed.plist", "--keepalive", "--json", "--force",
                                          "--guarded-run", "/usr/local/bin/guarded-run", "--state-dir", state]))
        XCTAssertEqual(forced["dry_run"] as? Bool, false)
        let snapshot = try XCTUnwrap(forced["snapshot"] as? String)
        XCTAssertEqual((forced["files"] as? [[String: Any]])?.first?["snapshot"] as? String, snapshot)
        let unwrapJSON = try json(runGuarded(["unwrap", "launchd", dir + "/com.example.crashed.plist", "--json", "--force", "--state-dir", state]))
        XCTAssertEqual((unwrapJSON["files"] as? [[String: Any]])?.first?["action"] as? String, "write")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/com.example.crashed.plist")),
                       try Data(contentsOf: URL(fileURLWithPath: Fixtures.launchd + "/com.example.crashed.plist")), "restored byte for byte")

        let units = try copyCorpus(Fixtures.systemd, to: "units")
        let systemd = runGuarded(["wrap", "systemd", units + "/prefixes.service", "--guarded-run", binary, "--state-dir", state])
        XCTAssertTrue(systemd.outputText.contains("    warning: ExecStart= on line 3 has the '-' prefix: systemd counts guarded-run's exit 78"), systemd.outputText)
        let systemdJSON = try json(runGuarded(["wrap", "systemd", units + "/prefixes.service", "--json", "--guarded-run", binary, "--state-dir", state]))
        let unit = try XCTUnwrap((systemdJSON["files"] as? [[String: Any]])?.first)
        XCTAssertEqual((unit["warnings"] as? [String])?.count, 1)
        XCTAssertEqual(unit["files"] as? [String], [units + "/prefixes.service.d/guarded-run.conf"])
        XCTAssertEqual((unit["changes"] as? [[String: Any]])?.first?["before"] as? String, "-@:+/usr/bin/python3 mail-agent -m mail_agent $$HOME")

        let out = temp.file("converted")
        let convert = try json(runGuarded(["convert", "launchd-to-systemd", Fixtures.launchd + "/com.example.calendar.plist", "--output", out,
                                           "--json", "--guarded-run", binary, "--state-dir", state]))
        let converted = try XCTUnwrap((convert["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(converted["files"] as? [String], [out + "/com.example.calendar.service", out + "/com.example.calendar.timer"])
        XCTAssertEqual((converted["contents"] as? [String])?.first, try String(contentsOfFile: out + "/com.example.calendar.service", encoding: .utf8))
    }

    /// A drop-in edited since wrap is not removed without --force, and the line says why.
    func testUnwrapRefusesAnEditedDropInWithoutForce() throws {
        try temp.write("u/mail.service", "[Service]\nExecStart=/usr/bin/python3 -m mail\n")
        let unit = temp.file("u/mail.service")
        XCTAssertEqual(runGuarded(["wrap", "systemd", unit, "--guarded-run", binary, "--state-dir", state, "--force"]).termination, .exited(0))
        let dropIn = temp.file("u/mail.service.d/guarded-run.conf")
        try (String(contentsOfFile: dropIn, encoding: .utf8) + "Environment=MINE=1\n").write(toFile: dropIn, atomically: true, encoding: .utf8)
        let dry = runGuarded(["unwrap", "systemd", unit, "--state-dir", state])
        XCTAssertEqual(dry.termination, .exited(1))
        XCTAssertTrue(dry.outputText.contains("\(unit): refused: \(dropIn) was edited since wrap (it no longer matches its wrap record); --force removes it anyway"), dry.outputText)
        let forced = runGuarded(["unwrap", "systemd", unit, "--state-dir", state, "--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.outputText)
        XCTAssertTrue(forced.outputText.contains("    warning: \(dropIn) was edited since wrap"), forced.outputText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dropIn))
    }

    /// Launcher values the launcher would refuse are one line and exit 64 at wrap time.
    func testLauncherOptionValuesAreChecked() {
        for (args, message) in [(["--import", "1bad"], "--import takes a dotted module name"), (["--venv", "venv"], "--venv takes an absolute path"),
                                (["--agent-state-dir", "state"], "--agent-state-dir takes an absolute path"),
                                (["--requirements", "r.txt"], "--requirements takes an absolute path"),
                                (["--find-links", "wheels"], "--find-links takes an absolute directory")] {
            for kind in [["systemd", "a.service"], ["launchd", "a.plist"]] {
                let r = runGuarded(["wrap"] + kind + args + ["--state-dir", state, "--guarded-run", "/x/guarded-run"])
                XCTAssertEqual(r.termination, .exited(64), "\(args): \(r.errorText)")
                XCTAssertEqual(r.errorText.split(separator: "\n").count, 1, r.errorText)
                XCTAssertTrue(r.errorText.hasPrefix("guarded-run: wrap: " + message), r.errorText)
            }
        }
    }

    /// The scheduled doctor as shipped: the service and timer verify, the launchd job reads in
    /// plistlib as a daily venvs check with an on-problem hook.
    func testShippedDoctor() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        for name in ["guarded-run-doctor.service", "guarded-run-doctor.timer"] {
            let text = try String(contentsOfFile: repo + "/systemd/" + name, encoding: .utf8)
            try temp.write("doctor/" + name, text.replacingOccurrences(of: "/usr/local/bin/guarded-run", with: binary))
        }
        assertVerifies(temp.file("doctor/guarded-run-doctor.service"))
        assertVerifies(temp.file("doctor/guarded-run-doctor.timer"))
        let service = try UnitFile.read(repo + "/systemd/guarded-run-doctor.service")
        XCTAssertEqual(service.values("Service", "Type").map(\.value), ["oneshot"])
        XCTAssertEqual(service.values("Service", "ExecStart").map(\.value), ["/usr/local/bin/guarded-run venvs check"])
        XCTAssertTrue(service.values("Service", "ExecStopPost").first?.value.contains("guarded-run metrics --output /") == true)
        let timer = try UnitFile.read(repo + "/systemd/guarded-run-doctor.timer")
        XCTAssertEqual(timer.values("Timer", "OnCalendar").count, 1)

        let plist = repo + "/launchd-compat/com.example.guarded-run-doctor.plist"
        let json = try JSONSerialization.jsonObject(with: Data(plistlibJSON(plist).utf8)) as! [String: Any]
        let entries = json["dict"] as! [[Any]]
        func value(_ key: String) -> [String: Any]? { entries.first { $0[0] as! String == key }?[1] as? [String: Any] }
        let args = (value("ProgramArguments")?["array"] as? [[String: String]])?.compactMap { $0["string"] }
        XCTAssertEqual(args, ["/usr/local/bin/guarded-run", "venvs", "check", "--on-problem", "/usr/local/libexec/guarded-run-notify"])
        XCTAssertNotNil(value("StartCalendarInterval")?["dict"])
        XCTAssertNil(value("KeepAlive"), "a periodic job is not kept alive")
        let hook = repo + "/launchd-compat/guarded-run-notify"
        XCTAssertEqual(access(hook, X_OK), 0)
        XCTAssertEqual(TestSupport.run("/bin/sh", ["-n", hook]).termination, .exited(0), "the notify hook parses")
    }

    func testUsageErrors() {
        for args in [["wrap", "upstart", "x"], ["wrap", "systemd"], ["wrap", "systemd", "a.service", "b.service", "--agent", "x"],
                     ["wrap", "systemd", "a.service", "--keepalive"], ["wrap", "launchd", "a.plist", "--give-up-after", "0"],
                     ["wrap", "systemd", "a.service", "--agent", "../x"], ["convert", "plist-to-unit", "a.plist"]] {
            let r = runGuarded(args + ["--state-dir", state, "--guarded-run", "/x/guarded-run"])
            XCTAssertEqual(r.termination, .exited(64), "\(args): \(r.errorText)")
            XCTAssertTrue(r.errorText.hasPrefix("guarded-run: \(args[0]): "), r.errorText)
        }
    }
}
