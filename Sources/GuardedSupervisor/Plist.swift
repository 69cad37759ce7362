import GuardedSystem

/// A property-list value as launchd reads it. Numbers and dates keep their text so that writing a
/// plist back never changes a value through a round trip (`<real>1.50</real>` stays `1.50`).
public indirect enum PlistValue: Equatable, Sendable {
    case string(String)
    /// Decimal text (an unsigned 64-bit value may not fit an Int64).
    case integer(String)
    case real(String)
    case boolean(Bool)
    /// ISO 8601 UTC text, `2026-01-31T12:00:00Z`.
    case date(String)
    case data([UInt8])
    case array([PlistValue])
    /// Keys in the order the file has them.
    case dictionary([PlistEntry])

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [PlistValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var entries: [PlistEntry]? { if case .dictionary(let d) = self { return d } else { return nil } }
    public var boolean: Bool? { if case .boolean(let b) = self { return b } else { return nil } }
    public var integer: Int? { if case .integer(let t) = self { return Int(t) } else { return nil } }

    /// The value under `key` of a dictionary.
    public subscript(key: String) -> PlistValue? {
        entries?.first(where: { $0.key == key })?.value
    }

    /// An array of strings, or nil when this is anything else.
    public var strings: [String]? {
        guard let a = array else { return nil }
        var out: [String] = []
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }
}

public struct PlistEntry: Equatable, Sendable {
    public var key: String
    public var value: PlistValue
    public init(_ key: String, _ value: PlistValue) { self.key = key; self.value = value }
}

/// A plist that could not be read, with where.
public struct PlistError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Writes plists as Apple's XML format (the same layout `plutil -convert xml1` produces:
/// tab indentation, one element per line).
public enum PlistWriter {
    public static let header = """
    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
    <plist version="1.0">

    """

    public static func document(_ root: PlistValue) -> String {
        header + element(root, indent: "") + "\n</plist>\n"
    }

    /// One value as XML, its first line not indented (the caller places it), later lines
    /// indented by `indent` plus their depth.
    public static func element(_ value: PlistValue, indent: String) -> String {
        switch value {
        case .string(let s): return "<string>\(escape(s))</string>"
        case .integer(let t): return "<integer>\(t)</integer>"
        case .real(let t): return "<real>\(t)</real>"
        case .boolean(let b): return b ? "<true/>" : "<false/>"
        case .date(let t): return "<date>\(t)</date>"
        case .data(let bytes):
            let encoded = base64(bytes)
            var text = "<data>\n"
            var i = encoded.startIndex
            while i < encoded.endIndex {
                let end = encoded.index(i, offsetBy: 68, limitedBy: encoded.endIndex) ?? encoded.endIndex
                text += indent + encoded[i..<end] + "\n"
                i = end
            }
            return text + indent + "</data>"
        case .array(let items):
            if items.isEmpty { return "<array/>" }
            var text = "<array>\n"
            for item in items { text += indent + "\t" + element(item, indent: indent + "\t") + "\n" }
            return text + indent + "</array>"
        case .dictionary(let entries):
            if entries.isEmpty { return "<dict/>" }
            var text = "<dict>\n"
            for e in entries {
                text += indent + "\t<key>\(escape(e.key))</key>\n"
                text += indent + "\t" + element(e.value, indent: indent + "\t") + "\n"
            }
            return text + indent + "</dict>"
        }
    }

    /// XML character escapes: `&`, `<`, `>`, and a carriage return (which an XML reader would
    /// otherwise turn into a newline).
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(base64Alphabet[Int(b0 >> 2)])
            out.append(base64Alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? base64Alphabet[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? base64Alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64, ignoring whitespace; nil for anything else.
    public static func decodeBase64(_ text: [UInt8]) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c + 4)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): padding += 1
            case 32, 9, 10, 13: continue
            default: return nil
            }
            if padding > 0 && c != UInt8(ascii: "=") { return nil }
        }
        guard (values.count + padding) % 4 == 0 || padding == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}
