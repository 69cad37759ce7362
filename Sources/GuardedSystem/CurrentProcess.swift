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
    /// The real user id (`getuid`): who started the process, also when it runs set-uid.
    public static var userID: UInt32 { UInt32(getuid()) }

    /// This machine's name (`uname` nodename).
    public static var hostName: String {
        var name = utsname()
        uname(&name)
        return withUnsafePointer(to: name.nodename) { p in
            p.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: name.nodename)) { String(cString: $0) }
        }
    }

    /// Suspends this process until a signal ends it (`pause(2)` in a loop): a test hook's stop at a
    /// known point, for the test to SIGKILL.
    public static func suspendForever() -> Never {
        while true { pause() }
    }

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
