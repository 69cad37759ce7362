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
    private var open: [String: SharedFileDescriptor] = [:]

    init(path: String) {
        self.path = path
        // Packs are named by snapshot id, so sorted order is age: a newer pack's copy wins.
        for name in ((try? directoryEntries(path)) ?? []).sorted() where name.hasSuffix(".idx") {
            let pack = String(name.dropLast(4))
            guard let bytes = try? readFile("\(path)/\(name)", limit: 256 << 20) else { continue }
            BlobStore.parseIndex(bytes) { sha, offset, size in index[sha] = BlobLocation(pack: pack, offset: offset, size: size) }
        }
    }

    /// Calls `found` for each well-formed line `<sha256> <offset> <size>` of a pack index, parsed on
    /// the bytes (an index has a line per blob, thousands of them). Other lines are skipped.
    static func parseIndex(_ bytes: [UInt8], _ found: (String, Int64, Int64) -> Void) {
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            while start < b.count {
                var end = start
                while end < b.count && b[end] != UInt8(ascii: "\n") { end += 1 }
                defer { start = end + 1 }
                // 64 hex digits, a space, digits, a space, digits.
                guard end - start >= 68, b[start + 64] == UInt8(ascii: " "), isLowerHex(UnsafeBufferPointer(rebasing: b[start..<(start + 64)])) else { continue }
                var i = start + 65
                guard let offset = decimal(b, &i, end), i < end, b[i] == UInt8(ascii: " ") else { continue }
                i += 1
                guard let size = decimal(b, &i, end), i == end else { continue }
                found(String(decoding: UnsafeBufferPointer(rebasing: b[start..<(start + 64)]), as: UTF8.self), offset, size)
            }
        }
    }

    /// A run of 1 to 18 ASCII digits at `i` (so it cannot overflow), moving `i` past it.
    private static func decimal(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) -> Int64? {
        var value: Int64 = 0, digits = 0
        while i < end, b[i] >= 48, b[i] <= 57 {
            guard digits < 18 else { return nil }
            value = value * 10 + Int64(b[i] - 48)
            digits += 1; i += 1
        }
        return digits > 0 ? value : nil
    }

    /// Reused by `check`; grown to the largest blob checked.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { scratch.deallocate() }

    func packPath(_ pack: String) -> String { "\(path)/\(pack).pack" }

    /// Reads a blob and checks it against the manifest's size and hash. A missing blob is damage,
    /// never "the file was absent".
    func read(_ sha: String, size: Int64) throws(SnapshotError) -> [UInt8] {
        let (fd, location) = try locate(sha, size: size)
        var failure: SnapshotError? = nil
        // Uninitialized capacity filled by pread: no zero-fill of a buffer about to be overwritten.
        let bytes = [UInt8](unsafeUninitializedCapacity: Int(size)) { buffer, count in
            do throws(SnapshotError) {
                try readRange(fd, location, sha: sha, into: UnsafeMutableRawBufferPointer(buffer))
                count = Int(size)
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        guard SHA256.hex(bytes) == sha else { throw .damaged("blob \(sha) does not match its hash: \(packPath(location.pack))") }
        return bytes
    }

    /// Reads a blob into a scratch buffer the store reuses and checks its size and hash, keeping
    /// nothing: `verify` and `hasIntact` check every blob without an allocation per blob.
    func check(_ sha: String, size: Int64) throws(SnapshotError) {
        let (fd, location) = try locate(sha, size: size)
        if scratch.count < Int(size) {
            scratch.deallocate()
            scratch = .allocate(byteCount: max(Int(size), 64 << 10), alignment: 16)
        }
        let buffer = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(size)])
        try readRange(fd, location, sha: sha, into: buffer)
        guard SHA256.hex(UnsafeRawBufferPointer(buffer)) == sha else {
            throw .damaged("blob \(sha) does not match its hash: \(packPath(location.pack))")
        }
    }

    /// True when the store holds an intact copy of `sha` (read and hashed: a damaged copy is not reused).
    func hasIntact(_ sha: String, size: Int64) -> Bool {
        guard index[sha] != nil else { return false }
        do throws(SnapshotError) { try check(sha, size: size); return true } catch { return false }
    }

    /// The open pack descriptor and location of a blob whose index entry agrees with `size`.
    private func locate(_ sha: String, size: Int64) throws(SnapshotError) -> (SharedFileDescriptor, BlobLocation) {
        guard let location = index[sha] else { throw .damaged("blob \(sha) is missing from the store: \(path)") }
        guard location.size == size else {
            throw .damaged("blob \(sha) has \(location.size) bytes in its pack, the manifest says \(size): \(packPath(location.pack))")
        }
        // Capture refuses files over 1 GiB (readAllSized), so a larger size is a damaged or
        // hostile manifest and index, not a blob to allocate for.
        guard size <= 1 << 30 else { throw .damaged("blob \(sha) claims \(size) bytes: \(packPath(location.pack))") }
        if let known = open[location.pack] { return (known, location) }
        let fd: SharedFileDescriptor
        do { fd = SharedFileDescriptor(try FileDescriptor.open(packPath(location.pack), [.readOnly, .noFollow])) } catch {
            throw .damaged("blob \(sha) is unreadable: \(error)")
        }
        open[location.pack] = fd
        return (fd, location)
    }

    private func readRange(_ fd: SharedFileDescriptor, _ location: BlobLocation, sha: String, into buffer: UnsafeMutableRawBufferPointer) throws(SnapshotError) {
        var done = 0
        while done < buffer.count {
            let n: Int
            do {
                n = try fd.descriptor.readBytes(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]),
                                                at: location.offset + Int64(done), path: packPath(location.pack))
            } catch {
                throw .damaged("blob \(sha) is unreadable: \(error)")
            }
            if n == 0 { throw .damaged("blob \(sha) is cut short (its pack is truncated): \(packPath(location.pack))") }
            done += n
        }
    }
}

