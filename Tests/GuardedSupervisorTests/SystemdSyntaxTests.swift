import GuardedSupervisor
import XCTest

final class SystemdSyntaxTests: XCTestCase {
    func words(_ s: String) throws -> [String] { try SystemdSyntax.words(s) }

    func testSplitsLikeSystemd() throws {
        // Cases from systemd's own test-extract-word.c and systemd.syntax(7).
        XCTAssertEqual(try words("foobar waldo"), ["foobar", "waldo"])
        XCTAssertEqual(try words("\"foobar\" 'waldo'"), ["foobar", "waldo"])
        XCTAssertEqual(try words("  a\t b  "), ["a", "b"])
        XCTAssertEqual(try words("a\"b c\"d"), ["ab cd"])
        XCTAssertEqual(try words("\"a\\\"b\" 'c\\'d'"), ["a\"b", "c'd"])
        XCTAssertEqual(try words("\\x41\\102\\u00e9\\n\\s\\\\"), ["AB\u{e9}\n \\"])
        XCTAssertEqual(try words("\"\" ''"), ["", ""])
        XCTAssertEqual(try words("unknown\\q escape"), ["unknown\\q", "escape"])
        XCTAssertEqual(try words("trailing\\"), ["trailing\\"])
        XCTAssertEqual(try words("\"it's\" 'say \"hi\"'"), ["it's", "say \"hi\""])
        XCTAssertEqual(try words("100%% $HOME ${X}"), ["100%%", "$HOME", "${X}"])
        XCTAssertThrowsError(try words("\"unbalanced"))
        XCTAssertThrowsError(try words("'x\\"))
    }

    /// A unit saved with a UTF-8 byte order mark (and CRLF line ends), which systemd reads (and
    /// `systemd-analyze verify` passes): before the fix it was refused as "line 1: missing '='".
    func testAByteOrderMarkIsSkippedAsSystemdDoes() throws {
        let unit = try UnitFile(path: "bom.service", text: "\u{FEFF}[Service]\r\nExecStart=/usr/bin/python3 -m x\r\n")
        XCTAssertEqual(unit.values("Service", "ExecStart").map(\.value), ["/usr/bin/python3 -m x"])
        XCTAssertEqual(try UnitFile(path: "bom.service", text: "[Service]\n\u{FEFF}ExecStart=/bin/true\n").values("Service", "ExecStart").count, 0,
                       "only at the start of the file")
    }

    func testSemicolons() throws {
        let split = try SystemdSyntax.split("/bin/a ; /bin/b \\; c;d \";\"")
        XCTAssertEqual(split.map(\.text), ["/bin/a", ";", "/bin/b", ";", "c;d", ";"])
        XCTAssertEqual(split.map(\.kind), [.word, .commandSeparator, .word, .word, .word, .word])
    }

    func testRawSpans() throws {
        let value = "-/usr/bin/x  'a b' c"
        let split = try SystemdSyntax.split(value)
        let raw = Array(value.utf8)
        XCTAssertEqual(split.map { String(decoding: raw[$0.rawStart..<$0.rawEnd], as: UTF8.self) }, ["-/usr/bin/x", "'a b'", "c"])
    }

    func testQuoteRoundTrips() throws {
        let samples = ["plain", "", "with space", "tab\there", "new\nline", "quote\"d", "it's", "back\\slash", ";",
                       "ünïcode ✓", "ctrl\u{1}x", "#hash", "-dash", "a=b,c:d@e", "\u{7f}"]
        for s in samples {
            let quoted = SystemdSyntax.quote(s)
            XCTAssertEqual(try words(quoted), [s.replacingOccurrences(of: "%", with: "%%").replacingOccurrences(of: "$", with: "$$")], "quote(\(s.debugDescription)) = \(quoted)")
        }
        XCTAssertEqual(SystemdSyntax.quote("100%"), "100%%")
        XCTAssertEqual(SystemdSyntax.quote("$HOME"), "$$HOME")
        XCTAssertEqual(SystemdSyntax.quote("A=$x y", environmentExpansion: false), "\"A=$x y\"")
        XCTAssertEqual(SystemdSyntax.join(["/usr/bin/python3", "-m", "agent x"]), "/usr/bin/python3 -m \"agent x\"")
    }

