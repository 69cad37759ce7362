import GuardedCore
import GuardedSystem

/// What one manifest entry is. Sockets, fifos and devices are never captured.
public enum EntryType: String, Sendable {
    case file, directory, symlink
}

/// One captured file, directory or symlink, by its path relative to its root.
public struct SnapshotEntry: Equatable, Sendable {
    /// Index into the manifest's `roots`.
    public var root: Int
    /// Relative to the root; "." is a plain root itself.
    public var path: String
    public var type: EntryType
    /// Files: the content's sha256 (the blob's name).
    public var sha256: String?
    /// Files: the content's length; symlinks: the link text's length.
    public var size: Int64
    /// Permission bits (including setuid/setgid/sticky).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeNs: Int64
    /// Symlinks: the link text, stored as is (never resolved).
    public var target: String?

    public init(root: Int, path: String, type: EntryType, sha256: String? = nil, size: Int64 = 0, mode: UInt32,
                uid: UInt32, gid: UInt32, mtimeNs: Int64, target: String? = nil) {
        self.root = root; self.path = path; self.type = type; self.sha256 = sha256; self.size = size
        self.mode = mode; self.uid = uid; self.gid = gid; self.mtimeNs = mtimeNs; self.target = target
    }
}

/// A place a snapshot covers. A plain root is one path (file, directory or symlink) and everything
/// below it; a pattern root is the entries of directory `path` whose names match one of `patterns`
/// (fnmatch), with everything below them. Pattern roots let a restore recognise a file created
/// since the snapshot (a new `agent-x.service`, a new drop-in directory) as belonging to it.
public struct SnapshotRoot: Equatable, Sendable {
    public var path: String
    public var patterns: [String]?
    public var git: GitState?

    public init(path: String, patterns: [String]? = nil, git: GitState? = nil) {
        self.path = path; self.patterns = patterns; self.git = git
    }

    /// The absolute path of `relative` under this root.
    public func absolute(_ relative: String) -> String {
        if relative == "." { return path }
        return path == "/" ? "/" + relative : path + "/" + relative
    }

    /// True when a top-level name under a pattern root belongs to it.
    public func matches(name: String) -> Bool {
        guard let patterns else { return false }
        return patterns.contains { globMatches($0, name) }
    }
}

/// The git state of the repository a root is in, read by running `git`.
public struct GitState: Equatable, Sendable {
    public var repository: String
    public var commit: String?
    public var branch: String?
    public var dirty: Bool
}

