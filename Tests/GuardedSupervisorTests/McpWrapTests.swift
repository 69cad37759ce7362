import Foundation
import GuardedCore
import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// `wrap mcp` and `unwrap mcp` over a corpus of real-shaped configs for the four clients, with
/// Python's `json` (behind a JSONC stripper written here for VS Code's files) as the oracle.
final class McpWrapTests: XCTestCase {
    static let gr = Fixtures.guardedRun
    static var corpus: String { Fixtures.root + "/mcp" }

    /// The corpus files that parse, relative to the corpus directory.
    static let good = [
        "claude-desktop/claude_desktop_config.json",
        "claude-code/.mcp.json",
        "cursor/.cursor/mcp.json",
        "vscode/.vscode/mcp.json",
        "vscode-user/User/mcp.json",
        "odd/compact.json",
        "odd/claude_desktop_config.json",
    ]

    /// In the corpus a venv is any `…venv/bin/X` (the end-to-end tests use real venvs).
    static func venvOf(_ command: String) -> String? {
        command.contains("venv/bin/") ? parentDirectory(of: parentDirectory(of: command)) : nil
    }

    static func bytes(_ name: String) throws -> [UInt8] { try readFile(corpus + "/" + name) }
    static func client(_ name: String) -> McpClient { McpClient.of(path: corpus + "/" + name, home: "/home/nobody") }

    static let optionSets: [(label: String, options: McpWrap.Options)] = [
        ("plain", McpWrap.Options(guardedRun: gr)),
        ("all", McpWrap.Options(agentPrefix: "work-", imports: ["mcp.server", "httpx"], autoRepair: true, guardedRun: gr)),
    ]

    func wrap(_ name: String, _ options: McpWrap.Options, file: StaticString = #filePath, line: UInt = #line) throws -> McpWrap.Edit {
        switch McpWrap.wrap(try Self.bytes(name), client: Self.client(name), options: options, venvOf: Self.venvOf) {
        case .success(let edit): return edit
        case .failure(let error): XCTFail("\(name): \(error)", file: file, line: line); throw error
        }
    }

    // MARK: what is wrapped, and what is left alone

    func testEachClientsEntriesAreWrappedOrLeftAloneWithAReason() throws {
        func outcomes(_ name: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for e in try wrap(name, McpWrap.Options(guardedRun: Self.gr)).entries {
                switch e.outcome {
                case .wrapped(let agent, let venv, _, _): out[e.key] = "wrapped \(agent) \(venv)"
                case .leftAlone(let reason): out[e.key] = "left alone: \(reason)"
                default: out[e.key] = "\(e.outcome)"
                }
            }
            return out
        }
        XCTAssertEqual(try outcomes("claude-desktop/claude_desktop_config.json"), [
            "ads-mcp": "wrapped claude-desktop-ads-mcp /srv/ads-mcp/.venv",
            "filesystem": "left alone: runs npx, not a Python venv",
            "mail": "wrapped claude-desktop-mail /Users/me/agents/mail/.venv",
            "weather": "left alone: runs uvx, not a Python venv",
            "notes": "left alone: not in a Python venv (no pyvenv.cfg beside its bin/)",
            "remote": "left alone: a remote server (url): nothing is started here",
        ])
        XCTAssertEqual(try outcomes("claude-code/.mcp.json"), [
            "db": "wrapped claude-code-claude-code-db /home/me/proj/.venv",
            "docs": "left alone: a remote server (url): nothing is started here",
            "tools": "wrapped claude-code-claude-code-tools /home/me/proj/venv",
            "container": "left alone: runs docker, not a Python venv",
        ])
        XCTAssertEqual(try outcomes("cursor/.cursor/mcp.json"), [
            "linear": "wrapped cursor-cursor-linear /opt/mcp/linear/.venv",
            "sentry": "left alone: a remote server (url): nothing is started here",
            "search engine": "wrapped cursor-cursor-search-engine /opt/mcp/search/.venv",
        ])
        XCTAssertEqual(try outcomes("vscode/.vscode/mcp.json"), [
            "project": "left alone: the command uses a client variable (${...}): guarded-run cannot tell which venv it names",
            "analytics": "wrapped vscode-vscode-analytics /srv/analytics/.venv",
            "github": "left alone: a remote server (url): nothing is started here",
            "memory": "left alone: runs npx, not a Python venv",
        ])
        XCTAssertEqual(try outcomes("vscode-user/User/mcp.json"), ["time": "wrapped vscode-time /home/me/.local/share/mcp/time/.venv"])
    }

