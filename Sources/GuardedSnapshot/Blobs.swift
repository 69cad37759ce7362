import GuardedSystem

/// Where one blob lives: a byte range of a pack file.
struct BlobLocation: Sendable {
    let pack: String
    let offset: Int64
    let size: Int64
}

/// The content-addressed blob store. Each create writes the contents it is the first to see into
/// one pack, `packs/<snapshot id>.pack`, with an index `packs/<snapshot id>.idx` (one line per blob:
/// `<sha256> <offset> <size>`). A content any pack already holds intact is not stored again, so a
/// file that did not change between snapshots is stored once. One pack per snapshot rather than
/// one file per blob: creating a thousand small files costs far more than writing one.
/// Index lines that do not parse are ignored (garbage is a miss); every read is checked against
/// the manifest's size and sha256, so a bad index can only make a blob "damaged", never wrong.
final class BlobStore {
    let path: String
    private(set) var index: [String: BlobLocation] = [:]
    private var open: [String: Int32] = [:]

    init(path: String) {
        self.path = path
        // Packs are named by snapshot id, so sorted order is age: a newer pack's copy wins.
        for name in ((try? directoryEntries(path)) ?? []).sorted() where name.hasSuffix(".idx") {
            let pack = String(name.dropLast(4))
            guard let text = try? readTextFile("\(path)/\(name)", limit: 256 << 20) else { continue }
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count == 3, isSHA256Hex(String(f[0])), let offset = Int64(f[1]), let size = Int64(f[2]),
                      offset >= 0, size >= 0 else { continue }
                index[String(f[0])] = BlobLocation(pack: pack, offset: offset, size: size)
            }
        }
    }

    deinit { for fd in open.values { _ = close(fd) } }

    func packPath(_ pack: String) -> String { "\(path)/\(pack).pack" }

    /// Reads a blob and checks it against the manifest's size and hash. A missing blob is damage,
    /// never "the file was absent".
    func read(_ sha: String, size: Int64) throws(SnapshotError) -> [UInt8] {
        guard let location = index[sha] else { throw .damaged("blob \(sha) is missing from the store: \(path)") }
        let file = packPath(location.pack)
        guard location.size == size else {
            throw .damaged("blob \(sha) has \(location.size) bytes in its pack, the manifest says \(size): \(file)")
        }
        let fd: Int32
        if let known = open[location.pack] {
            fd = known
        } else {
            do { fd = try FileDescriptor.open(file, O_RDONLY | O_NOFOLLOW).release() } catch {
                throw .damaged("blob \(sha) is unreadable: \(error)")
            }
            open[location.pack] = fd
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < Int(size) {
            let n = bytes.withUnsafeMutableBytes { p in
                retryingOnInterrupt { pread(fd, p.baseAddress! + done, Int(size) - done, off_t(location.offset) + off_t(done)) }
            }
            if n < 0 { throw .damaged("blob \(sha) is unreadable: \(SystemError("read", path: file))") }
            if n == 0 { throw .damaged("blob \(sha) is cut short (its pack is truncated): \(file)") }
            done += n
        }
        guard SHA256.hex(bytes) == sha else { throw .damaged("blob \(sha) does not match its hash: \(file)") }
        return bytes
    }

    /// True when the store holds an intact copy of `sha` (read and hashed: a damaged copy is not reused).
    func hasIntact(_ sha: String, size: Int64) -> Bool {
        guard index[sha] != nil else { return false }
        return (try? read(sha, size: size)) != nil
    }
}

/// Writes one new pack: contents appended as they come, then fsync, the index written atomically,
/// and the pack renamed to its final name. The manifest that refers to it is written after.
final class PackWriter {
    let directory: String
    let name: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var offset: Int64 = 0
    private var lines = ""
    private(set) var added: [String: Int64] = [:]

    init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    deinit {
        if fd >= 0 {
            _ = close(fd)
            _ = unlink(tempPath)
        }
    }

    private var tempPath: String { "\(directory)/.\(name).pack.tmp" }

    func add(_ bytes: [UInt8], sha: String) throws(SystemError) {
        if added[sha] != nil { return }
        if fd < 0 { fd = try FileDescriptor.open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600).release() }
        lines += "\(sha) \(offset) \(bytes.count)\n"
        added[sha] = offset
        offset += Int64(bytes.count)
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws(SystemError) {
        guard !buffer.isEmpty else { return }
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { p in retryingOnInterrupt { write(fd, p.baseAddress! + done, p.count - done) } }
            if n < 0 { throw SystemError("write", path: tempPath) }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Makes the pack durable and visible; nothing to do when no content was new.
    func finish() throws(SystemError) {
        guard fd >= 0 else { return }
        try flush()
        if retryingOnInterrupt({ fsync(fd) }) != 0 { throw SystemError("fsync", path: tempPath) }
        _ = close(fd)
        fd = -1
        try renameItem(tempPath, to: "\(directory)/\(name).pack")
        // The index last: an index never names a pack that is not complete on disk.
        try writeFileAtomically("\(directory)/\(name).idx", lines)
    }
}

/// Reads a whole file whose size is roughly known: one read(2) for the common case of a small file
/// that did not change size, else more until end of file. A file larger than `limit` is refused.
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
        // A regular file that gave exactly its fstat size is done: skip the read that returns 0.
        if count == expected && expected > 0 { break }
    }
    buffer.removeSubrange(count...)
    return buffer
}
