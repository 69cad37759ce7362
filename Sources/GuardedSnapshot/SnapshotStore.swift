import GuardedCore
import GuardedSystem

/// The snapshot store under `<state>/snapshots` (0700):
///
///     lock                                   flock + "pid host" of the holder
///     packs/<id>.pack, packs/<id>.idx        file contents, each distinct content once (see BlobStore)
///     manifests/<id>/manifest.json           one manifest per snapshot
///     manifests/<id>/manifest.json.sha256    its own sha256 (`sha256sum -c` format)
///
/// A snapshot appears by renaming its finished manifest directory into `manifests/`, after its
/// blobs are durable: a crash leaves either no snapshot or a complete one.
public struct SnapshotStore: Sendable {
    public let state: StateDirectory
    public var path: String { state.snapshotsPath }
    var manifestsPath: String { path + "/manifests" }
    var packsPath: String { path + "/packs" }
    /// The blob store with its index read now.
    func blobs() -> BlobStore { BlobStore(path: packsPath) }

    /// How long a create/restore/prune waits for another one to finish (`--wait`).
    public static let defaultWaitSeconds = 10.0

    public init(state: StateDirectory) { self.state = state }

    func prepare() throws(SnapshotError) {
        try system { () throws(SystemError) in
            try state.prepare("snapshots")
            try makePrivateDirectory(packsPath)
            try makePrivateDirectory(manifestsPath)
        }
    }

    /// Takes the store's exclusive lock (see `StoreLock`).
    public func lock(waitSeconds: Double = SnapshotStore.defaultWaitSeconds) throws(SnapshotError) -> StoreLock {
        try prepare()
        return try StoreLock(path: path + "/lock", waitSeconds: waitSeconds)
    }

    // MARK: create

    /// Snapshot of these paths (files, dirs, symlinks); label/tag optional. Returns the written manifest.
    public func create(paths: [String], label: String?, tag: String?, kind: SnapshotManifest.Kind = .manual) throws -> SnapshotManifest {
        let roots = try snapshotRoots(for: paths, allowGlobs: false)
        let lock = try lock()
        return try create(roots: roots, label: label, tag: tag, kind: kind, holding: lock)
    }

