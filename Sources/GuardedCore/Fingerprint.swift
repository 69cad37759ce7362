import GuardedSystem

/// One watched path and what `lstat` said about it when the last full check passed.
/// Every entry is compared with lstat: a hop of the interpreter's symlink chain is a link, its final
/// target is a file; a symlink where a file was recorded (or the reverse) is a different mode: a miss.
public struct WatchEntry: Equatable, Sendable {
    public var path: String
    public var status: FileStatus

    public init(path: String, status: FileStatus) {
        self.path = path
        self.status = status
    }

    /// Re-stats the path; true only when it is still the same file with the same times.
    @inline(__always)
    public func stillMatches() -> Bool {
        fileStatusIfPresent(path)?.sameIdentityAndTimes(as: status) == true
    }
}

/// The cached result of the last passing full check of one venv for one set of `--import` modules:
/// the watch list, and the status and reasons to log when it still matches.
///
/// On disk (text, so an operator can read it; written atomically, 0600):
/// ```
/// guarded-run fingerprint 1
/// venv <path>
/// imports <module>,<module>
/// status healthy|degraded
/// checked <RFC 3339 time of the full check>
/// reason <text>                                   (zero or more)
/// watch <dev> <ino> <mode> <size> <mtime-ns> <ctime-ns> <path>
/// end <FNV-1a 64 of every byte before this line, hex>
/// ```
/// Fields are separated by one space; paths and reasons come last on their line with `\`, newline and
/// tab escaped. Anything else (truncated, wrong version, bad checksum, a field that does not parse)
/// decodes to nil: a cache miss.
public struct Fingerprint: Equatable, Sendable {
    /// Bumped whenever the format or the meaning of the watch list changes; older caches then miss.
    public static let formatVersion = 1
    /// The first line; the raw fast path compares it byte for byte (tests hold it to `formatVersion`).
    static let headerLiteral: StaticString = "guarded-run fingerprint 1"
    static let header = headerLiteral.description

    public var venv: String
    public var imports: [String]
    public var status: String
    public var checkedAt: String
    public var reasons: [String]
    public var entries: [WatchEntry]

    public init(venv: String, imports: [String], status: String, checkedAt: String, reasons: [String], entries: [WatchEntry]) {
        self.venv = venv
        self.imports = imports
        self.status = status
        self.checkedAt = checkedAt
        self.reasons = reasons
        self.entries = entries
    }

    /// True when every watched path still has the recorded identity and times.
    public func stillMatches() -> Bool {
        for entry in entries where !entry.stillMatches() { return false }
        return true
    }

    /// The cache file for `venv` and this import set, inside the state directory.
    public static func cachePath(state: StateDirectory, venv: String, imports: [String]) -> String {
        state.venvDirectory(for: venv) + "/fingerprint-" + importsKey(imports)
    }

    /// `none`, or a hash of the sorted, de-duplicated module list.
    public static func importsKey(_ imports: [String]) -> String {
        let set = Array(Set(imports)).sorted()
        return set.isEmpty ? "none" : String(fnv1a64Hex(set.joined(separator: ",")).prefix(12))
    }

    // MARK: encoding

    public func encoded() -> String {
        var text = Fingerprint.header + "\n"
        text += "venv " + escapeField(venv) + "\n"
        text += "imports " + escapeField(Array(Set(imports)).sorted().joined(separator: ",")) + "\n"
        text += "status " + status + "\n"
        text += "checked " + checkedAt + "\n"
        for r in reasons { text += "reason " + escapeField(r) + "\n" }
        for e in entries {
            let s = e.status
            text += "watch \(s.device) \(s.inode) \(s.mode) \(s.size) \(s.mtimeNs) \(s.ctimeNs) " + escapeField(e.path) + "\n"
        }
        let sum = fnv1a64(text.utf8)
        let hex = String(sum, radix: 16)
        return text + "end " + String(repeating: "0", count: 16 - hex.count) + hex + "\n"
    }

    /// Decodes the cache file's bytes; nil for anything that is not exactly what `encoded()` writes.
    /// Byte-level on purpose: this runs on every agent start, and Character-level String work here
    /// cost more than all the lstat calls together.
    public static func decode(_ bytes: [UInt8]) -> Fingerprint? {
        bytes.withUnsafeBufferPointer { decode(buffer: $0) }
    }

