#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls on an open descriptor, and on one name inside an open directory (`*at`, never following a
/// symlink at that name), for the modules that write trees entry by entry (a snapshot's capture
/// and restore): a parent swapped for a symlink after it was opened cannot redirect them.
extension FileDescriptor {
    /// `openat(2)` of `name` relative to the directory descriptor `directory`, with `O_CLOEXEC`
    /// always added; the error names `name`.
    public static func open(_ name: String, in directory: Int32, _ flags: OpenFlags, mode: FileMode = 0o600) throws(SystemError) -> FileDescriptor {
        let fd = retryingOnInterrupt { openat(directory, name, flags.rawValue | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("open", path: name) }
        return FileDescriptor(adopting: fd)
    }

    /// `read(2)`: up to `buffer.count` bytes at the file position; 0 at end of file.
    public func readBytes(into buffer: UnsafeMutableRawBufferPointer, path: String? = nil) throws(SystemError) -> Int {
        let n = retryingOnInterrupt { read(rawValue, buffer.baseAddress, buffer.count) }
        if n < 0 { throw SystemError("read", path: path) }
        return n
    }

    /// `pwrite(2)` of all of `bytes` at `offset` (a short write is an error: only small texts go here).
    public func writeBytes(_ bytes: [UInt8], at offset: Int64, path: String? = nil) throws(SystemError) {
        let n = bytes.withUnsafeBytes { p in retryingOnInterrupt { pwrite(rawValue, p.baseAddress, p.count, off_t(offset)) } }
        if n < 0 { throw SystemError("write", path: path) }
        if n != bytes.count { throw SystemError("write", path: path, errno: .fileTooLarge) }
    }

    /// `ftruncate(2)`.
    public func truncate(to size: Int64, path: String? = nil) throws(SystemError) {
        if retryingOnInterrupt({ ftruncate(rawValue, off_t(size)) }) != 0 { throw SystemError("ftruncate", path: path) }
    }

    /// `fchown(2)`. A chown may clear the set-id bits: change the owner before the mode.
    public func changeOwner(uid: UInt32, gid: UInt32, path: String? = nil) throws(SystemError) {
        if fchown(rawValue, uid_t(uid), gid_t(gid)) != 0 { throw SystemError("fchown", path: path) }
    }

    /// `fchmod(2)`: exactly `mode`, whatever the umask made of it at creation.
    public func changeMode(_ mode: UInt32, path: String? = nil) throws(SystemError) {
        if fchmod(rawValue, FileMode(truncatingIfNeeded: mode)) != 0 { throw SystemError("fchmod", path: path) }
    }

    /// `futimens(2)`: access and modification time both `nanoseconds` since the epoch.
    public func setTimes(nanoseconds: Int64, path: String? = nil) throws(SystemError) {
        var times = [timespec.from(nanoseconds: nanoseconds), timespec.from(nanoseconds: nanoseconds)]
        if futimens(rawValue, &times) != 0 { throw SystemError("futimens", path: path) }
    }

    /// `mkdirat(2)`: the directory `name` inside this one.
    public func makeDirectory(_ name: String, mode: FileMode, path: String? = nil) throws(SystemError) {
        if mkdirat(rawValue, name, mode) != 0 { throw SystemError("mkdir", path: path ?? name) }
    }

    /// `symlinkat(2)`: `name` inside this directory, a symlink to `target`.
    public func makeSymbolicLink(_ name: String, pointingTo target: String, path: String? = nil) throws(SystemError) {
        if symlinkat(target, rawValue, name) != 0 { throw SystemError("symlink", path: path ?? name) }
    }

    /// `unlinkat(2)` of the non-directory `name` inside this directory; missing is an error too
    /// (`removeFile` is the call for which missing is success).
    public func removeEntry(_ name: String, path: String? = nil) throws(SystemError) {
        if unlinkat(rawValue, name, 0) != 0 { throw SystemError("unlink", path: path ?? name) }
    }

    /// `fchownat(2)` with `AT_SYMLINK_NOFOLLOW`: the entry `name` itself (a symlink is re-owned, not
    /// what it names).
    public func changeOwner(ofEntry name: String, uid: UInt32, gid: UInt32, path: String? = nil) throws(SystemError) {
        if fchownat(rawValue, name, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("lchown", path: path ?? name) }
    }

    /// `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`: the entry `name`'s own access and modification
    /// time, both `nanoseconds` since the epoch.
    public func setTimes(ofEntry name: String, nanoseconds: Int64, path: String? = nil) throws(SystemError) {
        var times = [timespec.from(nanoseconds: nanoseconds), timespec.from(nanoseconds: nanoseconds)]
        if utimensat(rawValue, name, &times, AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("utimensat", path: path ?? name) }
    }
}

/// A `FileDescriptor` with reference semantics, for descriptors kept in a dictionary or an optional
/// (a cache of open packs, the directory a writer is in): closed when the last reference goes.
public final class SharedFileDescriptor {
    public let descriptor: FileDescriptor
    public init(_ descriptor: consuming FileDescriptor) { self.descriptor = descriptor }
    public var rawValue: Int32 { descriptor.rawValue }
}

/// The entry types `directoryEntriesWithTypes` reports (readdir's `d_type`) that callers branch on.
public enum DirectoryEntryType {
    /// The filesystem does not say: lstat the entry.
    public static let unknown = UInt8(DT_UNKNOWN)
    public static let regular = UInt8(DT_REG)
}

/// The file types `lstat` can report besides a file, a directory and a symlink.
extension FileType {
    public static let socket = UInt32(S_IFSOCK)
    public static let fifo = UInt32(S_IFIFO)
    public static let characterDevice = UInt32(S_IFCHR)
    public static let blockDevice = UInt32(S_IFBLK)
}

extension timespec {
    /// Nanoseconds since the epoch as seconds and a non-negative fraction (before 1970 too).
    static func from(nanoseconds: Int64) -> timespec {
        var seconds = nanoseconds / 1_000_000_000, rest = nanoseconds % 1_000_000_000
        if rest < 0 { seconds -= 1; rest += 1_000_000_000 }
        return timespec(tv_sec: Int(seconds), tv_nsec: Int(rest))
    }
}

/// `mkdir(2)` of `path` alone (its parent must exist; a symlink there is not followed). False when
/// something already exists at `path` (EEXIST), true when this call made it.
@discardableResult
public func makeDirectory(_ path: String, mode: FileMode) throws(SystemError) -> Bool {
    if mkdir(path, mode) == 0 { return true }
    if errno == EEXIST { return false }
    throw SystemError("mkdir", path: path)
}

/// `chmod(2)`: exactly `mode`, whatever the umask made of it (a symlink at `path` is followed).
public func changeMode(_ path: String, _ mode: FileMode) throws(SystemError) {
    if chmod(path, mode) != 0 { throw SystemError("chmod", path: path) }
}

/// `fnmatch(3)` without flags: `*`, `?` and `[...]` within one name.
public func globMatches(_ pattern: String, _ name: String) -> Bool {
    fnmatch(pattern, name, 0) == 0
}