/// One snapshot: its identity, what it covers, and every entry with its hash.
public struct SnapshotManifest: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case manual
        /// Taken automatically by `restore --force` before it wrote anything.
        case preRestore = "pre-restore"
        /// Taken by `wrap`, `unwrap` and `convert` before they write (systemd, launchd, MCP alike).
        case wrap, unwrap, convert

        /// The kind of the snapshot a writing command takes, from its label's first word
        /// ("wrap systemd", "unwrap mcp", "convert launchd-to-systemd"); anything else is manual.
        public init(command label: String) {
            let verb = label.prefix(while: { $0 != " " })
            self = [.wrap, .unwrap, .convert].first { $0.rawValue == verb } ?? .manual
        }
    }

    public let id: String
    public var kind: Kind
    /// For a pre-restore snapshot: the id of the snapshot whose restore it guards.
    public var guards: String?
    public var label: String?
    public var tag: String?
    public var host: String
    public var time: String
    public var roots: [SnapshotRoot]
    public var entries: [SnapshotEntry]
    /// The sha256 of the manifest file's own bytes (empty until written or loaded).
    public internal(set) var sha256: String = ""

    public init(id: String, kind: Kind, guards: String?, label: String?, tag: String?, host: String, time: String,
                roots: [SnapshotRoot], entries: [SnapshotEntry]) {
        self.id = id; self.kind = kind; self.guards = guards; self.label = label; self.tag = tag
        self.host = host; self.time = time; self.roots = roots; self.entries = entries
    }

    public var fileCount: Int { entries.filter { $0.type == .file }.count }
    public var totalBytes: Int64 { entries.filter { $0.type == .file }.reduce(0) { $0 + $1.size } }

    public func absolutePath(of entry: SnapshotEntry) -> String { roots[entry.root].absolute(entry.path) }

    // MARK: JSON

    public func json() -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("format", JSONValue(1)), ("id", JSONValue(id)), ("kind", JSONValue(kind.rawValue)),
        ]
        if let guards { pairs.append(("guards", JSONValue(guards))) }
        pairs += [
            ("label", .optional(label)), ("tag", .optional(tag)), ("host", JSONValue(host)), ("time", JSONValue(time)),
            ("roots", .array(roots.map(SnapshotManifest.rootJSON))),
            ("entries", .array(entries.map(SnapshotManifest.entryJSON))),
        ]
        return .object(pairs)
    }

    static func rootJSON(_ root: SnapshotRoot) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("path", JSONValue(root.path))]
        if let patterns = root.patterns { pairs.append(("patterns", JSONValue(patterns))) }
        if let git = root.git {
            pairs.append(("git", .object([
                ("repository", JSONValue(git.repository)), ("commit", .optional(git.commit)),
                ("branch", .optional(git.branch)), ("dirty", JSONValue(git.dirty)),
            ])))
        } else {
            pairs.append(("git", .null))
        }
        return .object(pairs)
    }

    static func entryJSON(_ e: SnapshotEntry) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("root", JSONValue(e.root)), ("path", JSONValue(e.path)), ("type", JSONValue(e.type.rawValue)),
        ]
        if let sha = e.sha256 { pairs.append(("sha256", JSONValue(sha))) }
        if let target = e.target { pairs.append(("target", JSONValue(target))) }
        pairs += [
            ("size", .number(Double(e.size))), ("mode", JSONValue(String(e.mode, radix: 8))),
            ("uid", .number(Double(e.uid))), ("gid", .number(Double(e.gid))), ("mtime_ns", JSONValue(String(e.mtimeNs))),
        ]
        return .object(pairs)
    }

    /// Parses and validates a manifest; every problem is a `SnapshotError.damaged` naming it.
    /// Validation is the hostile-manifest defence: see `validate()`.
    /// `sha256`: the bytes' hash when the caller has just checked it (not computed twice).
    public static func parse(_ bytes: [UInt8], expectedID: String?, sha256: String? = nil) throws(SnapshotError) -> SnapshotManifest {
        func bad(_ what: String) -> SnapshotError { .damaged("manifest \(expectedID ?? "?"): \(what)") }
        guard let json = JSONValue.parse(bytes: bytes), json.objectValue != nil else { throw bad("not a JSON object") }
        guard json["format"]?.intValue == 1 else { throw bad("unknown format") }
        guard let id = json["id"]?.stringValue, isValidSnapshotID(id) else { throw bad("bad id") }
        if let expectedID, id != expectedID { throw bad("id \(id) does not match its directory") }
        guard let kindText = json["kind"]?.stringValue, let kind = Kind(rawValue: kindText) else { throw bad("bad kind") }
        guard let host = json["host"]?.stringValue, let time = json["time"]?.stringValue else { throw bad("missing host or time") }
        func optionalString(_ key: String) throws(SnapshotError) -> String? {
            guard let v = json[key], v != .null else { return nil }
            guard let s = v.stringValue else { throw bad("\(key) is not a string") }
            return s
        }
        let label = try optionalString("label"), tag = try optionalString("tag"), guards = try optionalString("guards")
        guard let rootValues = json["roots"]?.arrayValue, let entryValues = json["entries"]?.arrayValue else {
            throw bad("missing roots or entries")
        }
        var roots: [SnapshotRoot] = []
        for value in rootValues {
            guard let path = value["path"]?.stringValue else { throw bad("root without a path") }
            var patterns: [String]? = nil
            if let p = value["patterns"], p != .null {
                guard let list = p.arrayValue?.compactMap(\.stringValue), list.count == p.arrayValue?.count else {
                    throw bad("root patterns are not strings")
                }
                patterns = list
            }
            var git: GitState? = nil
            if let g = value["git"], g != .null {
                guard let repository = g["repository"]?.stringValue, let dirty = g["dirty"]?.boolValue else { throw bad("bad git state") }
                git = GitState(repository: repository, commit: g["commit"]?.stringValue, branch: g["branch"]?.stringValue, dirty: dirty)
            }
            roots.append(SnapshotRoot(path: path, patterns: patterns, git: git))
        }
        var entries: [SnapshotEntry] = []
        entries.reserveCapacity(entryValues.count)
        for value in entryValues {
            // One pass over the pairs rather than a lookup per key (a manifest has thousands of entries).
            // As with a lookup, the first occurrence of a key counts.
            var root: Int?, path: String?, type: EntryType?, sha256: String?, target: String?, size: Int?
            var mode: UInt32?, uid: UInt32?, gid: UInt32?, mtime: Int64?, seen = 0
            for (key, field) in value.objectValue ?? [] {
                let bit: Int
                switch key {
                case "root": bit = 1; if seen & bit == 0 { root = field.intValue }
                case "path": bit = 2; if seen & bit == 0 { path = field.stringValue }
                case "type": bit = 4; if seen & bit == 0 { type = field.stringValue.flatMap(EntryType.init(rawValue:)) }
                case "sha256": bit = 8; if seen & bit == 0 { sha256 = field.stringValue }
                case "target": bit = 16; if seen & bit == 0 { target = field.stringValue }
                case "size": bit = 32; if seen & bit == 0 { size = field.intValue }
                case "mode": bit = 64; if seen & bit == 0 { mode = field.stringValue.flatMap { UInt32($0, radix: 8) } }
                case "uid": bit = 128; if seen & bit == 0 { uid = field.intValue.flatMap { UInt32(exactly: $0) } }
                case "gid": bit = 256; if seen & bit == 0 { gid = field.intValue.flatMap { UInt32(exactly: $0) } }
                case "mtime_ns": bit = 512; if seen & bit == 0 { mtime = field.stringValue.flatMap { Int64($0) } }
                default: bit = 0
                }
                seen |= bit
            }
            guard let root, let path, let type, let size, let mode, let uid, let gid, let mtime else {
                throw bad("malformed entry \(JSONValue.quoted(value["path"]?.stringValue ?? "?"))")
            }
            entries.append(SnapshotEntry(root: root, path: path, type: type, sha256: sha256, size: Int64(size),
                                         mode: mode, uid: uid, gid: gid, mtimeNs: mtime, target: target))
        }
        var manifest = SnapshotManifest(id: id, kind: kind, guards: guards, label: label, tag: tag, host: host,
                                        time: time, roots: roots, entries: entries)
        try manifest.validate()
        manifest.sha256 = sha256 ?? SHA256.hex(bytes)
        return manifest
    }

    /// Refuses a manifest a restore could be tricked by: roots that are not absolute and normal,
    /// entry paths that are absolute, contain `..`, `.`, empty names or NUL, duplicates, entries
    /// outside their root, and entries whose parent is not a directory of the same snapshot (so a
    /// symlink entry can never become a path prefix a later entry is written through).
    public func validate() throws(SnapshotError) {
        func bad(_ what: String) -> SnapshotError { .damaged("manifest \(id): \(what)") }
        guard !roots.isEmpty else { throw bad("no roots") }
        for root in roots {
            guard root.path.hasPrefix("/"), !root.path.utf8.contains(0), normalizedPath(root.path) == root.path else {
                throw bad("root \(JSONValue.quoted(root.path)) is not a normal absolute path")
            }
            if root.patterns == nil && root.path == "/" { throw bad("root / is refused") }
            if let patterns = root.patterns {
                for p in patterns where !isValidName(p) { throw bad("root pattern \(JSONValue.quoted(p)) is not one name") }
            }
        }
        var seen = Set<String>(minimumCapacity: entries.count)
        var directories = Set<String>()
        for e in entries {
            guard e.root >= 0 && e.root < roots.count else { throw bad("entry with a root index out of range") }
            let root = roots[e.root]
            // Quoted only for a message: quoting every path of a large manifest costs more than the checks.
            var quoted: String { JSONValue.quoted(e.path) }
            let absolute = root.absolute(e.path)
            if e.path == "." {
                guard root.patterns == nil else { throw bad("entry \(quoted) of a pattern root") }
            } else {
                guard !e.path.hasPrefix("/") else { throw bad("absolute entry path \(quoted)") }
                guard let names = checkedNames(e.path) else { throw bad("entry path \(quoted) has an empty, '.', '..' or NUL name") }
                if root.patterns != nil {
                    guard root.matches(name: String(Substring(e.path.utf8[..<names.firstEnd]))) else {
                        throw bad("entry \(quoted) is outside its root's patterns")
                    }
                }
                // The parent must be a directory of this snapshot (or the root's base). With more
                // than one name it is `absolute` without its last name (`absolute` ends with the path).
                let parent: String?
                if let lastSlash = names.lastSlash {
                    let cut = absolute.utf8.index(absolute.utf8.endIndex, offsetBy: -e.path.utf8.distance(from: lastSlash, to: e.path.utf8.endIndex))
                    parent = String(Substring(absolute.utf8[..<cut]))
                } else {
                    parent = root.patterns == nil ? root.path : nil
                }
                if let parent, !directories.contains(parent) { throw bad("entry \(quoted) has no directory entry for its parent") }
            }
            guard seen.insert(absolute).inserted else { throw bad("duplicate entry \(JSONValue.quoted(absolute))") }
            guard e.mode <= 0o7777, e.size >= 0 else { throw bad("entry \(quoted) has a bad mode or size") }
            switch e.type {
            case .file:
                guard let sha = e.sha256, isSHA256Hex(sha) else { throw bad("file entry \(quoted) without a valid sha256") }
            case .symlink:
                guard let target = e.target, !target.isEmpty, !target.utf8.contains(0) else { throw bad("symlink entry \(quoted) without a target") }
            case .directory:
                directories.insert(absolute)
            }
        }
        // Overlapping roots would let one root's entry be written below another's symlink.
        for (i, a) in roots.enumerated() {
            for (j, b) in roots.enumerated() where i != j && a.patterns == nil && isInside(b.path, a.path) && b.path != a.path {
                throw bad("root \(JSONValue.quoted(b.path)) is inside root \(JSONValue.quoted(a.path))")
            }
        }
    }
}

