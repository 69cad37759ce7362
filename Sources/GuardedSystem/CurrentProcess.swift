#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// This process: its ids and its end. The modules above ask here instead of calling the C library.
public enum CurrentProcess {
    public static var id: Int32 { getpid() }
    public static var effectiveUserID: UInt32 { UInt32(geteuid()) }

    /// `exit(3)`: flushes stdio and ends the process with `code`.
    public static func exit(_ code: Int32) -> Never { exitProcess(code) }

    /// Sends `signal` to this process (the test hooks' SIGKILL at a chosen instant).
    public static func send(_ signal: Signal) { _ = kill(getpid(), signal.rawValue) }
}

/// The signals this program sends, by name.
public enum Signal: Sendable {
    case kill

    public var rawValue: Int32 {
        switch self {
        case .kill: return SIGKILL
        }
    }
}

/// False only when no process `pid` exists (`kill(pid, 0)` fails with ESRCH): another user's
/// process (EPERM) exists.
public func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

// At file scope `exit` is the C library's, not the member above.
private func exitProcess(_ code: Int32) -> Never { exit(code) }