/// Writes one new pack: contents appended as they come to `.<id>.pack.tmp`, the index to
/// `.<id>.idx.tmp`; then (`sync`) both fsynced, then (`publish`) renamed to their final names, the
/// pack first, and the directory fsynced. The manifest that refers to them is committed after.
final class PackWriter {
    let directory: String
    let name: String
    private var file: SharedFileDescriptor?
    private var indexFile: SharedFileDescriptor?
    private var buffer: [UInt8] = []
    private var offset: Int64 = 0
    private var lines: [UInt8] = []
    private(set) var added: [String: Int64] = [:]

    init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    /// An unpublished pack (an error before the commit) leaves nothing behind.
    deinit {
        if file != nil {
            file = nil
            try? removeFile(tempPath)
        }
        if indexFile != nil {
            indexFile = nil
            try? removeFile(tempIndexPath)
        }
    }

    private var tempPath: String { "\(directory)/.\(name).pack.tmp" }
    private var tempIndexPath: String { "\(directory)/.\(name).idx.tmp" }

    func add(_ bytes: ArraySlice<UInt8>, sha: String) throws(SystemError) {
        if added[sha] != nil { return }
        if file == nil { file = SharedFileDescriptor(try FileDescriptor.open(tempPath, [.writeOnly, .create, .truncate, .noFollow], mode: 0o600)) }
        lines += sha.utf8
        lines += " \(offset) \(bytes.count)\n".utf8
        added[sha] = offset
        offset += Int64(bytes.count)
        // Written out in 256 KiB batches from one buffer: few writes, and no 1 MiB buffer grown
        // by doubling (each growth a copy and fresh pages to fault in).
        if buffer.capacity < PackWriter.batch { buffer.reserveCapacity(PackWriter.batch + (64 << 10)) }
        buffer.append(contentsOf: bytes)
        if buffer.count >= PackWriter.batch { try flush() }
    }

    private static let batch = 256 << 10

    private func flush() throws(SystemError) {
        guard !buffer.isEmpty, let file else { return }
        try file.descriptor.writeAll(buffer, path: tempPath)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the rest of the pack and the index, both under their temp names; nothing to do when
    /// no content was new.
    func writeRest() throws(SystemError) {
        guard file != nil else { return }
        try flush()
        let index = SharedFileDescriptor(try FileDescriptor.open(tempIndexPath, [.writeOnly, .create, .truncate, .noFollow], mode: 0o600))
        indexFile = index
        try index.descriptor.writeAll(lines, path: tempIndexPath)
    }

    /// fsync of the pack and the index (after `writeRest`).
    func sync() throws(SystemError) {
        guard let file else { return }
        try file.descriptor.sync(path: tempPath)
        try indexFile?.descriptor.sync(path: tempIndexPath)
    }

    /// Renames the pack, then the index, to their final names and fsyncs the directory (after
    /// `sync`). The index last: an index never names a pack that is not complete on disk.
    func publish() throws(SystemError) {
        guard file != nil else { return }
        file = nil
        indexFile = nil
        try renameItem(tempPath, to: "\(directory)/\(name).pack")
        try renameItem(tempIndexPath, to: "\(directory)/\(name).idx")
        try syncDirectory(directory)
    }
}

/// Reads a whole file whose size is roughly known: one read(2) for the common case of a small file
/// that did not change size, else more until end of file. A file larger than `limit` is refused.
func readAllSized(_ fd: borrowing FileDescriptor, expected: Int, limit: Int = 1 << 30, path: String) throws(SystemError) -> [UInt8] {
    var buffer: [UInt8] = []
    let count = try readAllSized(fd, expected: expected, limit: limit, into: &buffer, path: path)
    buffer.removeSubrange(count...)
    return buffer
}

/// `readAllSized` into `buffer`, reused from file to file (it only grows): returns how many bytes
/// of it are the file's.
func readAllSized(_ fd: borrowing FileDescriptor, expected: Int, limit: Int = 1 << 30, into buffer: inout [UInt8], path: String) throws(SystemError) -> Int {
    if buffer.count < expected + 1 { buffer.append(contentsOf: repeatElement(0, count: max(expected + 1, 4096) - buffer.count)) }
    var count = 0
    while true {
        if count == buffer.count {
            if buffer.count > limit { throw SystemError("read", path: path, errno: .fileTooLarge) }
            buffer.append(contentsOf: repeatElement(0, count: buffer.count))
        }
        // withUnsafeMutableBytes rethrows untyped: the error is carried out by hand.
        var failure: SystemError?
        let n = buffer.withUnsafeMutableBytes { p -> Int in
            do throws(SystemError) { return try fd.readBytes(into: UnsafeMutableRawBufferPointer(rebasing: p[count...]), path: path) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        if n == 0 { break }
        count += n
        // A regular file that gave exactly its fstat size is done: skip the read that returns 0.
        if count == expected && expected > 0 { break }
    }
    return count
}