/// Checks every name of a relative path (`isValidName`, on the UTF-8 bytes: a manifest has
/// thousands of paths): nil when one is empty, `.`, `..` or has a NUL; else where the first name
/// ends and where the last `/` is (nil for a single name).
func checkedNames(_ path: String) -> (firstEnd: String.UTF8View.Index, lastSlash: String.UTF8View.Index?)? {
    let utf8 = path.utf8
    var start = utf8.startIndex, firstEnd: String.UTF8View.Index? = nil, lastSlash: String.UTF8View.Index? = nil
    var index = start
    while true {
        let atEnd = index == utf8.endIndex
        if atEnd || utf8[index] == UInt8(ascii: "/") {
            let length = utf8.distance(from: start, to: index)
            if length == 0 { return nil }
            if length <= 2 && utf8[start] == UInt8(ascii: ".") && (length == 1 || utf8[utf8.index(after: start)] == UInt8(ascii: ".")) {
                return nil
            }
            if firstEnd == nil { firstEnd = index }
            if atEnd { return (firstEnd!, lastSlash) }
            lastSlash = index
            start = utf8.index(after: index)
        } else if utf8[index] == 0 {
            return nil
        }
        index = utf8.index(after: index)
    }
}

/// A single path component: not empty, not `.` or `..`, no `/` or NUL.
func isValidName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0) && !name.utf8.contains(UInt8(ascii: "/"))
}