    func testClientsAreToldFromTheirPaths() {
        XCTAssertEqual(McpClient.of(path: "/Users/me/Library/Application Support/Claude/claude_desktop_config.json", home: "/Users/me").agentPrefix, "claude-desktop-")
        XCTAssertEqual(McpClient.of(path: "/Users/me/.cursor/mcp.json", home: "/Users/me").agentPrefix, "cursor-")
        XCTAssertEqual(McpClient.of(path: "/Users/me/src/shop/.cursor/mcp.json", home: "/Users/me").agentPrefix, "cursor-shop-")
        XCTAssertEqual(McpClient.of(path: "/Users/me/src/shop/.mcp.json", home: "/Users/me").agentPrefix, "claude-code-shop-")
        XCTAssertEqual(McpClient.of(path: "/Users/me/src/shop/.vscode/mcp.json", home: "/Users/me").serversKey, "servers")
        XCTAssertEqual(McpClient.of(path: "/Users/me/src/shop/.vscode/mcp.json", home: "/Users/me").agentPrefix, "vscode-shop-")
        XCTAssertEqual(McpClient.of(path: "/home/me/.config/Code/User/mcp.json", home: "/home/me").agentPrefix, "vscode-")
        XCTAssertTrue(McpClient.of(path: "/x/.vscode/mcp.json", home: nil).allowsComments)
        XCTAssertFalse(McpClient.of(path: "/x/claude_desktop_config.json", home: nil).allowsComments)
    }

    // MARK: the oracle

    func testEveryWrittenFileReadsBackInPythonAsTheIntendedDocument() throws {
        var cases: [[String: Any]] = []
        let tmp = try TemporaryDirectory("mcp-oracle")
        defer { tmp.remove() }
        for name in Self.good {
            for (label, options) in Self.optionSets {
                let edit = try wrap(name, options)
                XCTAssertTrue(edit.isChanged, name)
                let out = tmp.file("\(cases.count).json")
                try writeFileAtomically(out, edit.bytes)
                var wrapped: [String: [String]] = [:]
                for e in edit.entries {
                    if case .wrapped(let agent, _, _, _) = e.outcome {
                        var prefix = ["--agent", agent]
                        if options.autoRepair { prefix.append("--auto-repair") }
                        for m in options.imports { prefix += ["--import", m] }
                        wrapped[e.key] = prefix + ["--"]
                    }
                }
                cases.append(["label": "\(name) \(label)", "original": Self.corpus + "/" + name, "edited": out,
                              "jsonc": Self.client(name).allowsComments, "key": edit.serversKey ?? "", "gr": Self.gr,
                              "wrapped": wrapped])
            }
        }
        XCTAssertEqual(try oracle(cases, tmp), Array(repeating: "ok", count: cases.count))
    }

