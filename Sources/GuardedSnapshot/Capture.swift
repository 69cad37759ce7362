import GuardedSystem

/// Walks the roots with lstat (a symlink is recorded as its link text, never followed), hashes
/// every regular file and stores its blob.
struct Capture {
    let blobs: BlobStore
    let pack: PackWriter
    var entries: [SnapshotEntry] = []

    init(blobs: BlobStore, pack: PackWriter) {
        self.blobs = blobs
        self.pack = pack
    }

    /// `requireExisting`: a missing plain root is an error (an operator's typo) rather than "absent".
    mutating func run(roots: [SnapshotRoot], requireExisting: Bool) throws(SnapshotError) {
        for (index, root) in roots.enumerated() {
            if let _ = root.patterns {
                guard let st = fileStatusIfPresent(root.path), st.isDirectory else { continue }
                let names = try system { () throws(SystemError) in try directoryEntries(root.path) }.sorted()
                for name in names where root.matches(name: name) {
                    try visit(root: index, relative: name, absolute: root.absolute(name))
                }
            } else {
                guard fileStatusIfPresent(root.path) != nil else {
                    if requireExisting { throw .usage("no such file or directory: \(root.path)") }
                    continue
                }
                try visit(root: index, relative: ".", absolute: root.path)
            }
        }
    }

    private mutating func visit(root: Int, relative: String, absolute: String) throws(SnapshotError) {
        let st = try system { () throws(SystemError) in try fileStatus(absolute) }
        var entry = SnapshotEntry(root: root, path: relative, type: .file, mode: st.permissions, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs)
        if st.isRegularFile {
            try captureFile(&entry, absolute: absolute, expected: st)
            entries.append(entry)
        } else if st.isSymbolicLink {
            entry.type = .symlink
            let target = try system { () throws(SystemError) in try readSymbolicLink(absolute) }
            entry.target = target
            entry.size = Int64(target.utf8.count)
            entries.append(entry)
        } else if st.isDirectory {
            entry.type = .directory
            entries.append(entry)
            let names = try system { () throws(SystemError) in try directoryEntries(absolute) }.sorted()
            for name in names {
                try visit(root: root, relative: relative == "." ? name : relative + "/" + name, absolute: absolute + "/" + name)
            }
        } else {
            throw .refused("cannot snapshot a \(fileTypeName(st)) (only files, directories and symlinks): \(absolute)")
        }
    }

    private mutating func captureFile(_ entry: inout SnapshotEntry, absolute: String, expected: FileStatus) throws(SnapshotError) {
        // O_NONBLOCK: if the file was swapped for a fifo since the lstat, open must not hang.
        let bytes: [UInt8] = try system { () throws(SystemError) in
            let fd = try FileDescriptor.open(absolute, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
            let now = try fd.status()
            guard now.isRegularFile, now.inode == expected.inode, now.device == expected.device else {
                throw SystemError("open", path: absolute, errno: .invalidArgument)
            }
            return try readAllSized(fd.rawValue, expected: Int(now.size), path: absolute)
        }
        let sha = SHA256.hex(bytes)
        if !blobs.hasIntact(sha, size: Int64(bytes.count)) {
            try system { () throws(SystemError) in try pack.add(bytes, sha: sha) }
        }
        entry.sha256 = sha
        entry.size = Int64(bytes.count)
    }
}

func fileTypeName(_ st: FileStatus) -> String {
    switch st.fileType {
    case UInt32(S_IFSOCK): return "socket"
    case UInt32(S_IFIFO): return "fifo"
    case UInt32(S_IFCHR): return "character device"
    case UInt32(S_IFBLK): return "block device"
    case UInt32(S_IFDIR): return "directory"
    case UInt32(S_IFLNK): return "symlink"
    case UInt32(S_IFREG): return "file"
    default: return "special file"
    }
}