    func testExecPrefixes() {
        XCTAssertEqual(SystemdSyntax.execPrefix(of: "/bin/x"), "")
        XCTAssertEqual(SystemdSyntax.execPrefix(of: "-@:+/bin/x"), "-@:+")
        XCTAssertEqual(SystemdSyntax.execPrefix(of: "!!/bin/x"), "!!")
        XCTAssertEqual(SystemdSyntax.execPrefix(of: "+!/bin/x"), "+")
        XCTAssertEqual(SystemdSyntax.execPrefix(of: "--/bin/x"), "-")
    }

    func testUnitFileParsing() throws {
        let text = "# comment\n; also\n[Service]\n  ExecStart = /bin/a \\\n# skipped\n  b\\\\\nX=  y  \n[Unit]\nDescription=d\\\n"
        let unit = try UnitFile(path: "t.service", text: text)
        XCTAssertEqual(unit.assignments.map(\.key), ["ExecStart", "X", "Description"])
        XCTAssertEqual(unit.assignments[0].value, "/bin/a    b\\\\")
        XCTAssertEqual(unit.assignments[0].line, 4)
        XCTAssertEqual(unit.assignments[1].value, "y")
        XCTAssertEqual(unit.assignments[2].section, "Unit")
        XCTAssertThrowsError(try UnitFile(path: "t", text: "Key=outside\n"))
        XCTAssertThrowsError(try UnitFile(path: "t", text: "[Service]\nno equals sign\n"))
    }

    func testEffectiveExecStart() throws {
        let unit = try UnitFile(path: "u", text: "[Service]\nExecStart=/a\nType=oneshot\n")
        let dropIn = try UnitFile(path: "d", text: "[Service]\nExecStart=\nExecStart=/b\nExecStart=/c\n")
        let commands = ServiceCommands([unit, dropIn])
        XCTAssertEqual(commands.execStart.map(\.value), ["/b", "/c"])
        XCTAssertEqual(commands.type, "oneshot")
    }

    /// The wrapped line, split the way systemd splits it, runs guarded-run with the original
    /// argv exactly after `--`.
    func testWrappedCommandKeepsArgv() throws {
        let lines = [
            "/usr/bin/python3 -m agent --name \"a b\" 'c d' \\x41 $VAR ${X} 100%% \\; a\"b c\"d",
            "-/usr/bin/python3   spaced    args  ",
            "+/usr/bin/python3 -c \"print('x')\"",
            ":/usr/bin/python3 $literal",
            "!!/usr/bin/python3 -V",
            "\"-/usr/bin/my tool\" arg",
        ]
        for line in lines {
            let original = try SystemdSyntax.split(line).map(\.text)
            let prefix = SystemdSyntax.execPrefix(of: original[0])
            let wrapped = try SystemdWrap.wrapCommand(line, agent: "a", guardedRun: "/opt/g r/guarded-run").get()
            let split = try SystemdSyntax.split(wrapped).map(\.text)
            XCTAssertEqual(split[0], prefix + "/opt/g r/guarded-run", line)
            XCTAssertEqual(Array(split[1...3]), ["--agent", "a", "--"], line)
            XCTAssertEqual(Array(split[4...]), [String(original[0].dropFirst(prefix.count))] + original.dropFirst(), line)
        }
        // '@': the custom argv[0] stays guarded-run's argv[0]; the agent gets its path.
        let wrapped = try SystemdWrap.wrapCommand("@/usr/bin/python3 agent-name -m x", agent: "a", guardedRun: "/g/guarded-run").get()
        XCTAssertEqual(try words(wrapped), ["@/g/guarded-run", "agent-name", "--agent", "a", "--", "/usr/bin/python3", "-m", "x"])
    }

    func testRefusals() {
        func refusal(_ line: String) -> String? {
            if case .failure(let e) = SystemdWrap.wrapCommand(line, agent: "a", guardedRun: "/g/guarded-run") { return e.message }
            return nil
        }
        XCTAssertNotNil(refusal("/bin/a ; /bin/b"))
        XCTAssertNotNil(refusal("/usr/local/bin/guarded-run --agent x -- /bin/a"))
        XCTAssertNotNil(refusal("@/bin/a"))
        XCTAssertNotNil(refusal("- "))
        XCTAssertNotNil(refusal("/bin/a \"open"))
    }

    func testAgentNames() {
        XCTAssertEqual(SystemdWrap.agentName(forUnit: "mail.service"), "mail")
        XCTAssertEqual(SystemdWrap.agentName(forUnit: "worker@.service"), "worker@%i")
        XCTAssertNil(SystemdWrap.agentName(forUnit: "odd\\x2dname.service"))
    }
}
