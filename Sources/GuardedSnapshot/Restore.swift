import GuardedCore
import GuardedSystem

public struct RestoreOptions: Sendable {
    public var deleteNew = false
    public var reload = false
    public var waitSeconds = SnapshotStore.defaultWaitSeconds
    /// Test-only (GUARDED_RUN_TEST_PAUSE_AFTER_FILES): stop for good after writing this many files,
    /// so a test can SIGKILL the restore at a known point.
    public var testPauseAfterFiles: Int?
    /// Test-only (GUARDED_RUN_TEST_PAUSE_MARKER): a file written when the pause begins.
    public var testPauseMarker: String?

    public init() {}
}

public struct RestoreReport: Sendable {
    public let plan: RestorePlan
    /// The automatic snapshot of the state before the restore (nil when there was nothing to change).
    public let preRestore: SnapshotManifest?
    public let reloadCommands: [[String]]
    public let reloadFailures: [String]
    public let notes: [String]
}

extension SnapshotStore {
    /// Restores snapshot `id` (with `--force`): under the store's lock, verifies every blob, plans,
    /// refuses when anything is blocked, takes and verifies a pre-restore snapshot of the same roots,
    /// then writes. Nothing is written unless all of that succeeded.
    public func restore(_ id: String, options: RestoreOptions) throws(SnapshotError) -> RestoreReport {
        let lock = try lock(waitSeconds: options.waitSeconds)
        var notes: [String] = []
        if let stale = lock.staleMessage { notes.append(stale) }
        let manifest = try load(id)
        let problems = verify(manifest)
        if !problems.isEmpty {
            throw .damaged("snapshot \(id) is damaged; nothing written: " + summary(problems))
        }
        let plan = plan(manifest, deleteNew: options.deleteNew)
        if !plan.blocked.isEmpty {
            throw .refused("snapshot \(id) cannot be restored as asked; nothing written: " + summary(plan.blocked))
        }
        guard plan.hasChanges else {
            return RestoreReport(plan: plan, preRestore: nil, reloadCommands: [], reloadFailures: [], notes: notes)
        }
        var roots = manifest.roots
        for i in roots.indices { roots[i].git = nil }
        let before = try create(roots: roots, label: "before restore of \(id)", tag: nil, kind: .preRestore, guards: id,
                                requireExisting: false, holding: lock)
        let beforeProblems = verify(before)
        if !beforeProblems.isEmpty {
            throw .damaged("the pre-restore snapshot \(before.id) does not verify; nothing written: " + summary(beforeProblems))
        }

        // Before writing: a deleted plist's owner is read from the file.
        let commands = plan.reloadCommands()
        var writer = TreeWriter(blobs: blobs(), options: options)
        try system { () throws(SystemError) in try writer.apply(plan) }
        let failures = options.reload ? runReloadCommands(commands) : []
        if let blobFailure = writer.blobFailure { throw blobFailure }
        return RestoreReport(plan: plan, preRestore: before, reloadCommands: commands, reloadFailures: failures, notes: notes)
    }
}

func summary(_ problems: [String]) -> String {
    problems[0] + (problems.count > 1 ? " (and \(problems.count - 1) more)" : "")
}

/// Applies a plan with `*at` calls relative to directories opened from `/` without following
/// symlinks, so a symlink planted at a parent can never redirect a write; each file is replaced by
/// rename(2) of a fully written, fsync'd temp file in the same directory, then that directory is
/// fsync'd: a crash leaves the old file or the new one, never a mix.
struct TreeWriter {
    let blobs: BlobStore
    let options: RestoreOptions
    let restoreOwner = CurrentProcess.effectiveUserID == 0
    var filesWritten = 0
    /// A blob that changed between the verification and the write (should be impossible under the lock).
    var blobFailure: SnapshotError?
    private var cached: (path: String, directory: SharedFileDescriptor)?

    init(blobs: BlobStore, options: RestoreOptions) {
        self.blobs = blobs
        self.options = options
    }

