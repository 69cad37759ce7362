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
/// What a cache hit would log: the cached status and reasons.
public struct CachedVerdict: Equatable, Sendable {
    public var status: String
    public var reasons: [String]
    public init(status: String, reasons: [String]) { self.status = status; self.reasons = reasons }
}

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
    /// The agent's context the check ran in: part of the file's name (`importsKey`), not its text.
    public var context: AgentContext? = nil

    public init(venv: String, imports: [String], status: String, checkedAt: String, reasons: [String], entries: [WatchEntry]) {
        self.venv = venv
        self.imports = imports
        self.status = status
        self.checkedAt = checkedAt
        self.reasons = reasons
        self.entries = entries
    }

    /// The cache file for `venv` and this import set, inside the state directory.
    public static func cachePath(state: StateDirectory, venv: String, imports: [String], context: AgentContext? = nil) -> String {
        state.venvDirectory(for: venv) + "/fingerprint-" + importsKey(imports, context: context)
    }

    /// `none`, or the first 12 hex digits of FNV-1a 64 of the sorted, de-duplicated module list
    /// joined by commas, followed by the agent's context (`AgentContext.keyBytes`) when there is
    /// one: an import can depend on the working directory, PYTHONPATH and how COMMAND starts
    /// Python, so a change of any of them is a miss. Without imports nothing depends on them.
    public static func importsKey(_ imports: [String], context: AgentContext? = nil) -> String {
        let set = Array(Set(imports)).sorted()
        if set.isEmpty { return "none" }
        let bytes = Array(set.joined(separator: ",").utf8) + (context?.keyBytes ?? [])
        let s = String(fnv1a64(bytes), radix: 16)
        return String((String(repeating: "0", count: 16 - s.count) + s).prefix(12))
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

    /// The launcher's own reading of cache bytes (`FastPath.parseAndVerify`: checksum, header,
    /// fields, and a fresh `lstat` of every watched path): the cached verdict when the launcher would
    /// start from it, nil on a miss. The one reader of the format; tools and tests ask it.
    public static func launcherVerdict(_ bytes: [UInt8], venv: String, imports: [String]) -> CachedVerdict? {
        guard !bytes.isEmpty else { return nil }
        let data = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count + 1)
        defer { data.deallocate() }
        data.initialize(from: bytes, count: bytes.count)
        return withByteViews([venv] + imports) { views -> CachedVerdict? in
            var list = BytesList(capacity: max(imports.count, 1))
            defer { list.free() }
            for v in views.dropFirst() { guard list.append(v) else { return nil } }
            var parsed = FastPath.Parsed()
            defer { parsed.reasons.free() }
            guard FastPath.parseAndVerify(data, bytes.count, venv: views[0], imports: list, into: &parsed) else { return nil }
            return CachedVerdict(status: parsed.degraded ? "degraded" : "healthy",
                                 reasons: (0..<parsed.reasons.count).map { String(decoding: parsed.reasons[$0].buffer, as: UTF8.self) })
        }
    }

    /// `launcherVerdict` of the cache for `venv` and `imports` as the launcher reads it: no link
    /// followed below the state directory, ours alone (`StateDirectory.readFile`).
    public static func launcherVerdict(state: StateDirectory, venv: String, imports: [String], context: AgentContext? = nil) -> CachedVerdict? {
        guard let bytes = state.readFile(["venvs", StateDirectory.key(for: venv)], "fingerprint-" + importsKey(imports, context: context),
                                         limit: 256 << 10) else { return nil }
        return launcherVerdict(bytes, venv: venv, imports: imports)
    }

    /// Writes the cache atomically (0600) into a 0700 per-venv directory, without fsync: after a
    /// power loss the file may be the older copy, empty or torn, and each is a miss, never a wrong
    /// verdict (the checksum closes the file, every watched path is lstat'd again, and an older
    /// copy records an older invalidation marker). A miss costs one full check; the two fsyncs
    /// cost ~3 ms of every full check (docs/performance.md, "The full check").
    public func save(state: StateDirectory) throws(SystemError) {
        try state.writeFile(["venvs", StateDirectory.key(for: venv)], "fingerprint-" + Fingerprint.importsKey(imports, context: context),
                            Array(encoded().utf8), durable: false)
    }
}

func escapeField(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) else { return s }
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
