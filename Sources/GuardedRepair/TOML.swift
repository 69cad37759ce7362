import GuardedSystem

/// A TOML value as the strict reader returns it. Dates and times are kept as their text: the lock
/// files only carry them as information (upload times), never as something a rebuild depends on.
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case datetime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var arrayValue: [TOMLValue]? { if case .array(let a) = self { return a }; return nil }
    public var tableValue: TOMLTable? { if case .table(let t) = self { return t }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }

    public subscript(key: String) -> TOMLValue? { tableValue?.values[key] }
}

/// A table: its keys in document order and their values.
public struct TOMLTable: Equatable, Sendable {
    public var keys: [String] = []
    public var values: [String: TOMLValue] = [:]
    public init() {}
    public subscript(key: String) -> TOMLValue? { values[key] }
}

/// Why a document was refused: one line, with the line number.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads the TOML that uv.lock, pylock.toml and pyproject.toml use: tables, arrays of tables,
/// dotted keys, inline tables, arrays, basic and literal strings (multi-line too), integers,
/// booleans, dates and times (kept as text). Refuses floats, and anything malformed, with one
/// line and the line number. Bounded: documents over `maxBytes`, nesting deeper than `maxDepth`
/// and strings over `maxBytes` are refused; nothing in here traps on any input (the fuzz target
/// calls this function).
public func parseTOML(_ bytes: [UInt8], maxBytes: Int = 16 << 20, maxDepth: Int = 32) -> Result<TOMLTable, TOMLError> {
    guard bytes.count <= maxBytes else { return .failure(TOMLError(line: 0, message: "larger than \(maxBytes) bytes")) }
    var reader = TOMLReader(bytes: bytes, maxDepth: maxDepth)
    do {
        try reader.document()
        return .success(reader.root.value().tableValue ?? TOMLTable())
    } catch {
        return .failure(error)
    }
}

/// The mutable tree while reading: tables are shared references so that `[a.b]` after `[a]` can
/// reach the table `[a]` made. Never leaves this file.
private final class Node {
    enum Kind { case value(TOMLValue), table(TableNode), tableArray([TableNode]), array([Node]) }
    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    func value() -> TOMLValue {
        switch kind {
        case .value(let v): return v
        case .table(let t): return .table(t.value())
        case .tableArray(let list): return .array(list.map { .table($0.value()) })
        case .array(let items): return .array(items.map { $0.value() })
        }
    }
}

private final class TableNode {
    var keys: [String] = []
    var children: [String: Node] = [:]
    /// Made by a `[header]` of its own (a second one is an error).
    var defined = false
    /// Made by a dotted key inside another table's body: no `[header]` may open it again.
    var dotted = false
    /// An inline table: closed once written.
    var frozen = false

    func value() -> TOMLTable {
        var t = TOMLTable()
        t.keys = keys
        for k in keys { if let c = children[k] { t.values[k] = c.value() } }
        return t
    }

    func insert(_ key: String, _ node: Node) { keys.append(key); children[key] = node }
}

