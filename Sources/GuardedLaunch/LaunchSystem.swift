// The C library for the launcher's shared code. The full binary reaches it through the Glibc/Darwin
// overlay; the Embedded launcher (built with GUARDED_EMBEDDED) has no overlay and reaches the same
// headers through CSystemShims (launch.h), which also wraps what only the overlay provides: errno,
// the variadic open calls and environ. Everything in this module compiles both ways
// (Sources/guarded-run holds symlinks to these files), so it uses pointers, fixed buffers, byte
// loops and StaticString only: no String, Array or existential.
#if GUARDED_EMBEDDED
import CSystemShims
#else
import CSystemShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#endif

/// Definitions both launchers and every reader of their files share.
public enum LaunchFormat {
    /// The program's version, as the health log and `--version` print it.
    public static let version: StaticString = "0.1.0"
    /// The fingerprint cache's format. Bumped whenever the format or the meaning of the watch list
    /// changes; older caches then miss. The fast launcher hands it to the full binary (version skew).
    /// 2: absent entries (the invalidation marker beside the venv) and the base install's lib-dynload.
    public static let fingerprintFormat = 2
    /// The cache's first line, compared byte for byte (tests hold it to `fingerprintFormat`).
    public static let fingerprintHeader: StaticString = "guarded-run fingerprint 2"
    /// GUARDED_RUN_LOG_MAX_BYTES: the default and the largest value accepted.
    public static let logMaxBytesDefault: Int64 = 1_048_576
    public static let logMaxBytesLimit: Int64 = 1 << 40
    /// The full binary's file name, beside the launcher.
    public static let fullBinaryName: StaticString = "guarded-run-full"
    /// The environment variable through which the launcher tells the full binary it handed the start
    /// over (value: `<pid>:<fingerprintFormat>` with an optional `:logged` or `:unlogged:<errno>`, see
    /// `Handover`); the full binary removes it before anything else, so COMMAND never sees it.
    public static let handoverVariable: StaticString = "GUARDED_RUN_HANDOVER"
}

/// FNV-1a 64: the cache's checksum, the venv key and the imports key.
public enum FNV1a {
    public static let offset: UInt64 = 0xcbf29ce484222325
    @inline(__always)
    public static func add(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x100000001b3 }
    public static func add(_ h: UInt64, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var h = h
        for i in 0..<count { h = add(h, bytes[i]) }
        return h
    }
}

/// A string literal as a C string: the compiler emits literals NUL-terminated, so `utf8Start` is one
/// (no String, whose conversion to a C pointer would pull its code into the Embedded launcher).
@inline(__always)
public func cString(_ literal: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(literal.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// errno of this thread.
@inline(__always)
public func lastErrno() -> Int32 { guarded_errno() }
/// The effective user ID the process was exec'd with (no syscall on Linux): only for code that runs
/// before anything in the process could change its IDs, i.e. the fast path.
public func execEffectiveUserID() -> UInt32 { UInt32(guarded_exec_euid()) }

/// The environment block as received, for passing through exec unchanged.
@inline(__always)
public func launchEnvironment() -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> { guarded_environ()! }

/// `open(path, flags | O_CLOEXEC)`.
@inline(__always)
public func openCloseOnExec(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { guarded_open(path, flags) }

/// `openat(dir, path, flags | O_CLOEXEC, mode)`.
@inline(__always)
public func openAtCloseOnExec(_ dir: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: UInt32) -> Int32 {
    guarded_openat(dir, path, flags, mode)
}

/// Process arguments without touching Swift's `CommandLine` (whose lazy globals cost page faults on
/// every agent start, and which Embedded Swift does not have), as the C library passed them to
/// constructors (glibc, also static, and Darwin do). The full binary falls back to `CommandLine`
/// where they are not captured.
public enum ProcessArguments {
    public static var count: Int {
        #if GUARDED_EMBEDDED
        return Int(guarded_saved_argc())
        #else
        return guarded_saved_argv() != nil ? Int(guarded_saved_argc()) : Int(CommandLine.argc)
        #endif
    }

    public static var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        #if GUARDED_EMBEDDED
        return guarded_saved_argv()
        #else
        return guarded_saved_argv() ?? CommandLine.unsafeArgv
        #endif
    }
}

/// Memory for the launcher's fast path: a bump allocator over one static buffer, so its small buffers
/// share a page or two; the heap when the buffer is full.
public enum FastMemory {
    public static func allocate<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let bytes = MemoryLayout<T>.stride * capacity
        if let raw = guarded_arena_alloc(UInt(bytes)) {
            return raw.bindMemory(to: T.self, capacity: capacity)
        }
        return UnsafeMutablePointer<T>.allocate(capacity: capacity)
    }

    public static func free<T>(_ pointer: UnsafeMutablePointer<T>) {
        if guarded_arena_owns(pointer) == 0 { pointer.deallocate() }
    }
}

/// Monotonic time for durations, wall time for timestamps (more in GuardedSystem's extension).
public enum Clock {
    /// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps.
    @inlinable
    public static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Seconds and nanoseconds since the epoch (CLOCK_REALTIME).
    @inlinable
    public static func wallTime() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// The length of every timestamp `writeRFC3339` writes.
    public static let rfc3339Length = 27

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes) for years 0 to 9999.
    /// Seconds outside those years are clamped to them (times read from files may be anything).
    /// Computed here rather than with gmtime_r, which in glibc reads /etc/localtime on every start.
    public static func writeRFC3339(seconds unclamped: Int64, nanoseconds unclampedNs: Int64, into out: UnsafeMutablePointer<UInt8>) {
        let seconds = min(max(unclamped, -62_167_219_200), 253_402_300_799)
        let nanoseconds = min(max(unclampedNs, 0), 999_999_999)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var position = 0
        func digits(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = v
            while divisor > 0 { out[position] = UInt8(48 + (value / divisor) % 10); position += 1; value %= divisor; divisor /= 10 }
        }
        func char(_ c: UInt8) { out[position] = c; position += 1 }
        digits(year, 4); char(45); digits(month, 2); char(45); digits(day, 2); char(84)
        digits(secondOfDay / 3600, 2); char(58); digits(secondOfDay / 60 % 60, 2); char(58)
        digits(secondOfDay % 60, 2); char(46); digits(nanoseconds / 1000, 6); char(90)
    }
}

