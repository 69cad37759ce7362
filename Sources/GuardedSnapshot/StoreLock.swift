import GuardedCore
import GuardedSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's exclusive lock: `flock(2)` on `<store>/lock`, which also holds `pid host` of the
/// holder. The kernel drops a flock when its holder dies, so a crashed holder never blocks anyone;
/// the text is there to name the holder while it is alive, and to notice that the previous holder
/// ended without releasing (its text is still there when we get the lock: a stale lock).
public final class StoreLock {
    private let fd: Int32
    public let path: String
    /// `pid host` of a previous holder that died holding the lock, when there was one.
    public let staleHolder: String?

    /// Waits up to `waitSeconds` for the lock; `.locked` (exit 75) past that.
    init(path: String, waitSeconds: Double) throws(SnapshotError) {
        self.path = path
        let raw = try system { () throws(SystemError) in
            try FileDescriptor.open(path, [.readWrite, .create, .noFollow], mode: 0o600).release()
        }
        let deadline = Clock.deadline(after: max(0, waitSeconds), from: Clock.monotonicNanoseconds())
        while true {
            if retryingOnInterrupt({ flock(raw, LOCK_EX | LOCK_NB) }) == 0 { break }
            let failure = Errno.current
            if failure != .wouldBlock {
                _ = close(raw)
                throw .system(SystemError("flock", path: path, errno: failure))
            }
            if Clock.monotonicNanoseconds() >= deadline {
                let holder = StoreLock.describe(StoreLock.readHolder(raw))
                _ = close(raw)
                throw .locked("the snapshot store is locked by \(holder); waited \(JSONValue.formatNumber(waitSeconds)) s: \(path)")
            }
            usleep(20_000)
        }
        fd = raw
        let previous = StoreLock.readHolder(raw)
        staleHolder = previous.isEmpty ? nil : previous
        let mine = Array("\(getpid()) \(hostName())\n".utf8)
        _ = ftruncate(raw, 0)
        _ = mine.withUnsafeBytes { pwrite(raw, $0.baseAddress!, $0.count, 0) }
    }

    /// Empties the holder text, then releases (closing drops the flock).
    deinit {
        _ = ftruncate(fd, 0)
        _ = close(fd)
    }

    static func readHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// "pid 123 on host h", with a note when that pid is on this host and no longer runs (then the
    /// flock is held by a process that inherited the descriptor).
    static func describe(_ holder: String) -> String {
        let parts = holder.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return "another process" }
        var text = "pid \(pid) on host \(parts[1])"
        if parts[1] == hostName() && kill(pid, 0) != 0 && errno == ESRCH { text += " (not running)" }
        return text
    }

    /// A message about a stale holder, when there was one.
    public var staleMessage: String? {
        guard let staleHolder else { return nil }
        return "took over a stale lock left by \(StoreLock.describe(staleHolder))"
    }
}

/// This machine's name (uname nodename).
func hostName() -> String {
    var name = utsname()
    uname(&name)
    return withUnsafePointer(to: name.nodename) { p in
        p.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: name.nodename)) { String(cString: $0) }
    }
}
