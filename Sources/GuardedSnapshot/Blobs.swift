import GuardedSystem

/// The content-addressed blob store: `blobs/<first two hex digits>/<sha256>`, one file per distinct
/// content, so a file that did not change between snapshots is stored once.
struct BlobStore {
    let path: String

    func blobPath(_ sha: String) -> String { "\(path)/\(sha.prefix(2))/\(sha)" }

    /// Stores `bytes` (whose sha256 is `sha`) unless an intact copy is already there. A copy that is
    /// there but damaged is replaced, so a new snapshot never points at a bad blob. Not fsync'd
    /// here: the caller makes the whole batch durable with one `syncFileSystem` before it writes the
    /// manifest that refers to them.
    func store(_ bytes: [UInt8], sha: String, knownDirectories: inout Set<String>) throws(SystemError) {
        let final = blobPath(sha)
        if let st = fileStatusIfPresent(final), st.isRegularFile, st.size == Int64(bytes.count),
           let existing = try? readFile(final, limit: bytes.count + 1), SHA256.hex(existing) == sha {
            return
        }
        let directory = "\(path)/\(sha.prefix(2))"
        if !knownDirectories.contains(directory) {
            if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", path: directory) }
            knownDirectories.insert(directory)
        }
        let temp = "\(directory)/.tmp.\(getpid()).\(randomHex(6))"
        do throws(SystemError) {
            let fd = try FileDescriptor.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            try fd.writeAll(bytes, path: temp)
            #if canImport(Darwin)
            try fd.sync(path: temp)
            #endif
        } catch {
            _ = unlink(temp)
            throw error
        }
        if rename(temp, final) != 0 {
            let failure = SystemError("rename", path: final)
            _ = unlink(temp)
            throw failure
        }
    }

    /// Reads a blob and checks it against the manifest's size and hash. A missing blob is damage,
    /// never "the file was absent".
    func read(_ sha: String, size: Int64) throws(SnapshotError) -> [UInt8] {
        let file = blobPath(sha)
        let bytes: [UInt8]
        do {
            let fd = try FileDescriptor.open(file, O_RDONLY | O_NOFOLLOW)
            bytes = try readAllSized(fd.rawValue, expected: Int(clamping: size), path: file)
        } catch {
            throw .damaged("blob \(sha) is unreadable: \(error)")
        }
        guard Int64(bytes.count) == size else {
            throw .damaged("blob \(sha) has \(bytes.count) bytes, the manifest says \(size): \(file)")
        }
        guard SHA256.hex(bytes) == sha else { throw .damaged("blob \(sha) does not match its hash: \(file)") }
        return bytes
    }
}

/// Reads a whole file whose size is roughly known: one read(2) for the common case of a small file
/// that did not change size, then more until end of file. A file larger than `limit` is refused.
func readAllSized(_ fd: Int32, expected: Int, limit: Int = 1 << 30, path: String) throws(SystemError) -> [UInt8] {
    var capacity = max(expected + 1, 4096)
    var buffer = [UInt8](repeating: 0, count: capacity)
    var count = 0
    while true {
        if count == capacity {
            if capacity > limit { throw SystemError("read", path: path, errno: Errno(rawValue: EFBIG)) }
            capacity *= 2
            buffer.append(contentsOf: repeatElement(0, count: capacity - buffer.count))
        }
        let n = buffer.withUnsafeMutableBytes { p in retryingOnInterrupt { read(fd, p.baseAddress! + count, capacity - count) } }
        if n < 0 { throw SystemError("read", path: path) }
        if n == 0 { break }
        count += n
    }
    buffer.removeSubrange(count...)
    return buffer
}