/// The file type bits of `st_mode`: the same values on Linux and Darwin (POSIX's traditional ones).
public enum FileType {
    public static let mask: UInt32 = 0o170000
    public static let regular: UInt32 = 0o100000
    public static let directory: UInt32 = 0o040000
    public static let symbolicLink: UInt32 = 0o120000
}

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
                  uid: UInt32(truncatingIfNeeded: st.st_uid), gid: UInt32(truncatingIfNeeded: st.st_gid),
                  size: Int64(truncatingIfNeeded: st.st_size), mtimeNs: m, ctimeNs: c)
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

    public var fileType: UInt32 { mode & FileType.mask }
    public var permissions: UInt32 { mode & 0o7777 }
    public var isDirectory: Bool { fileType == FileType.directory }
    public var isRegularFile: Bool { fileType == FileType.regular }
    public var isSymbolicLink: Bool { fileType == FileType.symbolicLink }

    /// What a fingerprint records for a path that must stay absent: all zero (mode 0 is no file
    /// type lstat can report). The path matches while lstat fails with ENOENT.
    public static let absent = FileStatus(device: 0, inode: 0, mode: 0, linkCount: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0, ctimeNs: 0)
    @inline(__always)
    public var isAbsent: Bool { mode == 0 }

    /// Ours alone: owned by `owner` and writable by nobody else (see `isPrivate(mode:uid:owner:)`).
    public func isPrivate(owner: UInt32) -> Bool { uid == owner && (mode & 0o022) == 0 }
}

/// `lstat(2)` on a C string; nil on failure.
@inline(__always)
public func fileStatusIfPresent(cPath: UnsafePointer<CChar>) -> FileStatus? {
    var st = stat()
    return lstat(cPath, &st) == 0 ? FileStatus(st) : nil
}

/// True when `lstat` says nothing is there (ENOENT). A path that cannot be looked at (EACCES,
/// ENOTDIR) is not "absent".
@inline(__always)
public func pathIsAbsent(cPath: UnsafePointer<CChar>) -> Bool {
    var st = stat()
    return lstat(cPath, &st) != 0 && lastErrno() == ENOENT
}

/// `relative` (plain components, no leading `/`, no `.`/`..`) below the open directory `root`, no
/// symlink followed at any component (`guarded_open_beneath` in CSystemShims: openat2 with
/// RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH on Linux, O_NOFOLLOW_ANY on macOS, an openat walk
/// otherwise). The raw descriptor (close-on-exec) or -1 with errno.
@inline(__always)
public func openBeneath(_ root: Int32, _ relative: UnsafePointer<CChar>, _ flags: Int32, mode: UInt32 = 0o600) -> Int32 {
    guarded_open_beneath(root, relative, flags, mode)
}

/// Ours alone: owned by `owner` and writable by nobody else (no group or other write bit).
/// A file or directory below the state directory that is not is treated as absent: whoever can
/// write it could have put anything there.
@inline(__always)
public func isPrivate(mode: UInt32, uid: UInt32, owner: UInt32) -> Bool {
    uid == owner && (mode & 0o022) == 0
}