func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64 && isLowerHex(text.utf8)
}

/// Only the digits 0-9 and a-f.
func isLowerHex(_ bytes: some Sequence<UInt8>) -> Bool {
    bytes.allSatisfy(ASCII.isLowerHexDigit)
}

/// Snapshot ids: `YYYYMMDD-HHMMSS-uuuuuu-rrrr` (UTC time, microseconds, random hex): they sort by
/// time and two creates never collide.
public func isValidSnapshotID(_ id: String) -> Bool {
    let b = Array(id.utf8)
    guard b.count == 27 else { return false }
    for (i, c) in b.enumerated() {
        switch i {
        case 8, 15, 22: if c != UInt8(ascii: "-") { return false }
        case 23...26: if !ASCII.isLowerHexDigit(c) { return false }
        default: if !ASCII.isDigit(c) { return false }
        }
    }
    return true
}

func makeSnapshotID() -> String {
    let now = Clock.wallTime()
    let stamp = Clock.rfc3339(seconds: now.seconds, nanoseconds: now.nanoseconds) // 2026-11-25T15:08:30.123456Z
    let digits = stamp.utf8.filter(ASCII.isDigit).map { Character(Unicode.Scalar($0)) }
    let s = String(digits) // 20261125150830123456
    let a = s.prefix(8), b = s.dropFirst(8).prefix(6), c = s.dropFirst(14)
    return "\(a)-\(b)-\(c)-\(randomHex(2))"
}

/// True when `text` has a glob metacharacter.
func hasGlobCharacters(_ text: String) -> Bool {
    text.contains("*") || text.contains("?") || text.contains("[")
}

/// `name` as a pattern that matches only itself.
func escapedGlob(_ name: String) -> String {
    var out = ""
    for ch in name {
        if ch == "*" || ch == "?" || ch == "[" || ch == "\\" { out.append("\\") }
        out.append(ch)
    }
    return out
}
