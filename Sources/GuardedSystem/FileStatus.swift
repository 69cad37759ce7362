/// The parts of `struct stat` this program compares or reports.
public struct FileStatus: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var mode: UInt32
    public var linkCount: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var mtimeNs: Int64
    public var ctimeNs: Int64

    public init(device: UInt64, inode: UInt64, mode: UInt32, linkCount: UInt64, uid: UInt32, gid: UInt32,
                size: Int64, mtimeNs: Int64, ctimeNs: Int64) {
        self.device = device; self.inode = inode; self.mode = mode; self.linkCount = linkCount
        self.uid = uid; self.gid = gid; self.size = size; self.mtimeNs = mtimeNs; self.ctimeNs = ctimeNs
    }

    public init(_ st: stat) {
        #if canImport(Darwin)
        let m = FileStatus.nanoseconds(Int64(st.st_mtimespec.tv_sec), Int64(st.st_mtimespec.tv_nsec))
        let c = FileStatus.nanoseconds(Int64(st.st_ctimespec.tv_sec), Int64(st.st_ctimespec.tv_nsec))
        #else
        let m = FileStatus.nanoseconds(Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec))
        let c = FileStatus.nanoseconds(Int64(st.st_ctim.tv_sec), Int64(st.st_ctim.tv_nsec))
        #endif
        self.init(device: UInt64(truncatingIfNeeded: st.st_dev), inode: UInt64(truncatingIfNeeded: st.st_ino),
                  mode: UInt32(truncatingIfNeeded: st.st_mode), linkCount: UInt64(truncatingIfNeeded: st.st_nlink),
                  uid: UInt32(st.st_uid), gid: UInt32(st.st_gid), size: Int64(st.st_size),
                  mtimeNs: m, ctimeNs: c)
    }

    /// A file time in nanoseconds since the epoch, saturated at Int64's limits: anyone can
    /// `touch -d 2300-01-01` a file, and 64-bit nanoseconds end in April 2262 (and begin in 1677).
    /// A saturated mtime still changes identity with its ctime, which the kernel sets to now.
    @inline(__always)
    public static func nanoseconds(_ seconds: Int64, _ fraction: Int64) -> Int64 {
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, overflow2) = whole.addingReportingOverflow(fraction)
        if overflow2 { return fraction < 0 ? Int64.min : Int64.max }
        return sum
    }

    /// Same file, same content as far as metadata can tell: device, inode, mode, size, mtime and
    /// ctime (ns) all equal. ctime catches what mtime misses: chmod, a hard link, a rename onto the
    /// path, a `touch -d` back in time. (Link count, owner and times of access are not compared.)
    @inline(__always)
    public func sameIdentityAndTimes(as other: FileStatus) -> Bool {
        device == other.device && inode == other.inode && mode == other.mode
            && size == other.size && mtimeNs == other.mtimeNs && ctimeNs == other.ctimeNs
    }

    public var fileType: UInt32 { mode & UInt32(S_IFMT) }
    public var permissions: UInt32 { mode & 0o7777 }
    public var isDirectory: Bool { fileType == UInt32(S_IFDIR) }
    public var isRegularFile: Bool { fileType == UInt32(S_IFREG) }
    public var isSymbolicLink: Bool { fileType == UInt32(S_IFLNK) }
}

/// `lstat(2)`: the entry itself, never what a symlink points at.
public func fileStatus(_ path: String, followSymlinks: Bool = false) throws(SystemError) -> FileStatus {
    var st = stat()
    let rc = followSymlinks ? stat(path, &st) : lstat(path, &st)
    if rc != 0 { throw SystemError(followSymlinks ? "stat" : "lstat", path: path) }
    return FileStatus(st)
}

/// `lstat(2)` on a C string (the launcher's fast path has no String to give); nil on failure.
@inline(__always)
public func fileStatusIfPresent(cPath: UnsafePointer<CChar>) -> FileStatus? {
    var st = stat()
    return lstat(cPath, &st) == 0 ? FileStatus(st) : nil
}

/// `lstat(2)` that answers nil instead of throwing, for existence tests.
public func fileStatusIfPresent(_ path: String, followSymlinks: Bool = false) -> FileStatus? {
    try? fileStatus(path, followSymlinks: followSymlinks)
}

/// `fstat(2)`.
public func fileStatus(descriptor fd: Int32) throws(SystemError) -> FileStatus {
    var st = stat()
    if fstat(fd, &st) != 0 { throw SystemError("fstat") }
    return FileStatus(st)
}

/// `readlink(2)`: the link text, unresolved.
public func readSymbolicLink(_ path: String) throws(SystemError) -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = buffer.withUnsafeMutableBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { readlink(path, $0, p.count - 1) }
    }
    if n < 0 { throw SystemError("readlink", path: path) }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`: `name` inside the open directory `directory`, never
/// what a symlink there points at. Relative to a descriptor, so a symlink planted at a parent
/// after the directory was opened cannot redirect it.
public func fileStatus(in directory: Int32, _ name: String) throws(SystemError) -> FileStatus {
    var st = stat()
    if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("lstat", path: name) }
    return FileStatus(st)
}

/// `readlinkat(2)`: the link text of `name` inside `directory`, unresolved.
public func readSymbolicLink(in directory: Int32, _ name: String) throws(SystemError) -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = buffer.withUnsafeMutableBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { readlinkat(directory, name, $0, p.count - 1) }
    }
    if n < 0 { throw SystemError("readlink", path: name) }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

extension FileStatus {
    /// What a fingerprint records for a path that must stay absent: all zero (mode 0 is no file
    /// type lstat can report). The path matches while lstat fails with ENOENT.
    public static let absent = FileStatus(device: 0, inode: 0, mode: 0, linkCount: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0, ctimeNs: 0)
    @inline(__always)
    public var isAbsent: Bool { mode == 0 }
}

/// True when `lstat` says nothing is there (ENOENT). A path that cannot be looked at (EACCES,
/// ENOTDIR) is not "absent".
@inline(__always)
public func pathIsAbsent(cPath: UnsafePointer<CChar>) -> Bool {
    var st = stat()
    return lstat(cPath, &st) != 0 && errno == ENOENT
}

public func pathIsAbsent(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) != 0 && errno == ENOENT
}