    func testWrapThenUnwrapIsTheIdentityAndWrapIsIdempotent() throws {
        for name in Self.good {
            let original = try Self.bytes(name)
            for (label, options) in Self.optionSets {
                let edit = try wrap(name, options)
                XCTAssertNotEqual(edit.bytes, original, "\(name) \(label)")
                guard case .success(let again) = McpWrap.wrap(edit.bytes, client: Self.client(name), options: options, venvOf: Self.venvOf) else {
                    return XCTFail("\(name): wrapped file refused")
                }
                XCTAssertFalse(again.isChanged, "\(name) \(label): wrap twice")
                XCTAssertEqual(again.bytes, edit.bytes, "\(name) \(label)")
                guard case .success(let undone) = McpWrap.unwrap(edit.bytes, client: Self.client(name)) else {
                    return XCTFail("\(name): unwrap refused")
                }
                XCTAssertEqual(String(decoding: undone.bytes, as: UTF8.self), String(decoding: original, as: UTF8.self), "\(name) \(label)")
                XCTAssertEqual(undone.bytes, original, "\(name) \(label): byte for byte")
                guard case .success(let nothing) = McpWrap.unwrap(original, client: Self.client(name)) else { return XCTFail(name) }
                XCTAssertFalse(nothing.isChanged, name)
            }
        }
    }

    /// A client rewrote the wrapped file its own way (Python's json.dumps here): unwrap restores
    /// each entry's own command and args from what wrap left in it.
    func testUnwrapWorksOnAFileTheClientRewrote() throws {
        let tmp = try TemporaryDirectory("mcp-rewritten")
        defer { tmp.remove() }
        var cases: [[String: Any]] = []
        for name in Self.good {
            let edit = try wrap(name, Self.optionSets[1].options)
            let wrappedPath = tmp.file("\(cases.count)-wrapped.json")
            try writeFileAtomically(wrappedPath, edit.bytes)
            let jsonc = Self.client(name).allowsComments
            let r = TestSupport.run(testPython, ["-c", Self.pythonJSONC + """
                import sys
                print(json.dumps(load(sys.argv[1], \(jsonc ? "True" : "False"), pairs=False), indent=4, ensure_ascii=True))
                """, wrappedPath])
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            guard case .success(let undone) = McpWrap.unwrap(r.standardOutput, client: McpClient.of(path: Self.corpus + "/" + name, home: nil)) else {
                return XCTFail("\(name): unwrap of the rewritten file refused")
            }
            XCTAssertTrue(undone.isChanged, name)
            let out = tmp.file("\(cases.count).json")
            try writeFileAtomically(out, undone.bytes)
            cases.append(["label": name, "original": Self.corpus + "/" + name, "edited": out, "jsonc": jsonc,
                          "key": edit.serversKey ?? "", "gr": Self.gr, "wrapped": [String: [String]](), "emptyArgsAsAbsent": true])
        }
        XCTAssertEqual(try oracle(cases, tmp), Array(repeating: "ok", count: cases.count))
    }

    func testAFileThatDoesNotParseIsRefusedWithOneLine() throws {
        let bad = Fixtures.files(Self.corpus + "/bad", suffix: ".json")
        XCTAssertEqual(bad.count, 7)
        var cases = bad.map { ("bad/" + $0, try! Self.bytes("bad/" + $0)) }
        cases.append(("invalid-utf8", Array("{\"mcpServers\": {\"a\": {\"command\": \"/srv/\u{1}".utf8).dropLast() + [0xff, 0x22, 0x7d, 0x7d, 0x7d]))
        cases.append(("deep", Array(String(repeating: "[", count: 100_000).utf8)))
        for (name, bytes) in cases {
            let client = McpClient.of(path: "/x/claude_desktop_config.json", home: nil)
            guard case .failure(let error) = McpWrap.wrap(bytes, client: client, options: McpWrap.Options(guardedRun: Self.gr), venvOf: Self.venvOf) else {
                XCTFail("\(name) was not refused"); continue
            }
            XCTAssertFalse(error.message.isEmpty || error.message.contains("\n"), name)
            guard case .failure = McpWrap.unwrap(bytes, client: client) else { XCTFail("\(name): unwrap did not refuse"); continue }
        }
    }

    func testWrappedOutputIsGolden() throws {
        for name in Self.good {
            let edit = try wrap(name, Self.optionSets[0].options)
            Fixtures.assertGolden(String(decoding: edit.bytes, as: UTF8.self), "mcp/" + name.replacingOccurrences(of: "/", with: "__"))
        }
    }

