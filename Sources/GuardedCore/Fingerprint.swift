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
    public static let formatVersion = LaunchFormat.fingerprintFormat
    /// The first line; the raw fast path compares it byte for byte (tests hold it to `formatVersion`).
    static let header = LaunchFormat.fingerprintHeader.description

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
