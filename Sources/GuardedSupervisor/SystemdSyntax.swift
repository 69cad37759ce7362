import GuardedSystem

/// systemd's quoting rules for command lines (systemd.syntax(7) "Quoting", systemd.service(5)
/// "Command lines"), read both ways: split a value into words exactly as systemd does, and quote
/// a word so systemd reads it back unchanged.

/// One word of a systemd value: its text after unquoting and unescaping, and the byte range of
/// its raw form in the value it came from (so a rewrite can copy the original spelling).
public struct SystemdWord: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case word
        /// A bare `;` between commands (only meaningful in Exec*= lines).
        case commandSeparator
    }
    public var text: String
    public var kind: Kind
    public var rawStart: Int
    public var rawEnd: Int
}

/// A value systemd itself would reject while splitting it.
public struct SystemdSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum SystemdSyntax {
    /// Splits `value` the way systemd's `extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)` does
    /// for Exec*= lines: whitespace separates words; `'...'` and `"..."` quote (also in the middle
    /// of a word: `a"b c"d` is one word `ab cd`); C escapes (`\n`, `\x41`, `\101`, `\u00e9`, `\s`)
    /// are decoded in and out of quotes; an unknown escape is kept verbatim, as systemd does after
    /// its warning; a lone unquoted `;` separates commands and `\;` is a literal `;` word.
    /// Specifiers (`%n`) and `$VARIABLES` are left as written: systemd resolves those later.
    public static func split(_ value: String) throws(SystemdSyntaxError) -> [SystemdWord] {
        let b = Array(value.utf8)
        let n = b.count
        var words: [SystemdWord] = []
        var i = 0
        while true {
            while i < n && isWhitespace(b[i]) { i += 1 }
            if i == n { return words }
            let start = i
            let atSeparator = i + 1 == n || isWhitespace(b[i + 1])
            if b[i] == UInt8(ascii: ";") && atSeparator {
                words.append(SystemdWord(text: ";", kind: .commandSeparator, rawStart: i, rawEnd: i + 1))
                i += 1
                continue
            }
            if b[i] == UInt8(ascii: "\\") && i + 1 < n && b[i + 1] == UInt8(ascii: ";") && (i + 2 == n || isWhitespace(b[i + 2])) {
                words.append(SystemdWord(text: ";", kind: .word, rawStart: i, rawEnd: i + 2))
                i += 2
                continue
            }
            var out: [UInt8] = []
            var quote: UInt8 = 0
            while i < n {
                let c = b[i]
                if quote == 0 && isWhitespace(c) { break }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    if i == n {
                        // systemd keeps an unquoted trailing backslash (with a warning);
                        // inside quotes it is unbalanced quoting.
                        if quote != 0 { break }
                        out.append(c)
                        break
                    }
                    if let (bytes, length) = unescape(b, at: i) {
                        out.append(contentsOf: bytes)
                        i += length
                    } else {
                        out.append(UInt8(ascii: "\\"))
                        out.append(b[i])
                        i += 1
                    }
                    continue
                }
                if quote != 0 {
                    if c == quote { quote = 0 } else { out.append(c) }
                } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                    quote = c
                } else {
                    out.append(c)
                }
                i += 1
            }
            if quote != 0 { throw SystemdSyntaxError("unbalanced quoting") }
            words.append(SystemdWord(text: String(decoding: out, as: UTF8.self), kind: .word, rawStart: start, rawEnd: i))
        }
    }

    /// The words of `value` as plain strings (separators included as ";").
    public static func words(_ value: String) throws(SystemdSyntaxError) -> [String] {
        try split(value).map(\.text)
    }

    /// Quotes `word` so that systemd reads it back as exactly `word` in an Exec*= line (or, with
    /// `environmentExpansion: false`, in Environment= and other lines without `$` expansion).
    /// `%` is doubled everywhere (specifiers are resolved inside quotes too) and `$` is doubled
    /// where systemd expands variables. Plain words stay bare; anything else is double-quoted
    /// with C escapes.
    public static func quote(_ word: String, environmentExpansion: Bool = true) -> String {
        quote(word, doublingPercent: true, doublingDollar: environmentExpansion)
    }

    /// Quotes a word that came out of `split`, whose `%` specifiers and `$` variables are still
    /// written the way systemd reads them: only quotes and backslashes are added.
    public static func requote(_ splitWord: String) -> String {
        quote(splitWord, doublingPercent: false, doublingDollar: false)
    }

    static func quote(_ word: String, doublingPercent: Bool, doublingDollar: Bool) -> String {
        var escaped: [UInt8] = []
        var needsQuotes = word.isEmpty || word == ";"
        for c in word.utf8 {
            switch c {
            case UInt8(ascii: "%") where doublingPercent: escaped += [c, c]
            case UInt8(ascii: "$") where doublingDollar: escaped += [c, c]
            case UInt8(ascii: "\\"): escaped += [c, c]; needsQuotes = true
            case UInt8(ascii: "\""): escaped += [UInt8(ascii: "\\"), c]; needsQuotes = true
            case 10: escaped += Array("\\n".utf8); needsQuotes = true
            case 9: escaped += Array("\\t".utf8); needsQuotes = true
            case 13: escaped += Array("\\r".utf8); needsQuotes = true
            case 0..<32, 127:
                escaped += Array("\\x".utf8) + Array(hexString([c]).utf8)
                needsQuotes = true
            default:
                escaped.append(c)
                if !isPlain(c) { needsQuotes = true }
            }
        }
        let text = String(decoding: escaped, as: UTF8.self)
        return needsQuotes ? "\"" + text + "\"" : text
    }

    /// Words joined with single spaces, each quoted.
    public static func join(_ words: [String], environmentExpansion: Bool = true) -> String {
        words.map { quote($0, environmentExpansion: environmentExpansion) }.joined(separator: " ")
    }

    /// The Exec*= prefixes systemd.service(5) defines, in the order systemd accepts them: `-`, `@`,
    /// `:` once each, and one of `+`, `!`, `!!`. Returns the prefix characters at the start of
    /// an (unquoted) first word.
    public static func execPrefix(of firstWord: String) -> String {
        var prefix = ""
        var ignore = false, argv0 = false, noExpand = false, privilege = ""
        for ch in firstWord {
            if ch == "-" && !ignore { ignore = true }
            else if ch == "@" && !argv0 { argv0 = true }
            else if ch == ":" && !noExpand { noExpand = true }
            else if ch == "+" && privilege.isEmpty { privilege = "+" }
            else if ch == "!" && privilege.isEmpty { privilege = "!" }
            else if ch == "!" && privilege == "!" { privilege = "!!" }
            else { break }
            prefix.append(ch)
        }
        return prefix
    }

    static func isWhitespace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

    /// Bytes that need no quoting in any position after the first word's prefixes.
    static func isPlain(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"),
             UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "$"):
            return true
        default:
            return c >= 0x80
        }
    }

    /// systemd's `cunescape_one`: the bytes one escape (after its backslash, at `i`) stands for and
    /// how many bytes it used, or nil for an escape systemd does not know (or one that would be NUL).
    static func unescape(_ b: [UInt8], at i: Int) -> ([UInt8], Int)? {
        func hex(_ c: UInt8) -> Int? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - 55)
            default: return nil
            }
        }
        func hexNumber(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for k in from..<(from + count) {
                guard let d = hex(b[k]) else { return nil }
                v = v * 16 + d
            }
            return v
        }
        switch b[i] {
        case UInt8(ascii: "a"): return ([7], 1)
        case UInt8(ascii: "b"): return ([8], 1)
        case UInt8(ascii: "f"): return ([12], 1)
        case UInt8(ascii: "n"): return ([10], 1)
        case UInt8(ascii: "r"): return ([13], 1)
        case UInt8(ascii: "t"): return ([9], 1)
        case UInt8(ascii: "v"): return ([11], 1)
        case UInt8(ascii: "s"): return ([32], 1)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "?"): return ([b[i]], 1)
        case UInt8(ascii: "x"):
            guard let v = hexNumber(i + 1, 2), v != 0 else { return nil }
            return ([UInt8(v)], 3)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = b[i] == UInt8(ascii: "u") ? 4 : 8
            guard let v = hexNumber(i + 1, digits), v != 0, let scalar = Unicode.Scalar(UInt32(v)) else { return nil }
            return (Array(String(Character(scalar)).utf8), 1 + digits)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard i + 2 < b.count else { return nil }
            var v = 0
            for k in i..<(i + 3) {
                guard b[k] >= UInt8(ascii: "0") && b[k] <= UInt8(ascii: "7") else { return nil }
                v = v * 8 + Int(b[k] - 48)
            }
            guard v != 0, v <= 255 else { return nil }
            return ([UInt8(v)], 3)
        default:
            return nil
        }
    }
}
