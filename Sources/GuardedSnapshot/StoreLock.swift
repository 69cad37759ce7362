import GuardedCore
import GuardedSystem

/// The store's exclusive lock: `flock(2)` on `<store>/lock`, which also holds `pid host` of the
/// holder. The kernel drops a flock when its holder dies, so a crashed holder never blocks anyone;
/// the text is there to name the holder while it is alive, and to notice that the previous holder
/// ended without releasing (its text is still there when we get the lock: a stale lock).
public final class StoreLock {
    private let file: FileDescriptor
    public let path: String
    /// `pid host` of a previous holder that died holding the lock, when there was one.
    public let staleHolder: String?

    /// Waits up to `waitSeconds` for the lock; `.locked` (exit 75) past that.
    init(path: String, waitSeconds: Double) throws(SnapshotError) {
        self.path = path
        let opened = try system { () throws(SystemError) in
            try FileDescriptor.open(path, [.readWrite, .create, .noFollow], mode: 0o600)
        }
        let deadline = Clock.deadline(after: max(0, waitSeconds), from: Clock.monotonicNanoseconds())
        while true {
            if try system({ () throws(SystemError) in try opened.lock(exclusive: true, nonBlocking: true, path: path) }) { break }
            if Clock.monotonicNanoseconds() >= deadline {
                let holder = StoreLock.describe(StoreLock.readHolder(opened))
                throw .locked("the snapshot store is locked by \(holder); waited \(JSONValue.formatNumber(waitSeconds)) s: \(path)")
            }
            Clock.sleep(microseconds: 20_000)
        }
        file = opened
        let previous = StoreLock.readHolder(file)
        staleHolder = previous.isEmpty ? nil : previous
        let mine = Array("\(CurrentProcess.id) \(CurrentProcess.hostName)\n".utf8)
        try? file.truncate(to: 0)
        try? file.writeBytes(mine, at: 0)
    }

    /// Empties the holder text, then releases (closing drops the flock).
    deinit { try? file.truncate(to: 0) }

    static func readHolder(_ fd: borrowing FileDescriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { (try? fd.readBytes(into: $0, at: 0)) ?? -1 }
        guard n > 0 else { return "" }
        return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// "pid 123 on host h", with a note when that pid is on this host and no longer runs (then the
    /// flock is held by a process that inherited the descriptor).
    static func describe(_ holder: String) -> String {
        let parts = holder.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return "another process" }
        var text = "pid \(pid) on host \(parts[1])"
        if parts[1] == CurrentProcess.hostName && !processExists(pid) { text += " (not running)" }
        return text
    }

    /// A message about a stale holder, when there was one.
    public var staleMessage: String? {
        guard let staleHolder else { return nil }
        return "took over a stale lock left by \(StoreLock.describe(staleHolder))"
    }
}
