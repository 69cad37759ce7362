/// Reads XML property lists: `<dict>`, `<array>`, `<string>`, `<key>`, `<integer>`, `<real>`,
/// `<true/>`, `<false/>`, `<date>`, `<data>`, empty forms (`<string/>`, `<dict/>`), the five
/// predefined entities and character references, CDATA, comments, processing instructions and
/// the DOCTYPE. It also records where each entry of the top-level dictionary stands in the
/// bytes, so a rewrite can splice one value and leave the rest of the file byte for byte.
public struct XMLPlist: Sendable {
    /// Byte ranges of one top-level entry: `<key>` starts at `keyStart`, its value spans
    /// `valueStart..<valueEnd`.
    public struct EntrySpan: Equatable, Sendable {
        public var key: String
        public var keyStart: Int
        public var valueStart: Int
        public var valueEnd: Int
    }

    public let root: PlistValue
    /// The top-level dictionary's entries, in file order (empty when the root is not a dict).
    public let spans: [EntrySpan]
    /// Where the top-level `</dict>` starts, and where its `<dict>` tag ends.
    public let rootDictClose: Int
    public let rootDictOpenEnd: Int

    public init(_ bytes: [UInt8]) throws(PlistError) {
        var parser = Parser(b: bytes)
        try parser.skipMisc()
        var wrapped = false
        if parser.peekTag() == "plist" {
            _ = try parser.openTag()
            wrapped = true
        }
        try parser.skipMisc()
        root = try parser.value(depth: 0)
        try parser.skipMisc()
        if wrapped { try parser.closeTag("plist"); try parser.skipMisc() }
        guard parser.i == bytes.count else { throw parser.error("unexpected content after the plist") }
        spans = parser.spans
        rootDictClose = parser.rootClose
        rootDictOpenEnd = parser.rootOpenEnd
    }

    struct Parser {
        let b: [UInt8]
        var i = 0
        var spans: [EntrySpan] = []
        var rootClose = -1
        var rootOpenEnd = -1

        init(b: [UInt8]) { self.b = b }

        func error(_ what: String) -> PlistError {
            var line = 1
            for k in 0..<min(i, b.count) where b[k] == 10 { line += 1 }
            return PlistError("line \(line): \(what)")
        }

        func starts(_ s: String, at k: Int? = nil) -> Bool {
            let at = k ?? i
            let u = Array(s.utf8)
            guard at + u.count <= b.count else { return false }
            for j in 0..<u.count where b[at + j] != u[j] { return false }
            return true
        }

        mutating func skip(past s: String) throws(PlistError) {
            while i < b.count && !starts(s) { i += 1 }
            guard i < b.count else { throw error("unterminated '\(s)'") }
            i += s.utf8.count
        }

        /// Whitespace, comments, processing instructions, DOCTYPE.
        mutating func skipMisc() throws(PlistError) {
            while i < b.count {
                let c = b[i]
                if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
                if starts("<!--") { try skip(past: "-->"); continue }
                if starts("<?") { try skip(past: "?>"); continue }
                if starts("<!DOCTYPE") {
                    // A DOCTYPE may carry an internal subset in brackets, with '>' inside it.
                    var inSubset = false
                    while i < b.count {
                        if b[i] == UInt8(ascii: "[") { inSubset = true }
                        else if b[i] == UInt8(ascii: "]") { inSubset = false }
                        else if b[i] == UInt8(ascii: ">") && !inSubset { break }
                        i += 1
                    }
                    guard i < b.count else { throw error("unterminated DOCTYPE") }
                    i += 1
                    continue
                }
                return
            }
        }

        /// The name of the tag at `i` (without consuming it), or nil when not at a start tag.
        func peekTag() -> String? {
            guard i < b.count, b[i] == UInt8(ascii: "<"), i + 1 < b.count, b[i + 1] != UInt8(ascii: "/") else { return nil }
            var k = i + 1
            while k < b.count, isNameByte(b[k]) { k += 1 }
            return String(decoding: b[(i + 1)..<k], as: UTF8.self)
        }

        func isNameByte(_ c: UInt8) -> Bool {
            !(c == 32 || c == 9 || c == 10 || c == 13 || c == UInt8(ascii: ">") || c == UInt8(ascii: "/"))
        }

        /// Consumes `<name attrs...>` or `<name .../>`; returns the name and whether it was empty.
        mutating func openTag() throws(PlistError) -> (String, Bool) {
            guard let name = peekTag() else { throw error("expected an element") }
            i += 1 + name.utf8.count
            var quote: UInt8 = 0
            while i < b.count {
                let c = b[i]
                if quote != 0 { if c == quote { quote = 0 } }
                else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { quote = c }
                else if c == UInt8(ascii: ">") {
                    i += 1
                    return (name, b[i - 2] == UInt8(ascii: "/"))
                }
                i += 1
            }
            throw error("unterminated <\(name)>")
        }

        mutating func closeTag(_ name: String) throws(PlistError) {
            guard starts("</" + name) else { throw error("expected </\(name)>") }
            i += 2 + name.utf8.count
            while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: ">") else { throw error("malformed </\(name)>") }
            i += 1
        }

