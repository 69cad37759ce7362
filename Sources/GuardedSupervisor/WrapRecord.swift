import GuardedSystem
import GuardedSnapshot

/// The record `wrap launchd` leaves in a plist it rewrites, as an XML comment before the
/// `<plist>` element (launchd, plutil and plistlib all skip comments there): the SHA-256 of the
/// file as wrap wrote it (without the comment), the original file, and the KeepAlive and
/// ThrottleInterval values wrap set. With it `unwrap` restores a file unchanged since wrap byte
/// for byte (a binary plist comes back binary), and in a file edited since reverses only what
/// wrap itself set. It needs no state directory, so it survives a different `--state-dir` or a
/// file copied to another machine.
struct WrapRecord: Equatable {
    var sha256: String
    var original: [UInt8]
    var wrote: [PlistEntry]

    static let opening = "<!-- guarded-run wrap record"
    /// Larger originals get no record (unwrap then reverses the changes instead): launchd jobs
    /// are a few KB, and the record doubles the file.
    static let maximumOriginal = 1 << 20
    /// The only keys a record may name: a planted record cannot make unwrap touch anything else.
    static let recordedKeys: Set<String> = ["KeepAlive", "ThrottleInterval"]

    init(original: [UInt8], wrapped: [UInt8], wrote: [PlistEntry]) {
        self.sha256 = SHA256.hex(wrapped)
        self.original = original
        self.wrote = wrote
    }

    init(sha256: String, original: [UInt8], wrote: [PlistEntry]) {
        self.sha256 = sha256
        self.original = original
        self.wrote = wrote
    }

    var comment: String {
        func wrapped(_ text: String) -> String {
            var out = ""
            var line = ""
            for ch in text {
                line.append(ch)
                if line.count == 76 { out += line + "\n"; line = "" }
            }
            return out + (line.isEmpty ? "" : line + "\n")
        }
        return Self.opening + ": 'guarded-run unwrap launchd' restores this plist from it; do not edit this comment.\n"
            + "sha256 " + sha256 + "\n"
            + "original\n" + wrapped(PlistWriter.base64(original))
            + "wrote\n" + wrapped(PlistWriter.base64(Array(PlistWriter.document(.dictionary(wrote)).utf8)))
            + "-->\n"
    }

    /// `bytes` with the record inserted after the XML declaration (or first, without one); nil
    /// when the original is too large or the result would not read back as `root` with this
    /// record in it.
    func attached(to bytes: [UInt8], root: PlistValue) -> [UInt8]? {
        guard original.count <= Self.maximumOriginal else { return nil }
        var at = 0
        if bytes.starts(with: Array("<?xml".utf8)), let end = Self.search(Array("?>".utf8), in: bytes, from: 0) {
            at = end + 2
            if at + 1 < bytes.count && bytes[at] == 13 && bytes[at + 1] == 10 { at += 2 } else if at < bytes.count && bytes[at] == 10 { at += 1 }
        }
        let result = Array(bytes[..<at]) + Array(comment.utf8) + Array(bytes[at...])
        guard let found = Self.find(in: result), found.record == self,
              let check = try? PlistDocument(result), check.root == root else { return nil }
        return result
    }

    /// The record in `bytes` and the byte range of its comment (with the newline after it);
    /// `record` is nil when the comment is there but cannot be read.
    static func find(in bytes: [UInt8]) -> (range: Range<Int>, record: WrapRecord?)? {
        guard let start = search(Array(opening.utf8), in: bytes, from: 0) else { return nil }
        guard let close = search(Array("-->".utf8), in: bytes, from: start) else { return (start..<bytes.count, nil) }
        var end = close + 3
        if end < bytes.count && bytes[end] == 10 { end += 1 }
        return (start..<end, parse(Array(bytes[start..<close])))
    }

    static func parse(_ body: [UInt8]) -> WrapRecord? {
        let lines = body.split(separator: 10, omittingEmptySubsequences: false).map { Array($0) }
        guard lines.count >= 4, lines[1].starts(with: Array("sha256 ".utf8)) else { return nil }
        let hash = String(decoding: lines[1].dropFirst(7), as: UTF8.self)
        guard hash.utf8.count == 64, hash.utf8.allSatisfy(ASCII.isLowerHexDigit) else { return nil }
        guard lines[2] == Array("original".utf8), let wroteAt = lines.firstIndex(of: Array("wrote".utf8)), wroteAt > 2 else { return nil }
        guard let original = PlistWriter.decodeBase64(Array(lines[3..<wroteAt].joined())),
              let wroteXML = PlistWriter.decodeBase64(Array(lines[(wroteAt + 1)...].joined())),
              let wroteDocument = try? PlistDocument(wroteXML), let wrote = wroteDocument.root.entries,
              wrote.allSatisfy({ recordedKeys.contains($0.key) }) else { return nil }
        return WrapRecord(sha256: hash, original: original, wrote: wrote)
    }

    static func search(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
