#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A C `errno` value with Swift names for the ones this program branches on.
public struct Errno: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let operationNotPermitted = Errno(rawValue: EPERM)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let isDirectory = Errno(rawValue: EISDIR)
    public static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    public static let directoryNotEmpty = Errno(rawValue: ENOTEMPTY)
    public static let execFormatError = Errno(rawValue: ENOEXEC)
    public static let noChild = Errno(rawValue: ECHILD)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let crossDevice = Errno(rawValue: EXDEV)
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    public static let notImplemented = Errno(rawValue: ENOSYS)
    public static let notSupported = Errno(rawValue: ENOTSUP)
    /// The same value as `notSupported` on Linux, another on Darwin.
    public static let operationNotSupported = Errno(rawValue: EOPNOTSUPP)

    /// `strerror(3)` text, e.g. "No such file or directory".
    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }
}

/// A failed system call: what was attempted, on which path, and the errno.
/// Reads as `open /x: No such file or directory`, the shape of every error line this program prints.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String?
    public let errno: Errno

    public init(_ operation: String, path: String? = nil, errno: Errno = .current) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        if let path { return "\(operation) \(path): \(errno)" }
        return "\(operation): \(errno)"
    }
}

/// Runs a system call, retrying on `EINTR` (the one place that loop lives).
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}
