import GuardedSystem

/// Walks the roots without following any symlink (a symlink is recorded as its link text), hashes
/// every regular file and stores its blob. Below each root the walk works on directory descriptors
/// (`openat`/`fstatat` relative to the open parent, `O_NOFOLLOW`), so a symlink swapped in for a
/// directory during the walk cannot lead it elsewhere, and each lookup is one name, not a path.
struct Capture {
    let blobs: BlobStore
    let pack: PackWriter
    var entries: [SnapshotEntry] = []
    /// One read buffer for every file, grown to the largest (`readAllSized` allocates per file).
    private var buffer: [UInt8] = []

    init(blobs: BlobStore, pack: PackWriter) {
        self.blobs = blobs
        self.pack = pack
    }

    /// `requireExisting`: a missing plain root is an error (an operator's typo) rather than "absent".
    mutating func run(roots: [SnapshotRoot], requireExisting: Bool) throws(SnapshotError) {
        for (index, root) in roots.enumerated() {
            if let _ = root.patterns {
                guard let st = fileStatusIfPresent(root.path), st.isDirectory else { continue }
                let directory = try openDirectory(root.path)
                let names = try system { () throws(SystemError) in
                    try directoryEntriesWithTypes(in: directory.rawValue, path: root.path)
                }.sorted { $0.name < $1.name }
                for (name, type) in names where root.matches(name: name) {
                    try visit(root: index, relative: name, in: directory.rawValue, name: name, type: type, absolute: root.absolute(name))
                }
            } else {
                guard fileStatusIfPresent(root.path) != nil else {
                    if requireExisting { throw .usage("no such file or directory: \(root.path)") }
                    continue
                }
                // The root's own directory part was resolved (no symlink in it) when the root was made.
                let parent = try openDirectory(parentDirectory(of: root.path))
                try visit(root: index, relative: ".", in: parent.rawValue, name: baseName(of: root.path), type: DirectoryEntryType.unknown, absolute: root.path)
            }
        }
    }

    private func openDirectory(_ path: String) throws(SnapshotError) -> FileDescriptor {
        try system { () throws(SystemError) in try FileDescriptor.open(path, [.readOnly, .directory, .noFollow]) }
    }

    /// `name` in the open directory `parent`; `type` is its d_type from readdir (a hint: what is
    /// opened is checked with fstat).
    private mutating func visit(root: Int, relative: String, in parent: Int32, name: String, type: UInt8,
                                absolute: String) throws(SnapshotError) {
        // A regular file by its d_type: open it straight away, no lstat. If it is no longer a
        // regular file (or is now a symlink: ELOOP), fall through to the lstat path below.
        if type == DirectoryEntryType.regular, let file = try? openFile(in: parent, name, absolute: absolute),
           let st = try? file.status(), st.isRegularFile {
            var entry = SnapshotEntry(root: root, path: relative, type: .file, mode: st.permissions, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs)
            try captureFile(&entry, file, size: st.size, absolute: absolute)
            entries.append(entry)
            return
        }
        let st = try system { () throws(SystemError) in try relativeToAbsolute(absolute) { () throws(SystemError) in try fileStatus(in: parent, name) } }
        var entry = SnapshotEntry(root: root, path: relative, type: .file, mode: st.permissions, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs)
        if st.isRegularFile {
            let file = try system { () throws(SystemError) in try openFile(in: parent, name, absolute: absolute) }
            let now = try system { () throws(SystemError) in try file.status() }
            guard now.isRegularFile, now.inode == st.inode, now.device == st.device else {
                throw .system(SystemError("open", path: absolute, errno: .invalidArgument))
            }
            try captureFile(&entry, file, size: now.size, absolute: absolute)
            entries.append(entry)
        } else if st.isSymbolicLink {
            entry.type = .symlink
            let target = try system { () throws(SystemError) in try relativeToAbsolute(absolute) { () throws(SystemError) in try readSymbolicLink(in: parent, name) } }
            entry.target = target
            entry.size = Int64(target.utf8.count)
            entries.append(entry)
        } else if st.isDirectory {
            entry.type = .directory
            entries.append(entry)
            let directory = try system { () throws(SystemError) in
                try relativeToAbsolute(absolute) { () throws(SystemError) in
                    try FileDescriptor.open(name, in: parent, [.readOnly, .directory, .noFollow])
                }
            }
            let children = try system { () throws(SystemError) in
                try directoryEntriesWithTypes(in: directory.rawValue, path: absolute)
            }.sorted { $0.name < $1.name }
            for (child, childType) in children {
                try visit(root: root, relative: relative == "." ? child : relative + "/" + child, in: directory.rawValue,
                          name: child, type: childType, absolute: absolute + "/" + child)
            }
        } else {
            throw .refused("cannot snapshot a \(fileTypeName(st)) (only files, directories and symlinks): \(absolute)")
        }
    }

    /// O_NONBLOCK: if the file was swapped for a fifo since readdir or lstat, open must not hang.
    private func openFile(in parent: Int32, _ name: String, absolute: String) throws(SystemError) -> FileDescriptor {
        try relativeToAbsolute(absolute) { () throws(SystemError) in
            try FileDescriptor.open(name, in: parent, [.readOnly, .noFollow, .nonBlocking])
        }
    }

    /// Reads the open file into the shared buffer, hashes it and stores its blob when the store has
    /// no intact copy.
    private mutating func captureFile(_ entry: inout SnapshotEntry, _ file: borrowing FileDescriptor, size: Int64,
                                      absolute: String) throws(SnapshotError) {
        let count = try system { () throws(SystemError) in
            try readAllSized(file, expected: Int(size), into: &buffer, path: absolute)
        }
        let sha = buffer.withUnsafeBytes { SHA256.hex(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        if !blobs.hasIntact(sha, size: Int64(count)) {
            try system { () throws(SystemError) in try pack.add(buffer[0..<count], sha: sha) }
        }
        entry.sha256 = sha
        entry.size = Int64(count)
    }
}

/// Runs a `*at` call whose error names only the entry, and names the whole path instead.
private func relativeToAbsolute<T: ~Copyable>(_ absolute: String, _ body: () throws(SystemError) -> T) throws(SystemError) -> T {
    do { return try body() } catch { throw SystemError(error.operation, path: absolute, errno: error.errno) }
}

func fileTypeName(_ st: FileStatus) -> String {
    switch st.fileType {
    case FileType.socket: return "socket"
    case FileType.fifo: return "fifo"
    case FileType.characterDevice: return "character device"
    case FileType.blockDevice: return "block device"
    case FileType.directory: return "directory"
    case FileType.symbolicLink: return "symlink"
    case FileType.regular: return "file"
    default: return "special file"
    }
}