    /// Captures `roots` into a new snapshot while holding the store's lock.
    public func create(roots: [SnapshotRoot], label: String?, tag: String?, kind: SnapshotManifest.Kind = .manual,
                       guards: String? = nil, requireExisting: Bool = true, holding lock: StoreLock) throws(SnapshotError) -> SnapshotManifest {
        _ = lock
        if let tag, !isValidTag(tag) { throw .usage("bad tag '\(tag)': letters, digits, '.', '_', '-', at most 64") }
        if let label, label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw .usage("the label must not contain control characters")
        }
        guard !roots.isEmpty else { throw .usage("nothing to snapshot: no paths") }
        let id = freshID()
        let pack = PackWriter(directory: packsPath, name: id)
        var capture = Capture(blobs: blobs(), pack: pack)
        try capture.run(roots: roots, requireExisting: requireExisting)
        var git = GitReader()
        var recorded = roots
        for i in recorded.indices {
            let r = recorded[i]
            let directory = r.patterns != nil || isDirectory(r.path) ? r.path : parentDirectory(of: r.path)
            if isDirectory(directory) { recorded[i].git = git.state(of: directory) }
        }
        var manifest = SnapshotManifest(id: id, kind: kind, guards: guards, label: label, tag: tag,
                                        host: CurrentProcess.hostName, time: Clock.nowRFC3339(), roots: recorded, entries: capture.entries)
        try manifest.validate()
        try commit(&manifest, pack: pack)
        return manifest
    }

    /// Makes the pack and the manifest durable, then the snapshot visible. Every file is written
    /// before any is fsynced: on a journaling filesystem the first fsync commits the others' writes
    /// with it, so the rest cost little, where write-fsync-write-fsync paid a commit each. Order:
    /// pack, index and manifest files fsynced; pack and index renamed, their directory fsynced; the
    /// manifest directory fsynced, renamed into `manifests/` (the commit point: before it there is
    /// no snapshot, after it a complete one), `manifests/` fsynced.
    private func commit(_ manifest: inout SnapshotManifest, pack: PackWriter) throws(SnapshotError) {
        // Compact: the manifest is hashed and parsed on every load (`show --json` prints it indented).
        var bytes = manifest.json().serializedBytes()
        bytes.append(UInt8(ascii: "\n"))
        let sha = SHA256.hex(bytes)
        let id = manifest.id
        try system { () throws(SystemError) in
            try pack.writeRest()
            // A private directory of our own under a temp name: its files need no rename of their own.
            let temp = "\(manifestsPath)/.tmp-\(id)"
            try removeTree(temp)
            try makePrivateDirectory(temp)
            let json = try createPrivateFile(temp + "/manifest.json", bytes)
            let hash = try createPrivateFile(temp + "/manifest.json.sha256", Array("\(sha)  manifest.json\n".utf8))
            try pack.sync()
            try json.sync(path: temp + "/manifest.json")
            try hash.sync(path: temp + "/manifest.json.sha256")
            try pack.publish()
            try syncDirectory(temp)
            try renameItem(temp, to: "\(manifestsPath)/\(id)")
            try syncDirectory(manifestsPath)
        }
        manifest.sha256 = sha
    }

    /// A new file (never an existing one or a planted link), mode exactly 0600, written but not yet fsynced.
    private func createPrivateFile(_ path: String, _ bytes: [UInt8]) throws(SystemError) -> FileDescriptor {
        let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600)
        try fd.changeMode(0o600, path: path)
        try fd.writeAll(bytes, path: path)
        return fd
    }

    /// A new id no snapshot has. Creates hold the store's lock, so the check cannot race.
    private func freshID() -> String {
        var id = makeSnapshotID()
        while fileStatusIfPresent("\(manifestsPath)/\(id)") != nil { id = makeSnapshotID() }
        return id
    }

    // MARK: reading

    /// Every snapshot id in the store, oldest first (ids sort by time).
    public func ids() -> [String] {
        ((try? directoryEntries(manifestsPath)) ?? []).filter(isValidSnapshotID).sorted()
    }

    /// Loads and validates one manifest, checking it against its own recorded sha256.
    public func load(_ id: String) throws(SnapshotError) -> SnapshotManifest {
        guard isValidSnapshotID(id) else { throw .usage("no such snapshot: \(id)") }
        let directory = "\(manifestsPath)/\(id)"
        guard fileStatusIfPresent(directory)?.isDirectory == true else { throw .usage("no such snapshot: \(id)") }
        let bytes: [UInt8], recorded: String
        do {
            bytes = try readFile(directory + "/manifest.json")
            recorded = try readTextFile(directory + "/manifest.json.sha256", limit: 4096)
        } catch {
            throw .damaged("manifest \(id) is unreadable: \(error)")
        }
        let expected = String(recorded.prefix(while: { $0 != " " && $0 != "\n" }))
        guard isSHA256Hex(expected), SHA256.hex(bytes) == expected else {
            throw .damaged("manifest \(id) does not match its recorded sha256: \(directory)/manifest.json")
        }
        return try SnapshotManifest.parse(bytes, expectedID: id, sha256: expected)
    }

    /// An exact id, a unique id prefix, `latest`, or a tag (the newest snapshot with it).
    public func resolve(_ text: String) throws(SnapshotError) -> String {
        let all = ids()
        if all.contains(text) { return text }
        if text == "latest", let last = all.last { return last }
        let prefixed = all.filter { $0.hasPrefix(text) }
        if prefixed.count == 1 { return prefixed[0] }
        if prefixed.count > 1 { throw .usage("'\(text)' matches \(prefixed.count) snapshots; give more of the id") }
        if let tagged = all.reversed().first(where: { (try? load($0))?.tag == text }) { return tagged }
        throw .usage("no such snapshot: \(text)")
    }

    /// Every snapshot, loaded; a damaged one is listed with its problem rather than dropped.
    public func list() -> [(id: String, manifest: SnapshotManifest?, problem: String?)] {
        ids().map { id in
            do throws(SnapshotError) { return (id, try load(id), nil) } catch { return (id, nil, error.description) }
        }
    }

    // MARK: verify

    /// Checks every blob of `manifest` against its size and sha256; returns the problems (empty: intact).
    public func verify(_ manifest: SnapshotManifest) -> [String] {
        var problems: [String] = []
        var checked = Set<String>()
        let blobs = blobs()
        for entry in manifest.entries where entry.type == .file {
            guard let sha = entry.sha256, checked.insert(sha).inserted else { continue }
            do throws(SnapshotError) { try blobs.check(sha, size: entry.size) } catch {
                problems.append("\(manifest.absolutePath(of: entry)): \(error)")
            }
        }
        return problems
    }

    // MARK: prune

    /// The snapshots `prune --keep N` removes, the one definition both the dry run and the prune
    /// use: of each kind (manual, pre-restore, wrap, unwrap, convert) all but the newest `keep`
    /// (at least one of each kind is always kept); never a tagged snapshot unless `includeTagged`;
    /// never a pre-restore snapshot newer than the newest manual snapshot (it guards a restore
    /// nothing later supersedes) unless `includePreRestore`. A damaged manifest has no kind to
    /// read: it goes when it is not among the newest `keep` snapshots of the whole store.
    public func prunePlan(keep: Int, includePreRestore: Bool, includeTagged: Bool = false) -> PrunePlan {
        let all = list()
        let keep = max(1, keep)
        var kept = Set(all.suffix(keep).filter { $0.manifest == nil }.map(\.id))
        for kind in SnapshotManifest.Kind.allCases {
            kept.formUnion(all.filter { $0.manifest?.kind == kind }.suffix(keep).map(\.id))
        }
        let newestManual = all.last(where: { $0.manifest?.kind == .manual })?.id ?? ""
        var plan = PrunePlan()
        for item in all where !kept.contains(item.id) {
            if !includeTagged, let tag = item.manifest?.tag {
                plan.protected.append((item.id, .tagged(tag)))
            } else if !includePreRestore, item.manifest?.kind == .preRestore, item.id > newestManual {
                plan.protected.append((item.id, .preRestore))
            } else {
                plan.remove.append(item.id)
            }
        }
        return plan
    }

    /// Removes the manifests, then every blob no remaining manifest refers to. When any remaining
    /// manifest cannot be read, no blob is removed (it might be one of its blobs).
    public func prune(_ ids: [String], holding lock: StoreLock) throws(SnapshotError) -> (removedPacks: Int, note: String?) {
        _ = lock
        try system { () throws(SystemError) in
            for id in ids where isValidSnapshotID(id) {
                let trash = "\(manifestsPath)/.trash-\(id)"
                try renameItem("\(manifestsPath)/\(id)", to: trash)
                try removeTree(trash)
            }
            try syncDirectory(manifestsPath)
        }
        var referenced = Set<String>()
        for item in list() {
            guard let manifest = item.manifest else {
                return (0, "kept every blob: snapshot \(item.id) is unreadable (\(item.problem ?? "damaged"))")
            }
            for e in manifest.entries { if let sha = e.sha256 { referenced.insert(sha) } }
        }
        // A pack goes when no snapshot refers to any blob it is the store's copy of. A pack that
        // still holds one live blob stays whole (packs are not rewritten).
        let store = blobs()
        var live = Set<String>()
        for sha in referenced { if let location = store.index[sha] { live.insert(location.pack) } }
        var removed = 0
        for name in (try? directoryEntries(packsPath)) ?? [] {
            let pack = name.hasSuffix(".pack") ? String(name.dropLast(5)) : name.hasSuffix(".idx") ? String(name.dropLast(4)) : nil
            let stray = name.hasPrefix(".") || (name.hasSuffix(".pack") && fileStatusIfPresent("\(packsPath)/\(pack!).idx") == nil)
            if stray || (pack != nil && !live.contains(pack!)) {
                if (try? removeFile("\(packsPath)/\(name)")) != nil && name.hasSuffix(".pack") { removed += 1 }
            }
        }
        return (removed, nil)
    }
}

func isValidTag(_ tag: String) -> Bool { isValidAgentName(tag) && tag.utf8.count <= 64 }

/// What `prune --keep N` removes and what it keeps although it is old (see `prunePlan`).
public struct PrunePlan: Sendable {
    public enum Protection: Equatable, Sendable {
        case tagged(String)
        case preRestore

        /// Why it is kept, and the option that prunes it.
        public var reason: String {
            switch self {
            case .tagged(let tag): return "tagged \(tag); --include-tagged prunes it"
            case .preRestore: return "pre-restore; --include-pre-restore prunes it"
            }
        }
    }

    public var remove: [String] = []
    public var protected: [(id: String, why: Protection)] = []
    public var protectedIDs: [String] { protected.map(\.id) }
}
