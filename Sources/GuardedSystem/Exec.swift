#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces this process with `path`: same PID, signal mask and dispositions (handled signals are
/// reset to default by the kernel, ignored ones stay ignored), descriptors not marked close-on-exec,
/// and the environment passed in. Returns only on failure, with the errno.
@inline(__always)
public func replaceProcess(path: UnsafePointer<CChar>, arguments: UnsafePointer<UnsafeMutablePointer<CChar>?>,
                           environment: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Errno {
    _ = execve(path, arguments, environment)
    return .current
}

/// The environment block as received, for passing through exec unchanged.
public var processEnvironment: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
    #if canImport(Darwin)
    return _NSGetEnviron()!.pointee!
    #else
    return environ
    #endif
}
