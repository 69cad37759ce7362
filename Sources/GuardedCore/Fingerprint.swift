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

    /// Re-stats the path; true only when it is still the same file with the same times (or, for an
    /// entry recorded absent, still absent).
    @inline(__always)
    public func stillMatches() -> Bool {
        if status.isAbsent { return pathIsAbsent(path) }
        return fileStatusIfPresent(path)?.sameIdentityAndTimes(as: status) == true
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
///                                                 (all six 0: the path must stay absent)
/// end <FNV-1a 64 of every byte before this line, hex>
/// ```
/// Fields are separated by one space; paths and reasons come last on their line with `\`, newline and
/// tab escaped. Anything else (truncated, wrong version, bad checksum, a field that does not parse)
/// decodes to nil: a cache miss.
public struct Fingerprint: Equatable, Sendable {
    /// Bumped whenever the format or the meaning of the watch list changes; older caches then miss.
    /// 2: absent entries (the invalidation marker beside the venv) and the base install's lib-dynload.
    public static let formatVersion = 2
    /// The first line; the raw fast path compares it byte for byte (tests hold it to `formatVersion`).
    static let headerLiteral: StaticString = "guarded-run fingerprint 2"
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
    /// (The launcher's fast path reads the same format with `FingerprintScanner`, without Strings.)
    public static func decode(_ bytes: [UInt8]) -> Fingerprint? {
        bytes.withUnsafeBufferPointer { b -> Fingerprint? in
            guard let base = b.baseAddress else { return nil }
            var fp = Fingerprint(venv: "", imports: [], status: "", checkedAt: "", reasons: [], entries: [])
            var sawVenv = false
            let ok = FingerprintScanner.forEachField(base, b.count) { key, value, _ in
                if key.equals("watch") {
                    guard let (recorded, pathStart) = FingerprintScanner.parseWatch(value) else { return false }
                    let path = fieldString(UnsafeBufferPointer(start: value.base + pathStart, count: value.count - pathStart))
                    fp.entries.append(WatchEntry(path: path, status: recorded))
                } else if key.equals("venv") {
                    fp.venv = fieldString(value.buffer)
                    sawVenv = true
                } else if key.equals("imports") {
                    fp.imports = value.count == 0 ? [] : fieldString(value.buffer).split(separator: ",").map(String.init)
                } else if key.equals("status") {
                    guard value.equals("healthy") || value.equals("degraded") else { return false }
                    fp.status = fieldString(value.buffer)
                } else if key.equals("checked") {
                    fp.checkedAt = fieldString(value.buffer)
                } else if key.equals("reason") {
                    fp.reasons.append(fieldString(value.buffer))
                } else {
                    return false
                }
                return true
            }
            guard ok, sawVenv, !fp.status.isEmpty, !fp.entries.isEmpty else { return nil }
            return fp
        }
    }

    /// Reads the cache; nil for missing, unreadable, a symlink (O_NOFOLLOW), oversized or garbage.
    public static func load(from path: String) -> Fingerprint? {
        guard let bytes = readSmallFile(path, limit: 256 << 10) else { return nil }
        return decode(bytes)
    }

    /// Writes the cache atomically (0600) into a 0700 per-venv directory.
    public func save(state: StateDirectory) throws(SystemError) {
        try state.writeFile(["venvs", StateDirectory.key(for: venv)], "fingerprint-" + Fingerprint.importsKey(imports), Array(encoded().utf8))
    }

    /// The cache for `venv` and `imports` as the launcher would read it: no link followed below
    /// the state directory, ours alone (`StateDirectory.readFile`), else nil.
    public static func load(state: StateDirectory, venv: String, imports: [String]) -> Fingerprint? {
        state.readFile(["venvs", StateDirectory.key(for: venv)], "fingerprint-" + importsKey(imports), limit: 256 << 10).flatMap(decode)
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

/// Reads the fingerprint format at the byte level: checksum, header, then `key value` lines. Shared
/// by `Fingerprint.decode` and the launcher's fast path, so the format is read in one place.
enum FingerprintScanner {
    /// Verifies the trailing `end <checksum>` line and the header, then calls `body(key, value,
    /// lineEnd)` for every line in between (`lineEnd` is the index of that line's newline). False when
    /// the bytes are not a well-formed fingerprint or `body` returns false.
    static func forEachField(_ b: UnsafePointer<UInt8>, _ n: Int, _ body: (Bytes, Bytes, Int) -> Bool) -> Bool {
        guard n > 24, b[n - 1] == 0x0a else { return false }
        var endStart = n - 2
        while endStart > 0 && b[endStart] != 0x0a { endStart -= 1 }
        guard endStart > 0, n - endStart - 2 == 20, memcmp(b + endStart + 1, "end ", 4) == 0 else { return false }
        var expected: UInt64 = 0
        for k in (endStart + 5)..<(n - 1) {
            let c = b[k]
            guard (48...57).contains(c) || (97...102).contains(c) else { return false }
            expected = expected << 4 | UInt64(c <= 57 ? c - 48 : c - 87)
        }
        var sum: UInt64 = 0xcbf29ce484222325
        for k in 0...endStart { sum = (sum ^ UInt64(b[k])) &* 0x100000001b3 }
        guard sum == expected else { return false }

        var start = 0
        var first = true
        while start <= endStart {
            var end = start
            while b[end] != 0x0a { end += 1 }
            let line = Bytes(b + start, end - start)
            start = end + 1
            if first {
                guard line.equals(Fingerprint.headerLiteral) else { return false }
                first = false
                continue
            }
            guard let space = memchr(line.base, 0x20, line.count) else { return false }
            let keyLength = UnsafeRawPointer(space) - UnsafeRawPointer(line.base)
            guard body(Bytes(line.base, keyLength), Bytes(line.base + keyLength + 1, line.count - keyLength - 1), end) else {
                return false
            }
        }
        return true
    }

    /// Parses a watch line's value, `<dev> <ino> <mode> <size> <mtime-ns> <ctime-ns> <path>`: the
    /// recorded status and where the (absolute) path starts in `value`.
    /// Numbers are range-checked with overflow-checked arithmetic (a checksum proves no more than that
    /// the bytes are what was written, and anyone who can write the file can compute it): device and
    /// inode are full 64-bit unsigned, size and times signed 64-bit (a time before 1970 is negative).
    static func parseWatch(_ value: Bytes) -> (FileStatus, Int)? {
        var cursor = 0
        func number(signed: Bool) -> (negative: Bool, magnitude: UInt64)? {
            var negative = false
            if signed, cursor < value.count, value[cursor] == 0x2d { negative = true; cursor += 1 }
            var v: UInt64 = 0, digits = 0
            while cursor < value.count, value[cursor] != 0x20 {
                let c = value[cursor]
                guard c >= 48, c <= 57 else { return nil }
                let (times10, o1) = v.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 48))
                guard !o1, !o2 else { return nil }
                v = sum
                digits += 1
                cursor += 1
            }
            guard digits > 0, cursor < value.count else { return nil }
            cursor += 1
            return (negative, v)
        }
        func unsigned() -> UInt64? {
            guard let n = number(signed: false) else { return nil }
            return n.magnitude
        }
        func signed() -> Int64? {
            guard let n = number(signed: true) else { return nil }
            if n.negative { return n.magnitude <= 1 << 63 ? Int64(bitPattern: 0 &- n.magnitude) : nil }
            return n.magnitude <= UInt64(Int64.max) ? Int64(n.magnitude) : nil
        }
        guard let dev = unsigned(), let ino = unsigned(), let mode = unsigned(), let size = signed(),
              let m = signed(), let c = signed(), mode <= UInt64(UInt32.max),
              cursor < value.count, value[cursor] == 0x2f else { return nil }
        return (FileStatus(device: dev, inode: ino, mode: UInt32(mode), linkCount: 0, uid: 0, gid: 0,
                           size: size, mtimeNs: m, ctimeNs: c), cursor)
    }
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