    static func decode(buffer b: UnsafeBufferPointer<UInt8>) -> Fingerprint? {
        let n = b.count
        // The checksum line is last; every byte before it is covered.
        guard n > 24, b[n - 1] == 0x0a else { return nil }
        var endStart = n - 2
        while endStart > 0 && b[endStart] != 0x0a { endStart -= 1 }
        guard endStart > 0, n - endStart - 2 == 4 + 16,
              b[endStart + 1] == UInt8(ascii: "e"), b[endStart + 2] == UInt8(ascii: "n"),
              b[endStart + 3] == UInt8(ascii: "d"), b[endStart + 4] == 0x20 else { return nil }
        var expected: UInt64 = 0
        for k in (endStart + 5)..<(n - 1) {
            let c = b[k]
            let d: UInt64
            switch c {
            case 48...57: d = UInt64(c - 48)
            case 97...102: d = UInt64(c - 87)
            default: return nil
            }
            expected = expected << 4 | d
        }
        var sum: UInt64 = 0xcbf29ce484222325
        for k in 0...endStart { sum = (sum ^ UInt64(b[k])) &* 0x100000001b3 }
        guard sum == expected else { return nil }

        var fp = Fingerprint(venv: "", imports: [], status: "", checkedAt: "", reasons: [], entries: [])
        fp.entries.reserveCapacity(32)
        var lineStart = 0
        var lineNumber = 0
        var sawVenv = false
        while lineStart <= endStart {
            var lineEnd = lineStart
            while b[lineEnd] != 0x0a { lineEnd += 1 }
            defer { lineStart = lineEnd + 1; lineNumber += 1 }
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<lineEnd])
            if lineNumber == 0 {
                guard line.elementsEqual(headerBytes) else { return nil }
                continue
            }
            guard let space = line.firstIndex(of: 0x20) else { return nil }
            let key = UnsafeBufferPointer(rebasing: line[0..<space])
            let value = UnsafeBufferPointer(rebasing: line[(space + 1)...])
            switch key.count {
            case 5 where key.elementsEqual("watch".utf8):
                var cursor = 0
                func number() -> Int64? {
                    var v: Int64 = 0
                    var digits = 0
                    while cursor < value.count, value[cursor] != 0x20 {
                        let c = value[cursor]
                        guard c >= 48, c <= 57, digits < 19 else { return nil }
                        v = v * 10 + Int64(c - 48)
                        digits += 1
                        cursor += 1
                    }
                    guard digits > 0, cursor < value.count else { return nil }
                    cursor += 1
                    return v
                }
                guard let dev = number(), let ino = number(), let mode = number(), let size = number(),
                      let m = number(), let c = number(), cursor < value.count, value[cursor] == 0x2f,
                      mode <= Int64(UInt32.max) else { return nil }
                let path = fieldString(UnsafeBufferPointer(rebasing: value[cursor...]))
                fp.entries.append(WatchEntry(path: path, status: FileStatus(
                    device: UInt64(dev), inode: UInt64(ino), mode: UInt32(mode), linkCount: 0, uid: 0, gid: 0,
                    size: size, mtimeNs: m, ctimeNs: c)))
            case 4 where key.elementsEqual("venv".utf8):
                fp.venv = fieldString(value)
                sawVenv = true
            case 7 where key.elementsEqual("imports".utf8):
                fp.imports = value.isEmpty ? [] : fieldString(value).split(separator: ",").map(String.init)
            case 6 where key.elementsEqual("status".utf8):
                if value.elementsEqual("healthy".utf8) { fp.status = "healthy" }
                else if value.elementsEqual("degraded".utf8) { fp.status = "degraded" }
                else { return nil }
            case 7 where key.elementsEqual("checked".utf8):
                fp.checkedAt = fieldString(value)
            case 6 where key.elementsEqual("reason".utf8):
                fp.reasons.append(fieldString(value))
            default:
                return nil
            }
        }
        guard sawVenv, !fp.status.isEmpty, !fp.entries.isEmpty else { return nil }
        return fp
    }

    static let headerBytes = Array(header.utf8)

    /// Reads the cache; nil for missing, unreadable, a symlink (O_NOFOLLOW), oversized or garbage.
    public static func load(from path: String) -> Fingerprint? {
        guard let bytes = readSmallFile(path, limit: 256 << 10) else { return nil }
        return decode(bytes)
    }

    /// Writes the cache atomically (0600) into a 0700 per-venv directory.
    public func save(state: StateDirectory) throws(SystemError) {
        try state.prepare("venvs", StateDirectory.key(for: venv))
        try writeFileAtomically(Fingerprint.cachePath(state: state, venv: venv, imports: imports), encoded())
    }
}

func escapeField(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == 0x5c || $0 == 0x0a || $0 == 0x09 || $0 == 0x0d }) else { return s }
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// A field's text, unescaped only when it holds a backslash (the common case is one copy).
func fieldString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    return bytes.contains(0x5c) ? unescapeField(text) : text
}

func unescapeField(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    var out = ""
    var escaping = false
    for c in s.unicodeScalars {
        if escaping {
            switch c {
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            default: out.unicodeScalars.append(c)
            }
            escaping = false
        } else if c == "\\" {
            escaping = true
        } else {
            out.unicodeScalars.append(c)
        }
    }
    return out
}
