import GuardedCore
import GuardedSystem

/// Every failure of the snapshot layer, with the exit code it maps to (docs/exit-codes.md).
public enum SnapshotError: Error, CustomStringConvertible, Sendable {
    /// Bad input from the operator: an unknown snapshot or set, a missing path.
    case usage(String)
    /// Another create/restore/prune holds the store's lock past the wait bound.
    case locked(String)
    /// The store fails verification: a blob or manifest missing, damaged or hostile.
    case damaged(String)
    /// Something we will not do: capture a socket, restore over a directory in the way.
    case refused(String)
    /// A system call failed.
    case system(SystemError)

    public var description: String {
        switch self {
        case .usage(let m), .locked(let m), .damaged(let m), .refused(let m): return m
        case .system(let e): return e.description
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage: return ExitCode.usage
        case .locked: return ExitCode.temporaryFailure
        case .damaged: return ExitCode.broken
        case .refused: return ExitCode.degraded
        case .system: return ExitCode.software
        }
    }
}

/// Runs `body`, turning a `SystemError` into `SnapshotError.system`.
@inline(__always)
func system<T: ~Copyable>(_ body: () throws(SystemError) -> T) throws(SnapshotError) -> T {
    do { return try body() } catch { throw .system(error) }
}
