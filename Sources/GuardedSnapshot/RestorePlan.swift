import GuardedCore
import GuardedSystem

/// What a restore would do: every entry compared with what is on disk now, plus what exists inside
/// the roots that the snapshot does not have ("new"). Built with lstat only; a path below a symlink
/// or a non-directory counts as absent, never as what the link points at.
public struct RestorePlan: Sendable {
    public enum Action: Equatable, Sendable {
        case create
        /// What differs, each read from what is on disk now to what the restore makes it:
        /// "content", "type (symlink -> file)", "mode 0644 -> 0600", "owner 501:20 -> 0:0", "target".
        case modify([String])
        case unchanged
    }

    public struct Item: Sendable {
        public let entry: SnapshotEntry
        public let path: String
        public let action: Action
        /// The current object is a directory with content the snapshot does not have.
        public let replacesDirectory: Bool
        /// Permission bits now and in the snapshot, when they differ.
        public var modeChange: (now: UInt32, restored: UInt32)? = nil
    }

    public let snapshot: String
    public let deleteNew: Bool
    public internal(set) var items: [Item] = []
    /// Top-level paths inside the roots that the snapshot does not have.
    public internal(set) var new: [String] = []
    /// Temp files a killed restore left behind (always removed by the next restore).
    public internal(set) var leftovers: [String] = []
    /// Entries that cannot be restored as asked (a non-empty directory in the way without --delete-new,
    /// a root whose parent is missing or is a symlink).
    public internal(set) var blocked: [String] = []

    public var create: [String] { items.filter { $0.action == .create }.map(\.path) }
    public var modify: [(path: String, changes: [String])] {
        items.compactMap { if case .modify(let c) = $0.action { return ($0.path, c) }; return nil }
    }
    public var unchanged: [String] { items.filter { $0.action == .unchanged }.map(\.path) }
    /// What `--delete-new` deletes (empty without it).
    public var delete: [String] { deleteNew ? new : [] }
    /// The reload commands the restore's changes need (`reloadCommands`), each for the owner the
    /// file has after the restore (the snapshot's as root, else ours) or, when deleted, has now.
    public func reloadCommands() -> [[String]] {
        let ours = CurrentProcess.effectiveUserID
        let restoresOwner = ours == 0
        let changed = items.filter { $0.action != .unchanged }.map { (path: $0.path, uid: restoresOwner ? $0.entry.uid : ours) }
        let deleted = delete.map { (path: $0, uid: fileStatusIfPresent($0)?.uid ?? ours) }
        return GuardedSnapshot.reloadCommands(changed: changed, deleted: deleted)
    }

    public var hasChanges: Bool { items.contains { $0.action != .unchanged } || !delete.isEmpty || !leftovers.isEmpty }

    public func json() -> JSONValue {
        .object([
            ("snapshot", JSONValue(snapshot)),
            ("counts", .object([
                ("create", JSONValue(create.count)), ("modify", JSONValue(modify.count)),
                ("delete", JSONValue(delete.count)), ("unchanged", JSONValue(unchanged.count)),
                ("new", JSONValue(new.count)), ("blocked", JSONValue(blocked.count)),
            ])),
            ("create", JSONValue(create)),
            ("modify", .array(items.compactMap { item in
                guard case .modify(let changes) = item.action else { return nil }
                var pairs: [(String, JSONValue)] = [("path", JSONValue(item.path)), ("changes", JSONValue(changes))]
                if let m = item.modeChange {
                    pairs.append(("mode", .object([("now", JSONValue(octalMode(m.now))), ("restored", JSONValue(octalMode(m.restored)))])))
                }
                return .object(pairs)
            })),
            ("delete", JSONValue(delete)),
            ("unchanged", JSONValue(unchanged)),
            ("new", JSONValue(new)),
            ("leftovers", JSONValue(leftovers)),
            ("blocked", JSONValue(blocked)),
        ])
    }

    /// The dry-run text: one count line, then one line per path that would change.
    public func text() -> String {
        var out = "snapshot \(snapshot): \(create.count) to create, \(modify.count) to modify, \(delete.count) to delete, "
            + "\(unchanged.count) unchanged"
        if !deleteNew && !new.isEmpty { out += ", \(new.count) new (kept)" }
        if !blocked.isEmpty { out += ", \(blocked.count) blocked" }
        out += "\n"
        for p in create { out += "create    \(p)\n" }
        for m in modify { out += "modify    \(m.path) (\(m.changes.joined(separator: ", ")))\n" }
        if modify.contains(where: { $0.changes.contains { $0.contains(" -> ") } }) {
            out += "          (X -> Y: X is what is on disk now, Y what the restore makes it)\n"
        }
        for p in delete { out += "delete    \(p)\n" }
        if !deleteNew { for p in new { out += "new       \(p) (kept; --delete-new deletes it)\n" } }
        for p in leftovers { out += "leftover  \(p) (temp file of an interrupted restore; removed)\n" }
        for p in blocked { out += "blocked   \(p)\n" }
        return out
    }
}

/// Prefix of the temp names a restore writes before renaming into place.
let restoreTempPrefix = ".guarded-run-tmp."

