import GuardedCore
import GuardedSystem
import XCTest

final class FormatTests: XCTestCase {
    func testJSONRoundTripAndEscapes() throws {
        let value = JSONValue.object([
            ("s", .string("quote \" backslash \\ newline \n tab \t bell \u{7} é 🐍")),
            ("n", .number(-12.5)), ("i", .number(42)), ("b", .bool(true)), ("z", .null),
            ("a", .array([.number(1), .string("x"), .object([])])),
        ])
        let text = value.serialized()
        XCTAssertFalse(text.contains("\n"))
        XCTAssertEqual(JSONValue.parse(text), value)
        XCTAssertEqual(JSONValue.parse(value.serialized(pretty: true)), value)
        XCTAssertEqual(text, #"{"s":"quote \" backslash \\ newline \n tab \t bell \u0007 é 🐍","n":-12.5,"i":42,"b":true,"z":null,"a":[1,"x",{}]}"#)
    }

    /// The byte-buffer serializer and the parser's no-escape fast path, at their edges.
    func testJSONBytesEdges() throws {
        let value = JSONValue.object([
            ("k\u{1}\r", .string("del \u{7f} cr \r x\u{1f}")), ("", .string("")),
            ("neg", .number(-7)), ("zero", .number(0)), ("big", .number(8_999_999_999_999_999)),
            ("huge", .number(1e20)), ("frac", .number(0.25)), ("a", .array([.array([]), .bool(false)])),
        ])
        let text = value.serialized()
        XCTAssertEqual(text, #"{"k\u0001\r":"del \u007f cr \r x\u001f","":"","neg":-7,"zero":0,"big":8999999999999999,"huge":1e+20,"frac":0.25,"a":[[],false]}"#)
        XCTAssertEqual(value.serializedBytes(), Array(text.utf8))
        XCTAssertEqual(JSONValue.parse(text), value)
        XCTAssertEqual(JSONValue.object([("a", .array([.number(1)]))]).serialized(pretty: true), "{\n  \"a\": [\n    1\n  ]\n}")
        XCTAssertEqual(JSONValue.quoted("a\"b"), #""a\"b""#)
        // Plain bytes before an escape, invalid UTF-8 repaired, a raw control character refused.
        XCTAssertEqual(JSONValue.parse(#"["plain then \n escape","é"]"#), .array([.string("plain then \n escape"), .string("é")]))
        XCTAssertEqual(JSONValue.parse(bytes: [0x22, 0x61, 0xff, 0x22]), .string("a\u{fffd}"))
        XCTAssertNil(JSONValue.parse(bytes: [0x22, 0x61, 0x0a, 0x22]))
    }

    func testJSONRejectsGarbage() {
        for bad in ["", "{", "[1,]", "{\"a\"}", "nul", "\"unterminated", "01x", "{\"a\":1}x", "[\"\\ud800\"]",
                    String(repeating: "[", count: 1000)] {
            XCTAssertNil(JSONValue.parse(bad), bad)
        }
        XCTAssertEqual(JSONValue.parse("\"\\ud83d\\udc0d\""), .string("🐍"))
    }

    /// Where objects and arrays open, continue and close: empty ones, whitespace and comments
    /// around their commas, a JSONC trailing comma (refused in strict JSON), a comment that never
    /// ends, and the spans recorded for each container.
    func testJSONContainerEdges() throws {
        XCTAssertEqual(JSONValue.parse(" { } "), .object([]))
        XCTAssertEqual(JSONValue.parse("[ [ ] , { \"a\" : [ 1 , 2 ] } ]"), .array([.array([]), .object([("a", .array([.number(1), .number(2)]))])]))
        for bad in ["[1 2]", "{\"a\":1 \"b\":2}", "[1,", "{\"a\":1,", "[1}", "{\"a\":1]", "{,}", "[,]", "{\"a\":1,}"] {
            XCTAssertNil(JSONValue.parse(bad), bad)
            XCTAssertNil(JSONValue.parseWithSpans(bytes: Array(bad.utf8)), bad)
        }
        let jsonc = "{ // c\n \"a\": [1, /* c */ 2, ] , \"b\": {\"x\": [],\n}, }"
        XCTAssertNil(JSONValue.parseWithSpans(bytes: Array(jsonc.utf8)))
        let (value, span) = try XCTUnwrap(JSONValue.parseWithSpans(bytes: Array(jsonc.utf8), comments: true))
        XCTAssertEqual(value, .object([("a", .array([.number(1), .number(2)])), ("b", .object([("x", .array([]))]))]))
        XCTAssertEqual(span.range, 0..<jsonc.utf8.count)
        let bytes = Array(jsonc.utf8)
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        let a = try XCTUnwrap(span.member("a")), b = try XCTUnwrap(span.member("b"))
        XCTAssertEqual(text(a.keyRange), "\"a\"")
        XCTAssertEqual(text(a.value.range), "[1, /* c */ 2, ]")
        XCTAssertEqual(a.value.elements.map { text($0.range) }, ["1", "2"])
        XCTAssertEqual(text(b.value.range), "{\"x\": [],\n}")
        XCTAssertEqual(b.value.member("x").map { text($0.value.range) }, "[]")
        for bad in ["[1, /* open", "{\"a\": 1, /* open", "[ /* open", "{ /* open", "[1,,]", "{\"a\":1,,}", "[1] /* open"] {
            XCTAssertNil(JSONValue.parseWithSpans(bytes: Array(bad.utf8), comments: true), bad)
        }
    }

    func testRFC3339() {
        XCTAssertEqual(Clock.rfc3339(seconds: 0), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(Clock.rfc3339(seconds: 951_782_400, nanoseconds: 123_456_789), "2000-02-29T00:00:00.123456Z")
        XCTAssertEqual(Clock.rfc3339(seconds: 1_795_619_851), "2026-11-25T15:17:31.000000Z")
        for s: Int64 in [0, 86399, 951_782_400, 1_795_619_851, 4_102_444_800] {
            XCTAssertEqual(Clock.parseRFC3339(Clock.rfc3339(seconds: s)), Double(s))
        }
    }

    func testDefaultAgentName() {
        XCTAssertEqual(defaultAgentName(venv: "/srv/agents/mail/.venv"), "mail")
        XCTAssertEqual(defaultAgentName(venv: "/srv/venvs/calendar-sync"), "calendar-sync")
        XCTAssertEqual(defaultAgentName(venv: "/home/me/My Agent/venv"), "My-Agent")
        XCTAssertEqual(defaultAgentName(venv: "/.venv"), "agent")
    }

    func testAgentAndModuleNames() {
        XCTAssertTrue(isValidAgentName("mail-sync@2.x_y"))
        for bad in ["", ".hidden", "a/b", "a b", "../x", String(repeating: "a", count: 129)] { XCTAssertFalse(isValidAgentName(bad), bad) }
        XCTAssertTrue(isValidModuleName("pkg.sub_mod"))
        for bad in ["", "1x", "a..b", "a.", "a-b", "a b"] { XCTAssertFalse(isValidModuleName(bad), bad) }
    }

    func testStateKeyIsStableReadableAndDistinct() {
        let a = StateDirectory.key(for: "/home/me/agents/mail/.venv")
        XCTAssertTrue(a.hasPrefix("home-me-agents-mail-.venv-"), a)
        XCTAssertEqual(a, StateDirectory.key(for: "/home/me/agents/mail/.venv"))
        XCTAssertNotEqual(a, StateDirectory.key(for: "/home/me/agents/mail/_venv"))
        XCTAssertFalse(StateDirectory.key(for: "/../../etc").contains("/"))
    }

    func testHealthRecordLine() throws {
        let r = HealthRecord(agent: "mail", venv: "/v", status: "broken", decision: .failedClosed,
                             reasons: ["interpreter-missing: bin/python -> /x: No such file or directory"],
                             checkMicroseconds: 1234, time: "2026-11-25T00:00:00.000000Z")
        let line = r.jsonLine()
        XCTAssertTrue(line.hasSuffix("}\n"))
        let json = try XCTUnwrap(JSONValue.parse(String(line.dropLast())))
        XCTAssertEqual(json["decision"], .string("failed-closed"))
        XCTAssertEqual(json["check_us"]?.intValue, 1234)
        XCTAssertEqual(json["version"], .string(guardedRunVersion))
        XCTAssertEqual(json["reasons"]?.arrayValue?.count, 1)
    }
}