    /// `McpWrap.wrap` and `McpWrap.unwrap` are the splicer's entry points a fuzz target calls.
    /// Seeded mutations of every corpus file (flipped, deleted, inserted and duplicated bytes,
    /// truncations): the splicer never traps, and either refuses or writes a file that reads back
    /// (our parser here; Python's json over a sample below) and unwraps to its input.
    func testMutatedConfigsAreRefusedOrSplicedValidly() throws {
        var rng = SplitMix(seed: 0x6d63_7077_7261_7031)
        let structural = Array("{}[],:\"\\/ *\n\tu0".utf8)
        let tmp = try TemporaryDirectory("mcp-mutations")
        defer { tmp.remove() }
        var sample: [[String: Any]] = []
        var accepted = 0, refused = 0
        for name in Self.good {
            let original = try Self.bytes(name)
            let client = Self.client(name)
            for round in 0..<400 {
                var b = original
                for _ in 0...(rng.next() % 3) {
                    guard !b.isEmpty else { break }
                    let at = Int(rng.next() % UInt64(b.count))
                    switch rng.next() % 5 {
                    case 0: b[at] = structural[Int(rng.next() % UInt64(structural.count))]
                    case 1: b.remove(at: at)
                    case 2: b.insert(structural[Int(rng.next() % UInt64(structural.count))], at: at)
                    case 3: b = Array(b[..<at])
                    default: b[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    }
                }
                switch McpWrap.wrap(b, client: client, options: Self.optionSets[round % 2].options, venvOf: Self.venvOf) {
                case .failure(let error):
                    refused += 1
                    XCTAssertFalse(error.message.contains("internal"), "\(name) round \(round): \(error)")
                case .success(let edit):
                    accepted += 1
                    XCTAssertNotNil(JSONValue.parseWithSpans(bytes: edit.bytes, comments: client.allowsComments), "\(name) round \(round)")
                    guard case .success(let undone) = McpWrap.unwrap(edit.bytes, client: client) else {
                        XCTFail("\(name) round \(round): wrapped output refused by unwrap"); continue
                    }
                    if edit.isChanged { XCTAssertEqual(undone.bytes, b, "\(name) round \(round)") }
                    if edit.isChanged && sample.count < 60 {
                        let path = tmp.file("m\(sample.count).json")
                        let before = tmp.file("m\(sample.count)-before.json")
                        try writeFileAtomically(path, edit.bytes)
                        try writeFileAtomically(before, b)
                        var wrapped: [String: [String]] = [:]
                        for e in edit.entries {
                            if case .wrapped(_, _, _, let now) = e.outcome, let dash = now.firstIndex(of: "--") {
                                wrapped[e.key] = Array(now[1...dash])
                            }
                        }
                        sample.append(["label": "\(name) round \(round)", "original": before, "edited": path,
                                       "jsonc": client.allowsComments, "key": edit.serversKey ?? "", "gr": Self.gr, "wrapped": wrapped])
                    }
                }
            }
        }
        // Unwrap over mutations of wrapped files: refused, or an edit that reads back.
        for name in Self.good {
            let wrapped = try wrap(name, Self.optionSets[1].options).bytes
            let client = Self.client(name)
            for round in 0..<300 {
                var b = wrapped
                for _ in 0...(rng.next() % 3) {
                    guard !b.isEmpty else { break }
                    let at = Int(rng.next() % UInt64(b.count))
                    if rng.next() % 2 == 0 { b[at] = structural[Int(rng.next() % UInt64(structural.count))] } else { b.remove(at: at) }
                }
                switch McpWrap.unwrap(b, client: client) {
                case .failure(let error): XCTAssertFalse(error.message.contains("internal"), "\(name) unwrap round \(round): \(error)")
                case .success(let edit): XCTAssertNotNil(JSONValue.parseWithSpans(bytes: edit.bytes, comments: client.allowsComments), "\(name) unwrap round \(round)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 100)
        XCTAssertEqual(try oracle(sample, tmp), Array(repeating: "ok", count: sample.count))
    }

    // MARK: Python

    /// JSON(C) loading in Python: comments and trailing commas removed outside strings (only when
    /// `jsonc`), objects as lists of pairs so key order and duplicates count.
    static let pythonJSONC = #"""
    import json

    def strip_jsonc(text):
        out, i, n = [], 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                j = i + 1
                while text[j] != '"':
                    j += 2 if text[j] == '\\' else 1
                out.append(text[i:j + 1]); i = j + 1; continue
            if text.startswith('//', i):
                j = text.find('\n', i); i = n if j < 0 else j; continue
            if text.startswith('/*', i):
                j = text.find('*/', i + 2)
                if j < 0: raise ValueError('unterminated comment')
                out.append(' '); i = j + 2; continue
            out.append(c); i += 1
        s = ''.join(out)
        out, i, n = [], 0, len(s)
        while i < n:
            c = s[i]
            if c == '"':
                j = i + 1
                while s[j] != '"':
                    j += 2 if s[j] == '\\' else 1
                out.append(s[i:j + 1]); i = j + 1; continue
            if c == ',':
                j = i + 1
                while j < n and s[j] in ' \t\r\n': j += 1
                if j < n and s[j] in '}]': i += 1; continue
            out.append(c); i += 1
        return ''.join(out)

    def load(path, jsonc, pairs=True):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if jsonc: text = strip_jsonc(text)
        return json.loads(text, object_pairs_hook=(lambda p: p) if pairs else None)

    """#

    /// Runs the oracle over `cases`; one "ok" or the first difference per case.
    func oracle(_ cases: [[String: Any]], _ tmp: TemporaryDirectory) throws -> [String] {
        let input = tmp.file("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: URL(fileURLWithPath: input))
        let r = TestSupport.run(testPython, ["-c", Self.pythonJSONC + #"""
        import sys

        def expect(original, case):
            key, gr, wrapped = case['key'], case['gr'], case['wrapped']
            out = []
            for k, v in original:
                if k != key:
                    out.append((k, v)); continue
                servers = []
                for name, entry in v:
                    if name in wrapped:
                        cmd = dict(entry)['command']
                        args = dict(entry).get('args')
                        new = []
                        for ek, ev in entry:
                            if ek == 'command':
                                new.append(('command', gr))
                                if args is None: new.append(('args', wrapped[name] + [cmd]))
                            elif ek == 'args':
                                new.append(('args', wrapped[name] + [cmd] + args))
                            else:
                                new.append((ek, ev))
                        entry = new
                    elif case.get('emptyArgsAsAbsent') and isinstance(entry, list):
                        entry = [(ek, ev) for ek, ev in entry if not (ek == 'args' and ev == [])]
                    servers.append((name, entry))
                out.append((k, servers))
            return out

        def normalize(doc, case):
            if not case.get('emptyArgsAsAbsent'): return doc
            return [(k, [(n, [(ek, ev) for ek, ev in e if not (ek == 'args' and ev == [])]) for n, e in v]) if k == case['key'] else (k, v) for k, v in doc]

        for case in json.load(open(sys.argv[1])):
            try:
                original = load(case['original'], case['jsonc'])
                edited = load(case['edited'], case['jsonc'])
                want = expect(original, case)
                got = normalize(edited, case)
                if got == want:
                    print('ok')
                else:
                    diff = next(((a, b) for a, b in zip(got, want) if a != b), (got, want))
                    print(case['label'] + ': ' + repr(diff)[:400])
            except Exception as e:
                print(case['label'] + ': ' + type(e).__name__ + ': ' + str(e)[:200])
        """#, input])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        return r.outputText.split(separator: "\n").map(String.init)
    }
}

/// A small deterministic generator (SplitMix64) for the seeded mutations.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