        /// Character data up to `</name>`: entities decoded, CDATA copied, comments skipped,
        /// line ends normalized to `\n` as an XML reader must.
        mutating func text(_ name: String) throws(PlistError) -> [UInt8] {
            var out: [UInt8] = []
            while true {
                guard i < b.count else { throw error("unterminated <\(name)>") }
                let c = b[i]
                if c == UInt8(ascii: "<") {
                    if starts("<!--") { try skip(past: "-->"); continue }
                    if starts("<![CDATA[") {
                        let start = i + 9
                        try skip(past: "]]>")
                        out.append(contentsOf: normalizeLineEnds(Array(b[start..<(i - 3)])))
                        continue
                    }
                    try closeTag(name)
                    return out
                }
                if c == UInt8(ascii: "&") {
                    out.append(contentsOf: try entity())
                    continue
                }
                if c == 13 {
                    out.append(10)
                    i += 1
                    if i < b.count && b[i] == 10 { i += 1 }
                    continue
                }
                out.append(c)
                i += 1
            }
        }

        func normalizeLineEnds(_ s: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            var k = 0
            while k < s.count {
                if s[k] == 13 { out.append(10); if k + 1 < s.count && s[k + 1] == 10 { k += 1 } } else { out.append(s[k]) }
                k += 1
            }
            return out
        }

        mutating func entity() throws(PlistError) -> [UInt8] {
            let start = i
            while i < b.count && b[i] != UInt8(ascii: ";") && i - start < 12 { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: ";") else { i = start; throw error("malformed entity") }
            let name = String(decoding: b[(start + 1)..<i], as: UTF8.self)
            i += 1
            switch name {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                var code: UInt32? = nil
                if name.hasPrefix("#x") || name.hasPrefix("#X") { code = UInt32(name.dropFirst(2), radix: 16) }
                else if name.hasPrefix("#") { code = UInt32(name.dropFirst(1)) }
                guard let code, code != 0, let scalar = Unicode.Scalar(code) else {
                    i = start
                    throw error("unknown entity '&\(name);'")
                }
                return Array(String(Character(scalar)).utf8)
            }
        }

        func trimmed(_ bytes: [UInt8]) -> String {
            var s = bytes[...]
            while let f = s.first, f == 32 || f == 9 || f == 10 || f == 13 { s.removeFirst() }
            while let l = s.last, l == 32 || l == 9 || l == 10 || l == 13 { s.removeLast() }
            return String(decoding: s, as: UTF8.self)
        }

        mutating func value(depth: Int) throws(PlistError) -> PlistValue {
            guard depth < 64 else { throw error("nesting too deep") }
            let (name, empty) = try openTag()
            switch name {
            case "string":
                return .string(empty ? "" : String(decoding: try text(name), as: UTF8.self))
            case "integer":
                let t = empty ? "" : trimmed(try text(name))
                guard isInteger(t) else { throw error("bad <integer> '\(t)'") }
                return .integer(t)
            case "real":
                let t = empty ? "" : trimmed(try text(name))
                guard !t.isEmpty else { throw error("empty <real>") }
                return .real(t)
            case "date":
                let t = empty ? "" : trimmed(try text(name))
                guard !t.isEmpty else { throw error("empty <date>") }
                return .date(t)
            case "data":
                let raw = empty ? [] : try text(name)
                guard let bytes = PlistWriter.decodeBase64(raw) else { throw error("bad base64 in <data>") }
                return .data(bytes)
            case "true", "false":
                if !empty { try skipMisc(); try closeTag(name) }
                return .boolean(name == "true")
            case "array":
                var items: [PlistValue] = []
                if empty { return .array(items) }
                while true {
                    try skipMisc()
                    if starts("</") { try closeTag("array"); return .array(items) }
                    items.append(try value(depth: depth + 1))
                }
            case "dict":
                var entries: [PlistEntry] = []
                if empty {
                    if depth == 0 { rootOpenEnd = i; rootClose = i }
                    return .dictionary(entries)
                }
                if depth == 0 { rootOpenEnd = i }
                while true {
                    try skipMisc()
                    if starts("</") {
                        if depth == 0 { rootClose = i }
                        try closeTag("dict")
                        return .dictionary(entries)
                    }
                    let keyStart = i
                    let (tag, emptyKey) = try openTag()
                    guard tag == "key" else { throw error("expected <key> in <dict>, found <\(tag)>") }
                    let key = emptyKey ? "" : String(decoding: try text("key"), as: UTF8.self)
                    try skipMisc()
                    let valueStart = i
                    let v = try value(depth: depth + 1)
                    if depth == 0 { spans.append(EntrySpan(key: key, keyStart: keyStart, valueStart: valueStart, valueEnd: i)) }
                    entries.append(PlistEntry(key, v))
                }
            default:
                throw error("unknown element <\(name)>")
            }
        }

        func isInteger(_ t: String) -> Bool {
            var body = Substring(t)
            if body.hasPrefix("-") || body.hasPrefix("+") { body = body.dropFirst() }
            if body.hasPrefix("0x") || body.hasPrefix("0X") { return !body.dropFirst(2).isEmpty && body.dropFirst(2).allSatisfy(\.isHexDigit) }
            return !body.isEmpty && body.allSatisfy { $0 >= "0" && $0 <= "9" }
        }
    }
}