extension SnapshotStore {
    /// Compares `manifest` with the disk. Reads no blob: content is compared by size, then by hashing
    /// the current file.
    public func plan(_ manifest: SnapshotManifest, deleteNew: Bool) -> RestorePlan {
        var plan = RestorePlan(snapshot: manifest.id, deleteNew: deleteNew)
        let compareOwner = CurrentProcess.effectiveUserID == 0
        var current: [String: FileStatus] = [:]   // absolute path -> what is there now (lstat)
        var inManifest = Set<String>()
        for e in manifest.entries { inManifest.insert(manifest.absolutePath(of: e)) }
        var reachableBases = Set<String>()

        for (index, root) in manifest.roots.enumerated() {
            let base = root.patterns == nil ? parentDirectory(of: root.path) : root.path
            do {
                _ = try openDirectoryStrictly(base)
                reachableBases.insert(base)
            } catch {
                if manifest.entries.contains(where: { $0.root == index }) || root.patterns == nil {
                    plan.blocked.append("\(base): not a directory reached without symlinks (\(error.errno))")
                }
            }
        }

        for e in manifest.entries {
            let root = manifest.roots[e.root]
            let path = root.absolute(e.path)
            let parent = e.path == "." ? parentDirectory(of: root.path) : parentDirectory(of: path)
            let isBase = e.path == "." || (root.patterns != nil && !e.path.contains("/"))
            let parentIsDirectory = isBase ? reachableBases.contains(parent) : current[parent]?.isDirectory == true
            let now = parentIsDirectory ? fileStatusIfPresent(path) : nil
            if let now { current[path] = now }
            var action = RestorePlan.Action.create
            var replacesDirectory = false
            var modeChange: (now: UInt32, restored: UInt32)? = nil
            if let now {
                var changes: [String] = []
                let wanted = typeName(e.type)
                let have = fileTypeName(now)
                if have != wanted {
                    changes.append("type (\(have) -> \(wanted))")
                    if now.isDirectory && !((try? directoryEntries(path))?.isEmpty ?? true) {
                        replacesDirectory = true
                        for name in ((try? directoryEntries(path)) ?? []).sorted() { plan.new.append(path + "/" + name) }
                    }
                } else {
                    switch e.type {
                    case .file:
                        if now.size != e.size || currentFileHash(path, now) != e.sha256 { changes.append("content") }
                    case .symlink:
                        if (try? readSymbolicLink(path)) != e.target { changes.append("target") }
                    case .directory:
                        break
                    }
                    if e.type != .symlink && now.permissions != e.mode {
                        changes.append("mode \(octalMode(now.permissions)) -> \(octalMode(e.mode))")
                        modeChange = (now.permissions, e.mode)
                    }
                    if compareOwner && (now.uid != e.uid || now.gid != e.gid) {
                        changes.append("owner \(now.uid):\(now.gid) -> \(e.uid):\(e.gid)")
                    }
                }
                action = changes.isEmpty ? .unchanged : .modify(changes)
            }
            plan.items.append(RestorePlan.Item(entry: e, path: path, action: action, replacesDirectory: replacesDirectory, modeChange: modeChange))
            if replacesDirectory && !deleteNew {
                plan.blocked.append("\(path): a non-empty directory is where the snapshot has a \(typeName(e.type)) (--delete-new replaces it)")
            }
        }

        // What the roots hold that the snapshot does not.
        func scan(_ directory: String, only root: SnapshotRoot?) {
            for name in ((try? directoryEntries(directory)) ?? []).sorted() {
                if let root, !root.matches(name: name) { continue }
                let child = directory + "/" + name
                if inManifest.contains(child) { continue }
                if name.hasPrefix(restoreTempPrefix) { plan.leftovers.append(child) } else { plan.new.append(child) }
            }
        }
        for e in manifest.entries where e.type == .directory {
            let path = manifest.absolutePath(of: e)
            if current[path]?.isDirectory == true { scan(path, only: nil) }
        }
        for root in manifest.roots {
            if let _ = root.patterns {
                if reachableBases.contains(root.path) { scan(root.path, only: root) }
            } else if !inManifest.contains(root.path), reachableBases.contains(parentDirectory(of: root.path)),
                      fileStatusIfPresent(root.path) != nil {
                plan.new.append(root.path)
            }
        }
        plan.new.sort()
        return plan
    }

    /// sha256 of a current file, read without following a symlink; nil when unreadable.
    private func currentFileHash(_ path: String, _ st: FileStatus) -> String? {
        guard let fd = try? FileDescriptor.open(path, [.readOnly, .noFollow, .nonBlocking]),
              let bytes = try? readAllSized(fd, expected: Int(st.size), path: path) else { return nil }
        return SHA256.hex(bytes)
    }
}

/// Permission bits as `ls -l`'s numeric form, at least four octal digits: `0644`, `4755`.
func octalMode(_ mode: UInt32) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

func typeName(_ type: EntryType) -> String {
    switch type {
    case .file: return "file"
    case .directory: return "directory"
    case .symlink: return "symlink"
    }
}

/// Opens directory `absolute` by walking from `/` one component at a time with `O_NOFOLLOW`:
/// any symlink on the way (planted or not) is an error (`ELOOP` or `ENOTDIR`), so what we open is
/// really at that path.
func openDirectoryStrictly(_ absolute: String) throws(SystemError) -> FileDescriptor {
    var fd = try FileDescriptor.open("/", [.readOnly, .directory])
    var walked = ""
    for part in absolute.split(separator: "/") {
        walked += "/" + part
        let next: FileDescriptor
        do { next = try fd.openAt(String(part), [.readOnly, .directory, .noFollow]) } catch { throw SystemError("open", path: walked, errno: error.errno) }
        fd = next
    }
    return fd
}
