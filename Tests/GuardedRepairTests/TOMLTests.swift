import Foundation
import GuardedRepair
import GuardedSystem
import TestSupport
import XCTest

/// The strict TOML reader against Python's `tomllib` as an independent oracle: on every document
/// of a corpus (hand-written cases, lock-file shapes, and seeded mutations of them) both must
/// refuse, or both must read the same values. Floats are the one thing tomllib reads and this
/// reader refuses on purpose, with integers beyond 64 bits (TOML says
/// an implementation must refuse those it cannot represent).
final class TOMLTests: XCTestCase {
    static let corpus: [String] = [
        "",
        "# only a comment\n",
        "a = 1\nb = -2\nc = +3\nd = 0\ne = 1_000\nf = 0xDEAD_beef\ng = 0o755\nh = 0b1010\n",
        "big = 9223372036854775807\nsmall = -9223372036854775808\n",
        "over = 9223372036854775808\n",
        "lead = 012\n",
        "t = true\nf = false\n",
        "s = \"tab\\tnew\\nquote\\\" back\\\\ u\\u00e9 U\\U0001F600\"\n",
        "s = 'C:\\path\\no escapes'\n",
        "s = \"\"\"\nfirst\nsecond \\\n   joined\"\"\"\n",
        "s = '''\nraw \\n kept\n'''\n",
        "s = \"\"\"two quotes at the end\"\"\"\"\"\n",
        "s = \"bad \\q escape\"\n",
        "s = \"unterminated\n",
        "s = \"new\nline\"\n",
        "a = [1, 2, 3]\nb = [\n  \"x\", # comment\n  \"y\",\n]\nc = []\nd = [[1, 2], [\"a\"]]\n",
        "a = [1, 2\n",
        "a = [1,,2]\n",
        "p = { x = 1, y = \"two\", z = { w = true } }\nq = {}\n",
        "p = { x = 1, }\n",
        "p = { x = 1\n}\n",
        "[a]\nx = 1\n[a.b]\ny = 2\n[c.d.e]\nz = 3\n",
        "[a]\nx = 1\n[a]\ny = 2\n",
        "[[p]]\nname = \"one\"\n[[p]]\nname = \"two\"\n[p.sub]\nk = 1\n[[p.deps]]\nn = 1\n",
        "[a]\n[[a]]\n",
        "x = 1\nx = 2\n",
        "a.b.c = 1\na.b.d = 2\na.e = 3\n",
        "a.b = 1\n[a]\nc = 2\n",
        "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
        "[fruit]\napple.color = \"red\"\n[fruit.apple]\nx = 1\n",
        "p = { x = 1 }\n[p]\ny = 2\n",
        "p = { x = 1 }\np.y = 2\n",
        "\"quoted key\" = 1\n'literal key' = 2\n\"\" = 3\nbare-key_1 = 4\n",
        "a . b = 1\n",
        "key = \n",
        "= 1\n",
        "a = 1 b = 2\n",
        "a = 1 # trailing comment\n",
        "a = 1\r\nb = 2\r\n",
        "a = 1\rb = 2\n",
        "d1 = 1979-05-27T07:32:00Z\nd2 = 1979-05-27T00:32:00.999999-07:00\nd3 = 1979-05-27T07:32:00\nd4 = 1979-05-27\nd5 = 07:32:00\nd6 = 1979-05-27 07:32:00\n",
        "f = 3.14\n",
        "f = 1e6\n",
        "f = inf\n",
        "a = tru\n",
        "a = \"\\u00\"\n",
        "a = \"\\uD800\"\n",
        "[a.b]\n[a]\nc = 1\n",
        "[a.b]\n[a.b]\n",
        "[ a . \"b c\" ]\nx = 1\n",
        "[]\n",
        "[a\n",
        "[[a]\n",
        "x = [ { a = 1 }, { b = [ 2, 3 ] } ]\n",
        "arr = [1]\n[[arr]]\n",
        // uv.lock's shape (revision 3).
        """
        version = 1
        revision = 3
        requires-python = ">=3.11"

        [[package]]
        name = "certifi"
        version = "2024.8.30"
        source = { registry = "https://pypi.org/simple" }
        sdist = { url = "https://files.pythonhosted.org/packages/certifi-2024.8.30.tar.gz", hash = "sha256:bec9", size = 168507, upload-time = "2024-08-30T01:55:04.365Z" }
        wheels = [
            { url = "https://files.pythonhosted.org/packages/certifi-2024.8.30-py3-none-any.whl", hash = "sha256:922", size = 167321, upload-time = "2024-08-30T01:55:02.591Z" },
        ]

        [[package]]
        name = "mail-agent"
        version = "0.1.0"
        source = { editable = "." }
        dependencies = [
            { name = "certifi" },
            { name = "requests", marker = "sys_platform != 'win32'" },
        ]

        [package.optional-dependencies]
        fast = [{ name = "orjson" }]

        [package.dev-dependencies]
        dev = [{ name = "pytest" }]

        [package.metadata]
        requires-dist = [{ name = "certifi", specifier = ">=2024" }]

        """,
        // pylock.toml's shape (PEP 751).
        """
        lock-version = "1.0"
        environments = ["sys_platform == 'linux'"]
        requires-python = "==3.11.*"
        created-by = "uv"

        [[packages]]
        name = "attrs"
        version = "25.1.0"
        index = "https://pypi.org/simple"
        wheels = [{ name = "attrs-25.1.0-py3-none-any.whl", upload-time = 2025-01-25T11:30:10Z, url = "https://x/attrs.whl", size = 63152, hashes = { sha256 = "c75a" } }]

        [[packages]]
        name = "local"
        directory = { path = ".", editable = true }

        [[packages]]
        name = "viavcs"
        vcs = { type = "git", url = "https://github.com/o/r", commit-id = "0123456789abcdef" }

        [tool.x]
        y = 1
        """,
        // pyproject.toml's shape.
        """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "mail-agent"
        version = "0.1.0"
        description = '''A "mail" agent'''
        dependencies = [
          "requests>=2.31",  # http
          "attrs",
        ]
        authors = [{ name = "Ops", email = "ops@example.org" }]

        [project.optional-dependencies]
        dev = ["pytest"]

        [tool.setuptools.packages.find]
        where = ["src"]
        """,
    ]

