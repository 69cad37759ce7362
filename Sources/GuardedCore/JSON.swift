import GuardedSystem

/// A JSON value with a parser and a serializer, Foundation-free. Objects keep their key order
/// (so output is stable and reads in the order we wrote it).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    // MARK: access

    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first(where: { $0.0 == key })?.1
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var doubleValue: Double? { if case .number(let n) = self { return n }; return nil }
    public var intValue: Int? {
        guard case .number(let n) = self, n.isFinite, n == n.rounded(), abs(n) < 9.0e15 else { return nil }
        return Int(n)
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }

    // MARK: building

    public init(_ string: String) { self = .string(string) }
    public init(_ int: Int) { self = .number(Double(int)) }
    public init(_ bool: Bool) { self = .bool(bool) }
    public init(_ strings: [String]) { self = .array(strings.map { .string($0) }) }
    public static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    // MARK: serializing

    /// Compact JSON on one line (for JSONL); `pretty` indents by two spaces.
    public func serialized(pretty: Bool = false) -> String {
        String(decoding: serializedBytes(pretty: pretty), as: UTF8.self)
    }

    /// `serialized(pretty:)` as UTF-8 bytes, built in one byte buffer (no per-character String appends).
    public func serializedBytes(pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        func newline(_ depth: Int) {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
        }
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let n): JSONValue.appendNumber(n, to: &out)
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]".utf8; return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(indent + 1) }
                item.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(indent + 1) }
                JSONValue.appendQuoted(key, to: &out)
                out += (pretty ? ": " : ":").utf8
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func formatNumber(_ n: Double) -> String {
        if !n.isFinite { return "null" }
        if n == n.rounded() && abs(n) < 9.0e15 { return String(Int64(n)) }
        return String(n)
    }

    /// `formatNumber` into a byte buffer; integers (the common case) digit by digit, without a String.
    static func appendNumber(_ n: Double, to out: inout [UInt8]) {
        guard n.isFinite, n == n.rounded(), abs(n) < 9.0e15 else { out += formatNumber(n).utf8; return }
        var v = Int64(n)
        if v < 0 { out.append(UInt8(ascii: "-")); v = -v }
        var digits: (UInt64, UInt64) = (0, 0) // up to 16 digits, filled from the end
        withUnsafeMutableBytes(of: &digits) { d in
            var i = 16
            repeat { i -= 1; d[i] = UInt8(48 + v % 10); v /= 10 } while v > 0
            out.append(contentsOf: d[i...])
        }
    }

    /// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped.
    public static func appendQuoted(_ s: String, to out: inout String) {
        var bytes: [UInt8] = []
        appendQuoted(s, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `appendQuoted` into a byte buffer. Runs of bytes that need no escape are copied whole; every
    /// byte to escape is ASCII, so working on UTF-8 bytes rather than scalars changes nothing.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var run = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == 0x7f {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i]))
                run = i + 1
                switch c {
                case UInt8(ascii: "\""): out += "\\\"".utf8
                case UInt8(ascii: "\\"): out += "\\\\".utf8
                case UInt8(ascii: "\n"): out += "\\n".utf8
                case UInt8(ascii: "\r"): out += "\\r".utf8
                case UInt8(ascii: "\t"): out += "\\t".utf8
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out += "\\u00".utf8
                    out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    // MARK: parsing

    /// Parses one JSON document; nil for anything malformed (our state may be garbage: a miss, not a crash).
    public static func parse(_ text: String) -> JSONValue? {
        parse(bytes: Array(text.utf8))
    }

    public static func parse(bytes: [UInt8]) -> JSONValue? {
        var parser = JSONParser(bytes: bytes)
        guard let value = parser.parseValue(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.index == bytes.count ? value : nil
    }

    /// Parses one document and records where every value lies in `bytes`, for editors that splice
    /// new text into a file and keep every other byte. `comments` accepts JSONC as VS Code writes
    /// it: `//` and `/* */` comments and a trailing comma before `}` or `]`. Nil for anything else
    /// malformed, as `parse`.
    public static func parseWithSpans(bytes: [UInt8], comments: Bool = false) -> (JSONValue, JSONSpan)? {
        var parser = JSONParser(bytes: bytes, comments: comments, recordSpans: true)
        guard let value = parser.parseValue(depth: 0), let span = parser.lastSpan else { return nil }
        guard parser.skipWhitespace() else { return nil }
        return parser.index == bytes.count ? (value, span) : nil
    }
}

/// Where a parsed value lies in its document: `range` covers the value's own bytes (a string's
/// quotes included); an object lists its members with their keys' ranges, an array its elements.
public struct JSONSpan: Sendable {
    public struct Member: Sendable {
        public var key: String
        public var keyRange: Range<Int>
        public var value: JSONSpan
    }
    public var range: Range<Int>
    public var members: [Member] = []
    public var elements: [JSONSpan] = []

    /// The first member named `key` (callers that care refuse duplicates themselves).
    public func member(_ key: String) -> Member? { members.first { $0.key == key } }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    let comments: Bool
    let recordSpans: Bool
    /// The span of the value parsed last (only when recording).
    var lastSpan: JSONSpan?

    init(bytes: [UInt8], comments: Bool = false, recordSpans: Bool = false) {
        self.bytes = bytes
        self.comments = comments
        self.recordSpans = recordSpans
    }

    /// Skips whitespace (and comments in JSONC mode); false for a comment that never ends.
    @discardableResult
    mutating func skipWhitespace() -> Bool {
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") || c == UInt8(ascii: "\t") { index += 1; continue }
            guard comments, c == UInt8(ascii: "/"), index + 1 < bytes.count else { return true }
            if bytes[index + 1] == UInt8(ascii: "/") {
                index += 2
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else if bytes[index + 1] == UInt8(ascii: "*") {
                index += 2
                while true {
                    guard index + 1 < bytes.count else { index = bytes.count; return false }
                    if bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/") { index += 2; break }
                    index += 1
                }
            } else {
                return true
            }
        }
        return true
    }

    /// Past a container's opening bracket: true when an item follows, false when `close` follows
    /// at once (and past it), nil for a comment that never ends.
    mutating func enterContainer(closing close: UInt8) -> Bool? {
        index += 1
        guard skipWhitespace() else { return nil }
        guard index < bytes.count, bytes[index] == close else { return true }
        index += 1
        return false
    }

    /// After an object's member or an array's element: true past a comma when another item
    /// follows, false past `close` (in JSONC mode also past a trailing comma before it), nil for
    /// anything else.
    mutating func nextItem(closing close: UInt8) -> Bool? {
        guard skipWhitespace(), index < bytes.count else { return nil }
        let c = bytes[index]
        guard c == UInt8(ascii: ",") || c == close else { return nil }
        index += 1
        if c == close { return false }
        guard comments, skipWhitespace(), index < bytes.count, bytes[index] == close else { return true }
        index += 1
        return false
    }

    mutating func parseValue(depth: Int) -> JSONValue? {
        guard depth < 256 else { return nil }
        guard skipWhitespace(), index < bytes.count else { return nil }
        guard recordSpans else { return parseBareValue(depth: depth) }
        let start = index
        let value = parseBareValue(depth: depth)
        switch value {
        case .object?, .array?: break // their spans are recorded by parseObject and parseArray
        case nil: return nil
        default: lastSpan = JSONSpan(range: start..<index)
        }
        return value
    }

    mutating func parseBareValue(depth: Int) -> JSONValue? {
        switch bytes[index] {
        case UInt8(ascii: "{"): return parseObject(depth: depth)
        case UInt8(ascii: "["): return parseArray(depth: depth)
        case UInt8(ascii: "\""): return parseString().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return parseNumber()
        }
    }

    mutating func literal(_ word: String, _ value: JSONValue) -> JSONValue? {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w else { return nil }
        index += w.count
        return value
    }

    mutating func parseObject(depth: Int) -> JSONValue? {
        let start = index
        var pairs: [(String, JSONValue)] = []
        var members: [JSONSpan.Member] = []
        var more = enterContainer(closing: UInt8(ascii: "}"))
        while more == true {
            guard skipWhitespace() else { return nil }
            let keyStart = index
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = parseString() else { return nil }
            let keyEnd = index
            guard skipWhitespace(), index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = parseValue(depth: depth + 1) else { return nil }
            pairs.append((key, value))
            if recordSpans, let span = lastSpan { members.append(JSONSpan.Member(key: key, keyRange: keyStart..<keyEnd, value: span)) }
            more = nextItem(closing: UInt8(ascii: "}"))
        }
        guard more != nil else { return nil }
        if recordSpans { lastSpan = JSONSpan(range: start..<index, members: members) }
        return .object(pairs)
    }

    mutating func parseArray(depth: Int) -> JSONValue? {
        let start = index
        var items: [JSONValue] = []
        var elements: [JSONSpan] = []
        var more = enterContainer(closing: UInt8(ascii: "]"))
        while more == true {
            guard let value = parseValue(depth: depth + 1) else { return nil }
            items.append(value)
            if recordSpans, let span = lastSpan { elements.append(span) }
            more = nextItem(closing: UInt8(ascii: "]"))
        }
        guard more != nil else { return nil }
        if recordSpans { lastSpan = JSONSpan(range: start..<index, elements: elements) }
        return .array(items)
    }

    mutating func parseString() -> String? {
        index += 1
        // The common case, a string without escapes, becomes a String straight from the input.
        // (Invalid UTF-8 is repaired with U+FFFD either way.)
        let start = index
        while index < bytes.count, bytes[index] >= 0x20, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { return nil }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard index < bytes.count else { return nil }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "u"):
                guard var code = hex4() else { return nil }
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                    index += 2
                    guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { return nil }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: return nil
            }
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            guard let digit = ASCII.hexValue(c) else { return nil }
            let d = UInt32(digit)
            v = v * 16 + d
        }
        return v
    }

    mutating func parseNumber() -> JSONValue? {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let first = index
        var digits = 0
        while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1; digits += 1 }
        // RFC 8259: no leading zeros ("012" is not a number, and Python's json refuses it too).
        guard digits > 0, digits == 1 || bytes[first] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var frac = 0
            while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1; frac += 1 }
            guard frac > 0 else { return nil }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            var exp = 0
            while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1; exp += 1 }
            guard exp > 0 else { return nil }
        }
        guard let n = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
        return .number(n)
    }
}