    mutating func apply(_ plan: RestorePlan) throws(SystemError) {
        defer { cached = nil }
        // Deletions first: a new path may be inside a directory that an entry then replaces.
        for path in plan.delete + plan.leftovers {
            let dir = try directory(parentDirectory(of: path))
            try removeTree(in: dir.rawValue, baseName(of: path))
        }
        var directories: [RestorePlan.Item] = []
        for item in plan.items where item.action != .unchanged {
            let parent = parentDirectory(of: item.path), name = baseName(of: item.path)
            let dir = try directory(parent)
            let now = try? fileStatus(in: dir.rawValue, name)
            switch item.entry.type {
            case .directory:
                if let now, !now.isDirectory { try dir.descriptor.removeEntry(name, path: item.path) }
                if now?.isDirectory != true { try dir.descriptor.makeDirectory(name, mode: 0o700, path: item.path) }
                directories.append(item)
            case .file, .symlink:
                if now?.isDirectory == true { try removeTree(in: dir.rawValue, name) }
                if item.entry.type == .file {
                    guard let bytes = readVerified(item.entry) else { return }
                    try writeFile(dir.descriptor, name, item, bytes)
                } else {
                    try writeSymlink(dir.descriptor, name, item)
                }
                try dir.descriptor.sync(path: parent)
                filesWritten += 1
                if let limit = options.testPauseAfterFiles, filesWritten == limit { pauseForTest() }
            }
        }
        // Directory modes, owners and times last: writing children changes a directory's mtime, and
        // a read-only directory mode would stop the writes. Deepest first.
        for item in directories.reversed() {
            let parent = parentDirectory(of: item.path), name = baseName(of: item.path)
            let dir = try directory(parent)
            let fd: FileDescriptor
            do { fd = try dir.descriptor.openAt(name, [.readOnly, .directory, .noFollow]) } catch {
                throw SystemError("open", path: item.path, errno: error.errno)
            }
            try setMetadata(fd, item.entry, path: item.path)
        }
    }

    /// The parent directory, opened strictly from `/` (cached: entries come sorted, so neighbours
    /// share it).
    private mutating func directory(_ path: String) throws(SystemError) -> SharedFileDescriptor {
        if let cached, cached.path == path { return cached.directory }
        cached = nil
        let opened = SharedFileDescriptor(try openDirectoryStrictly(path))
        cached = (path, opened)
        return opened
    }

    private mutating func readVerified(_ entry: SnapshotEntry) -> [UInt8]? {
        do throws(SnapshotError) {
            return try blobs.read(entry.sha256 ?? "", size: entry.size)
        } catch {
            blobFailure = error
            return nil
        }
    }

    private func writeFile(_ dir: borrowing FileDescriptor, _ name: String, _ item: RestorePlan.Item, _ bytes: [UInt8]) throws(SystemError) {
        let temp = restoreTempPrefix + randomHex(6)
        let fd: FileDescriptor
        do { fd = try dir.openAt(temp, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600) } catch {
            throw SystemError("open", path: parentDirectory(of: item.path) + "/" + temp, errno: error.errno)
        }
        do throws(SystemError) {
            try fd.writeAll(bytes, path: item.path)
            try setMetadata(fd, item.entry, path: item.path)
            try fd.sync(path: item.path)
        } catch {
            try? dir.removeEntry(temp)
            throw error
        }
        try rename(dir, temp, to: name, path: item.path)
    }

    private func writeSymlink(_ dir: borrowing FileDescriptor, _ name: String, _ item: RestorePlan.Item) throws(SystemError) {
        let temp = restoreTempPrefix + randomHex(6)
        try dir.makeSymbolicLink(temp, pointingTo: item.entry.target ?? "", path: item.path)
        if restoreOwner { try? dir.changeOwner(ofEntry: temp, uid: item.entry.uid, gid: item.entry.gid) }
        try? dir.setTimes(ofEntry: temp, nanoseconds: item.entry.mtimeNs)
        try rename(dir, temp, to: name, path: item.path)
    }

    private func rename(_ dir: borrowing FileDescriptor, _ temp: String, to name: String, path: String) throws(SystemError) {
        do { try dir.renameEntry(temp, to: name, path: path) } catch {
            try? dir.removeEntry(temp)
            throw error
        }
    }

    /// Owner first (chown clears setuid/setgid bits), then mode, then times.
    private func setMetadata(_ fd: borrowing FileDescriptor, _ entry: SnapshotEntry, path: String) throws(SystemError) {
        if restoreOwner { try fd.changeOwner(uid: entry.uid, gid: entry.gid, path: path) }
        try fd.changeMode(entry.mode, path: path)
        try fd.setTimes(nanoseconds: entry.mtimeNs, path: path)
    }

    private func pauseForTest() -> Never {
        if let marker = options.testPauseMarker { try? writeFileAtomically(marker, "paused \(CurrentProcess.id)\n") }
        writeStandardError(Diagnostics.line("snapshot: test pause after \(filesWritten) files (pid \(CurrentProcess.id))"))
        CurrentProcess.suspendForever()
    }
}