private struct TOMLReader {
    let bytes: [UInt8]
    let maxDepth: Int
    var i = 0
    var line = 1
    let root: Node
    private let rootTable: TableNode

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        rootTable = TableNode()
        root = Node(.table(rootTable))
    }

    func fail(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

    var atEnd: Bool { i >= bytes.count }
    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
    func peek(_ offset: Int) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }

    mutating func document() throws(TOMLError) {
        // A UTF-8 byte order mark is allowed at the very start.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        var current = rootTable
        while true {
            skipBlanks()
            guard let c = peek else { return }
            if c == UInt8(ascii: "#") { try comment() } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                try newline()
                continue
            } else if c == UInt8(ascii: "[") {
                current = try header()
            } else {
                try keyValue(into: current, depth: 1)
            }
            try endOfLine()
        }
    }

    // MARK: lines and blanks

    mutating func skipBlanks() {
        while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1 }
    }

    mutating func comment() throws(TOMLError) {
        i += 1
        while let c = peek, c != UInt8(ascii: "\n") {
            if c == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { break }
            if (c < 0x20 && c != UInt8(ascii: "\t")) || c == 0x7F { throw fail("a control character in a comment") }
            i += 1
        }
    }

    mutating func newline() throws(TOMLError) {
        if peek == UInt8(ascii: "\r") {
            guard peek(1) == UInt8(ascii: "\n") else { throw fail("a carriage return without a line feed") }
            i += 1
        }
        i += 1
        line += 1
    }

    /// After a key/value pair or a header: blanks, an optional comment, then a newline or the end.
    mutating func endOfLine() throws(TOMLError) {
        skipBlanks()
        if peek == UInt8(ascii: "#") { try comment() }
        guard let c = peek else { return }
        guard c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") else { throw fail("unexpected text after a value: \(describe(c))") }
        try newline()
    }

    /// Blanks, newlines and comments, inside an array.
    mutating func skipArraySpace() throws(TOMLError) {
        while let c = peek {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1 } else if c == UInt8(ascii: "#") { try comment() } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                try newline()
            } else { return }
        }
    }

    func describe(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte \(c)"
    }

    // MARK: keys and tables

    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            guard let c = peek else { throw fail("a key was expected") }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                parts.append(try string(quote: c, multiline: false))
            } else {
                let start = i
                while let b = peek, isBareKey(b) { i += 1 }
                guard i > start else { throw fail("a key was expected, found \(describe(c))") }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            guard parts.count <= maxDepth else { throw fail("a key nested deeper than \(maxDepth)") }
            skipBlanks()
            if peek == UInt8(ascii: ".") { i += 1; continue }
            return parts
        }
    }

    func isBareKey(_ b: UInt8) -> Bool {
        ASCII.isWordByte(b) || b == UInt8(ascii: "-")
    }

    mutating func header() throws(TOMLError) -> TableNode {
        i += 1
        let isArray = peek == UInt8(ascii: "[")
        if isArray { i += 1 }
        let path = try key()
        guard peek == UInt8(ascii: "]") else { throw fail("a table header must end with ]") }
        i += 1
        if isArray {
            guard peek == UInt8(ascii: "]") else { throw fail("an array-of-tables header must end with ]]") }
            i += 1
        }
        var table = rootTable
        for (n, part) in path.enumerated() {
            let last = n == path.count - 1
            if let existing = table.children[part] {
                switch existing.kind {
                case .table(let t):
                    if last && isArray { throw fail("\(path.joined(separator: ".")) is a table, not an array of tables") }
                    if t.frozen { throw fail("\(path.joined(separator: ".")): an inline table cannot be extended") }
                    if last {
                        if t.defined || t.dotted { throw fail("table \(path.joined(separator: ".")) is defined twice") }
                        t.defined = true
                    }
                    table = t
                case .tableArray(var list):
                    if last && !isArray { throw fail("\(path.joined(separator: ".")) is an array of tables, not a table") }
                    if last {
                        let t = TableNode()
                        t.defined = true
                        list.append(t)
                        existing.kind = .tableArray(list)
                        table = t
                    } else {
                        guard let t = list.last else { throw fail("an empty array of tables") }
                        table = t
                    }
                case .value, .array:
                    throw fail("\(path.prefix(n + 1).joined(separator: ".")) is already a value")
                }
            } else {
                let t = TableNode()
                if last && isArray {
                    t.defined = true
                    table.insert(part, Node(.tableArray([t])))
                } else {
                    t.defined = last
                    table.insert(part, Node(.table(t)))
                }
                table = t
            }
        }
        return table
    }

    mutating func keyValue(into table: TableNode, depth: Int) throws(TOMLError) {
        let path = try key()
        guard peek == UInt8(ascii: "=") else { throw fail("'=' was expected after the key \(path.joined(separator: "."))") }
        i += 1
        skipBlanks()
        let node = try value(depth: depth)
        var target = table
        for part in path.dropLast() {
            if let existing = target.children[part] {
                // Only a table that dotted keys made may be extended by more dotted keys.
                guard case .table(let t) = existing.kind, !t.frozen, t.dotted else {
                    throw fail("\(path.joined(separator: ".")): \(part) is already defined")
                }
                target = t
            } else {
                let t = TableNode()
                t.dotted = true
                target.insert(part, Node(.table(t)))
                target = t
            }
        }
        guard let last = path.last else { throw fail("a key was expected") }
        if target.children[last] != nil { throw fail("the key \(path.joined(separator: ".")) is defined twice") }
        target.insert(last, node)
    }

    // MARK: values

    mutating func value(depth: Int) throws(TOMLError) -> Node {
        guard depth <= maxDepth else { throw fail("values nested deeper than \(maxDepth)") }
        guard let c = peek else { throw fail("a value was expected") }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return Node(.value(.string(try string(quote: c, multiline: peek(1) == c && peek(2) == c))))
        case UInt8(ascii: "["):
            return try array(depth: depth)
        case UInt8(ascii: "{"):
            return try inlineTable(depth: depth)
        default:
            return Node(.value(try scalar()))
        }
    }

    mutating func array(depth: Int) throws(TOMLError) -> Node {
        i += 1
        var items: [Node] = []
        while true {
            try skipArraySpace()
            guard let c = peek else { throw fail("an array is not closed") }
            if c == UInt8(ascii: "]") { i += 1; return Node(.array(items)) }
            items.append(try value(depth: depth + 1))
            try skipArraySpace()
            guard let d = peek else { throw fail("an array is not closed") }
            if d == UInt8(ascii: ",") { i += 1; continue }
            guard d == UInt8(ascii: "]") else { throw fail("',' or ']' was expected in an array, found \(describe(d))") }
        }
    }

    mutating func inlineTable(depth: Int) throws(TOMLError) -> Node {
        i += 1
        let table = TableNode()
        skipBlanks()
        if peek == UInt8(ascii: "}") {
            i += 1
            table.frozen = true
            return Node(.table(table))
        }
        while true {
            skipBlanks()
            try keyValue(into: table, depth: depth + 1)
            skipBlanks()
            guard let c = peek else { throw fail("an inline table is not closed") }
            if c == UInt8(ascii: ",") { i += 1; continue }
            guard c == UInt8(ascii: "}") else { throw fail("',' or '}' was expected in an inline table, found \(describe(c))") }
            i += 1
            freeze(table)
            return Node(.table(table))
        }
    }

    func freeze(_ t: TableNode) {
        t.frozen = true
        for c in t.children.values { if case .table(let sub) = c.kind { freeze(sub) } }
    }

    /// Integers, booleans, dates and times; floats and the rest are refused.
    mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = peek, !(c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")
                              || c == UInt8(ascii: "#") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")) { i += 1 }
        // A local date-time may have a space instead of the T: `1979-05-27 07:32:00`.
        if i - start == 10, peek == UInt8(ascii: " "), let d = peek(1), ASCII.isDigit(d), let e = peek(2), ASCII.isDigit(e), peek(3) == UInt8(ascii: ":") {
            i += 1
            while let c = peek, !(c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")
                                  || c == UInt8(ascii: "#") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")) { i += 1 }
        }
        let token = Array(bytes[start..<i])
        let text = String(decoding: token, as: UTF8.self)
        if token.isEmpty { throw fail("a value was expected") }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let n = integer(token) { return .integer(n) }
        if isDateTime(token) { return .datetime(text) }
        if text.contains(".") || text.contains("e") || text.contains("E") || text.hasSuffix("inf") || text.hasSuffix("nan") {
            throw fail("floating-point numbers are not read here: \(text.prefix(40))")
        }
        throw fail("not a TOML value: \(text.prefix(40))")
    }

    func integer(_ t: [UInt8]) -> Int64? {
        var s = t[...]
        var negative = false
        var radix: Int64 = 10
        if let f = s.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") {
            negative = f == UInt8(ascii: "-")
            s = s.dropFirst()
        } else if s.count > 2, s.first == UInt8(ascii: "0") {
            switch s[s.startIndex + 1] {
            case UInt8(ascii: "x"): radix = 16
            case UInt8(ascii: "o"): radix = 8
            case UInt8(ascii: "b"): radix = 2
            default: break
            }
            if radix != 10 { s = s.dropFirst(2) }
        }
        guard let first = s.first, first != UInt8(ascii: "_"), s.last != UInt8(ascii: "_") else { return nil }
        // Leading zeros are not allowed in decimal integers.
        if radix == 10, s.count > 1, first == UInt8(ascii: "0") { return nil }
        var value: Int64 = 0
        var previousUnderscore = false
        for c in s {
            if c == UInt8(ascii: "_") {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            let digit: Int64
            switch c {
            case 0x30...0x39: digit = Int64(c - 0x30)
            case 0x61...0x66: digit = Int64(c - 0x61 + 10)
            case 0x41...0x46: digit = Int64(c - 0x41 + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            // Accumulated negative so that Int64.min is reachable.
            let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = a
        }
        return value
    }

    /// RFC 3339 shapes TOML allows: a date, a time, a date and time, with optional fraction and offset.
    func isDateTime(_ t: [UInt8]) -> Bool {
        func digits(_ s: ArraySlice<UInt8>, _ n: Int) -> Bool { s.count >= n && s.prefix(n).allSatisfy(ASCII.isDigit) }
        var s = t[...]
        var sawDate = false
        if digits(s, 4), s.count >= 10, s[s.startIndex + 4] == UInt8(ascii: "-"), digits(s.dropFirst(5), 2),
           s[s.startIndex + 7] == UInt8(ascii: "-"), digits(s.dropFirst(8), 2) {
            sawDate = true
            s = s.dropFirst(10)
            if s.isEmpty { return true }
            guard let sep = s.first, sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return false }
            s = s.dropFirst()
        }
        guard digits(s, 2), s.count >= 8, s[s.startIndex + 2] == UInt8(ascii: ":"), digits(s.dropFirst(3), 2),
              s[s.startIndex + 5] == UInt8(ascii: ":"), digits(s.dropFirst(6), 2) else { return false }
        s = s.dropFirst(8)
        if s.first == UInt8(ascii: ".") {
            s = s.dropFirst()
            let n = s.prefix(while: ASCII.isDigit).count
            guard n > 0 else { return false }
            s = s.dropFirst(n)
        }
        if s.isEmpty { return true }
        guard sawDate else { return false }
        if s.count == 1, s.first == UInt8(ascii: "Z") || s.first == UInt8(ascii: "z") { return true }
        guard s.count == 6, let sign = s.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
              digits(s.dropFirst(), 2), s[s.startIndex + 3] == UInt8(ascii: ":"), digits(s.dropFirst(4), 2) else { return false }
        return true
    }

    // MARK: strings

    /// One character of a string's content, checked: control characters other than tab are refused.
    mutating func contentByte(allowNewline: Bool) throws(TOMLError) -> UInt8 {
        guard let c = peek else { throw fail("a string is not closed") }
        if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
            guard allowNewline else { throw fail("a newline in a single-line string") }
            try newline()
            return UInt8(ascii: "\n")
        }
        if (c < 0x20 && c != UInt8(ascii: "\t")) || c == 0x7F { throw fail("a control character in a string") }
        i += 1
        return c
    }

    /// A basic string (`"`, with escapes) or a literal one (`'`, without), single- or multi-line
    /// (`"""`, `'''`); the reader is at its opening `quote`.
    mutating func string(quote: UInt8, multiline: Bool) throws(TOMLError) -> String {
        i += multiline ? 3 : 1
        var out: [UInt8] = []
        if multiline { try skipFirstNewline() }
        while true {
            guard let c = peek else { throw fail("a string is not closed") }
            if c == quote {
                if !multiline { i += 1; return try utf8(out) }
                if peek(1) == quote, peek(2) == quote {
                    // Up to two quotes may end the content right before the closing three.
                    var extra = 0
                    while extra < 2, peek(3 + extra) == quote { extra += 1 }
                    out += Array(repeating: quote, count: extra)
                    i += 3 + extra
                    return try utf8(out)
                }
                out.append(c)
                i += 1
                continue
            }
            if c == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                i += 1
                guard let e = peek else { throw fail("a string is not closed") }
                if multiline, e == UInt8(ascii: " ") || e == UInt8(ascii: "\t") || e == UInt8(ascii: "\n") || e == UInt8(ascii: "\r") {
                    // A line-ending backslash: the newline and the blanks after it go.
                    skipBlanks()
                    guard peek == UInt8(ascii: "\n") || peek == UInt8(ascii: "\r") else { throw fail("a backslash followed by blanks, not at the end of a line") }
                    try skipArrayLikeWhitespace()
                    continue
                }
                i += 1
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "u"): out += try unicodeEscape(4)
                case UInt8(ascii: "U"): out += try unicodeEscape(8)
                default: throw fail("an unknown escape \\\(Character(Unicode.Scalar(e)))")
                }
                continue
            }
            out.append(try contentByte(allowNewline: multiline))
            if out.count > bytes.count { throw fail("a string longer than the document") }
        }
    }

    mutating func skipArrayLikeWhitespace() throws(TOMLError) {
        while let c = peek {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1 } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { try newline() } else { return }
        }
    }

    mutating func skipFirstNewline() throws(TOMLError) {
        if peek == UInt8(ascii: "\n") || (peek == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n")) { try newline() }
    }

    mutating func unicodeEscape(_ count: Int) throws(TOMLError) -> [UInt8] {
        var scalar: UInt32 = 0
        for _ in 0..<count {
            guard let c = peek else { throw fail("a string is not closed") }
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw fail("a bad \\u escape")
            }
            // At most 8 hex digits: 0xFFFFFFFF fits, no overflow.
            scalar = scalar &* 16 &+ d
            i += 1
        }
        guard let u = Unicode.Scalar(scalar) else { throw fail("\\u escape of a value that is not a Unicode scalar") }
        return Array(String(Character(u)).utf8)
    }

    func utf8(_ bytes: [UInt8]) throws(TOMLError) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return s
    }
}
