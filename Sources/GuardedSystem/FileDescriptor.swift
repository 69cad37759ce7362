#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `open(2)` flags by name, so the modules above never spell the C library's constants.
/// `O_CLOEXEC` is not here: `FileDescriptor` adds it to every open.
public struct OpenFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Zero: the access mode when neither `writeOnly` nor `readWrite` is given.
    public static let readOnly = OpenFlags(rawValue: O_RDONLY)
    public static let writeOnly = OpenFlags(rawValue: O_WRONLY)
    public static let readWrite = OpenFlags(rawValue: O_RDWR)
    public static let create = OpenFlags(rawValue: O_CREAT)
    public static let exclusive = OpenFlags(rawValue: O_EXCL)
    public static let truncate = OpenFlags(rawValue: O_TRUNC)
    public static let append = OpenFlags(rawValue: O_APPEND)
    public static let noFollow = OpenFlags(rawValue: O_NOFOLLOW)
    public static let directory = OpenFlags(rawValue: O_DIRECTORY)
    public static let nonBlocking = OpenFlags(rawValue: O_NONBLOCK)
}

/// An owned open file descriptor. Every descriptor this program opens is close-on-exec, so
/// nothing leaks into the agent it `exec`s.
public struct FileDescriptor: ~Copyable {
    public let rawValue: Int32

    public init(adopting rawValue: Int32) { self.rawValue = rawValue }

    /// `open(2)` with `O_CLOEXEC` always added.
    public static func open(_ path: String, _ flags: OpenFlags, mode: FileMode = 0o600) throws(SystemError) -> FileDescriptor {
        let fd = retryingOnInterrupt { Glibc_open(path, flags.rawValue | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("open", path: path) }
        return FileDescriptor(adopting: fd)
    }

    /// `openat(2)` relative to this directory descriptor, with `O_CLOEXEC` always added.
    public func openAt(_ name: String, _ flags: OpenFlags, mode: FileMode = 0o600) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(name, in: rawValue, flags, mode: mode)
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, path: String? = nil) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = retryingOnInterrupt { write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
            if n < 0 { throw SystemError("write", path: path) }
            offset += n
        }
    }

    public func writeAll(_ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            do throws(SystemError) { try writeAll(raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads to end of file, refusing more than `limit` bytes (our own state files are small;
    /// a huge one is garbage, not something to load).
    public func readAll(limit: Int = 64 << 20, path: String? = nil) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { p in retryingOnInterrupt { read(rawValue, p.baseAddress!, p.count) } }
            if n < 0 { throw SystemError("read", path: path) }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit { throw SystemError("read", path: path, errno: Errno(rawValue: EFBIG)) }
        }
    }

    /// `pread(2)`: up to `buffer.count` bytes from `offset`, without moving the file position.
    /// Returns how many were read (0 at end of file).
    public func readBytes(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String? = nil) throws(SystemError) -> Int {
        let n = retryingOnInterrupt { pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
        if n < 0 { throw SystemError("read", path: path) }
        return n
    }

    /// `renameat(2)` inside this directory: `name` becomes `newName`, neither looked up through a
    /// path string (a parent swapped for a symlink since the directory was opened cannot redirect it).
    public func renameEntry(_ name: String, to newName: String, path: String? = nil) throws(SystemError) {
        if renameat(rawValue, name, rawValue, newName) != 0 { throw SystemError("rename", path: path) }
    }

    /// `fsync(2)`: the data and metadata reach stable storage before we rename or report success.
    public func sync(path: String? = nil) throws(SystemError) {
        if retryingOnInterrupt({ fsync(rawValue) }) != 0 { throw SystemError("fsync", path: path) }
    }

    public func status() throws(SystemError) -> FileStatus { try fileStatus(descriptor: rawValue) }

    /// `flock(2)`. Returns false when `nonBlocking` and another holder has it.
    public func lock(exclusive: Bool = true, nonBlocking: Bool = false, path: String? = nil) throws(SystemError) -> Bool {
        var operation = exclusive ? LOCK_EX : LOCK_SH
        if nonBlocking { operation |= LOCK_NB }
        if retryingOnInterrupt({ flock(rawValue, operation) }) == 0 { return true }
        if nonBlocking && errno == EWOULDBLOCK { return false }
        throw SystemError("flock", path: path)
    }

    /// Gives up ownership without closing; the caller now owns the raw descriptor.
    public consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    deinit { _ = close(rawValue) }
}

// `open` is variadic in C; this fixes its shape so Swift can call it with a mode.
@inline(__always)
func Glibc_open(_ path: String, _ flags: Int32, _ mode: FileMode) -> Int32 {
    #if canImport(Darwin)
    return Darwin.open(path, flags, mode)
    #else
    return Glibc.open(path, flags, mode)
    #endif
}
