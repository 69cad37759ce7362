internal import CSystemShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Swaps two paths in one step: each name now names what the other did. Neither name is ever
/// missing, which a pair of renames cannot promise (Linux renameat2 RENAME_EXCHANGE, macOS
/// renamex_np RENAME_SWAP). Throws with EINVAL/ENOSYS/ENOTSUP where the filesystem lacks it.
public func exchangePaths(_ a: String, _ b: String) throws(SystemError) {
    if guarded_exchange_paths(a, b) != 0 { throw SystemError("exchange", path: "\(a) <-> \(b)") }
}

/// Makes everything written so far on the filesystem holding `path` durable: syncfs(2) on Linux,
/// sync(2) elsewhere. One call instead of an fsync per file of a freshly built tree.
public func syncFileSystem(containing path: String) throws(SystemError) {
    let fd = try FileDescriptor.open(path, [.readOnly, .directory])
    if guarded_sync_filesystem(fd.rawValue) != 0 { throw SystemError("syncfs", path: path) }
}

/// SIGTERM and SIGINT turned into a flag for the length of a long operation (a repair), so it can
/// stop at a safe point instead of dying half-way. `restore()` puts the previous dispositions back
/// exactly (an ignored signal stays ignored) before the process execs anything.
public enum StopSignals {
    public static func install() { guarded_stop_signals_install() }
    public static func restore() { guarded_stop_signals_restore() }
    /// The first stop signal received since `install()`, or nil.
    public static var received: Int32? {
        let s = guarded_stop_signal()
        return s == 0 ? nil : s
    }
}