    /// Seeded mutations of the corpus: a byte deleted, duplicated, or replaced by a TOML metacharacter.
    static func mutations(count: Int) -> [String] {
        var rng = SplitMix(seed: 0x70_6D_6C)
        let alphabet = Array("[]{}=\"',.#\n \\x1-_tT:".utf8)
        var out: [String] = []
        let sources = corpus.filter { $0.utf8.count > 4 }
        while out.count < count {
            var bytes = Array(sources[Int(rng.next() % UInt64(sources.count))].utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(bytes[at], at: at)
                default: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
                if bytes.isEmpty { bytes = [0x20] }
            }
            out.append(String(decoding: bytes, as: UTF8.self))
        }
        return out
    }

    func testAgreesWithTomllib() throws {
        let documents = Self.corpus + Self.mutations(count: 1500)
        let expected = try oracle(documents)
        XCTAssertEqual(expected.count, documents.count)
        var accepted = 0, refused = 0
        for (doc, want) in zip(documents, expected) {
            let got: String
            switch parseTOML(Array(doc.utf8)) {
            case .success(let t): got = canonical(.table(t)); accepted += 1
            case .failure(let e):
                got = "ERR"
                refused += 1
                XCTAssertFalse(e.description.contains("\n"), "one line: \(e)")
            }
            if want.contains("X:") {
                XCTAssertEqual(got, "ERR", "a float or an integer beyond 64 bits must be refused: \(doc.debugDescription)")
            } else {
                XCTAssertEqual(got, want, "document: \(doc.debugDescription)")
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 100)
    }

    func testLimitsAreOneLineAndNoTrap() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case .failure(let e) = parseTOML(Array(("a = " + deep + "\n").utf8)) else { return XCTFail("depth") }
        XCTAssertTrue(e.message.contains("deeper"), e.message)
        let dotted = (0..<1000).map { _ in "a" }.joined(separator: ".") + " = 1\n"
        guard case .failure = parseTOML(Array(dotted.utf8)) else { return XCTFail("dotted depth") }
        guard case .failure = parseTOML(Array("a = 1\n".utf8), maxBytes: 3) else { return XCTFail("size") }
        // Arbitrary bytes: never a trap.
        var rng = SplitMix(seed: 42)
        for _ in 0..<3000 {
            let n = Int(rng.next() % 64)
            _ = parseTOML((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        guard case .failure(let line) = parseTOML(Array("a = 1\nb = [\n1,\n2\nc = 3\n".utf8)) else { return XCTFail() }
        XCTAssertEqual(line.line, 5, "the line of the error: \(line)")
    }

    /// tomllib's reading of each document, in the canonical text `canonical` produces, or ERR.
    func oracle(_ documents: [String]) throws -> [String] {
        let tmp = try TemporaryDirectory("toml")
        defer { tmp.remove() }
        let input = try JSONSerialization.data(withJSONObject: documents)
        try input.write(to: URL(fileURLWithPath: tmp.file("docs.json")))
        try tmp.write("oracle.py", #"""
            import sys, json, tomllib, datetime
            def canon(v):
                if isinstance(v, bool): return "B:" + ("true" if v else "false")
                if isinstance(v, int): return "I:" + str(v) if -2**63 <= v < 2**63 else "X:"
                if isinstance(v, float): return "X:"
                if isinstance(v, str): return "S:" + v.encode().hex()
                if isinstance(v, (datetime.datetime, datetime.date, datetime.time)): return "D"
                if isinstance(v, list): return "[" + ",".join(canon(x) for x in v) + "]"
                if isinstance(v, dict):
                    return "{" + ",".join(k.encode().hex() + "=" + canon(v[k]) for k in sorted(v, key=lambda k: k.encode().hex())) + "}"
                raise TypeError(type(v))
            out = []
            for d in json.load(open(sys.argv[1])):
                try:
                    out.append(canon(tomllib.loads(d)))
                except tomllib.TOMLDecodeError:
                    out.append("ERR")
            json.dump(out, open(sys.argv[2], "w"))
            """#)
        let r = TestSupport.run(testPython, [tmp.file("oracle.py"), tmp.file("docs.json"), tmp.file("out.json")])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let data = try Data(contentsOf: URL(fileURLWithPath: tmp.file("out.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String])
    }

    func canonical(_ v: TOMLValue) -> String {
        func hex(_ s: String) -> String { s.utf8.map { String(format: "%02x", $0) }.joined() }
        switch v {
        case .bool(let b): return "B:" + (b ? "true" : "false")
        case .integer(let n): return "I:\(n)"
        case .string(let s): return "S:" + hex(s)
        case .datetime: return "D"
        case .array(let a): return "[" + a.map(canonical).joined(separator: ",") + "]"
        case .table(let t):
            let keys = t.keys.sorted { hex($0) < hex($1) }
            return "{" + keys.map { hex($0) + "=" + canonical(t.values[$0]!) }.joined(separator: ",") + "}"
        }
    }
}

/// A small deterministic generator (splitmix64), so a failing mutation is the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
