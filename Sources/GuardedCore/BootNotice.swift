import GuardedSystem

/// Problems that do not stop an agent (availability first) but must be said: said on stderr at
/// most once per agent per boot, not at every start of an agent that systemd restarts all day.
///
/// Each notice leaves a marker file `guarded-run.<boot-id>.<uid>.<kind>.<agent>` (0600, a JSON
/// object: agent, uid, venv, time, reason) in a directory every user can write and that is
/// emptied at boot: `GUARDED_RUN_RUNTIME_DIR` when set (tests, unusual hosts), else /dev/shm on
/// Linux (a tmpfs; unlike /tmp it is not replaced by a unit's PrivateTmp=, which would forget the
/// marker at every restart), else /tmp. The boot id in the name makes a marker left on a disk-backed
/// /tmp mean nothing after a reboot. The marker is made with O_CREAT|O_EXCL|O_NOFOLLOW: a name
/// someone else planted (owned by another uid, or not a regular file) does not silence the notice.
/// The markers also let root's `status` list agents that have no usable state directory.
public enum BootNotice {
    public enum Kind: String, Sendable, CaseIterable {
        /// No state directory could be used: no cache (every start runs the full check), no health log.
        case noStateDirectory = "no-state"
        /// A health-log record could not be written (a full disk, a refused path).
        case healthLogNotWritten = "no-log"
        /// The launcher and the full binary come from different builds (cache formats differ).
        case versionSkew = "skew"
    }

    public static var directory: String {
        if let dir = Environment.value("GUARDED_RUN_RUNTIME_DIR"), dir.hasPrefix("/") { return dir }
        #if canImport(Darwin)
        return "/tmp"
        #else
        return fileStatusIfPresent("/dev/shm")?.isDirectory == true ? "/dev/shm" : "/tmp"
        #endif
    }

    /// This boot's id: Linux's random boot_id without dashes; on macOS the boot time in seconds
    /// (kern.boottime; untested here).
    public static let bootID: String? = {
        #if canImport(Darwin)
        var tv = timeval()
        var size = MemoryLayout<timeval>.size
        var mib: [Int32] = [CTL_KERN, KERN_BOOTTIME]
        guard sysctl(&mib, 2, &tv, &size, nil, 0) == 0 else { return nil }
        return "t" + String(tv.tv_sec)
        #else
        guard let bytes = try? readFile("/proc/sys/kernel/random/boot_id", followSymlinks: true, limit: 64) else { return nil }
        let hex = bytes.filter(ASCII.isLowerHexDigit)
        return hex.count == 32 ? String(decoding: hex, as: UTF8.self) : nil
        #endif
    }()

    static func markerName(_ kind: Kind, agent: String, uid: UInt32, boot: String) -> String {
        "guarded-run.\(boot).\(uid).\(kind.rawValue).\(agent)"
    }

    /// Writes `message` on stderr unless `agent` already said a notice of this kind this boot.
    /// `reason` goes into the marker for `status`: never an environment value.
    public static func say(_ kind: Kind, agent: String, venv: String?, reason: String, message: String) {
        if first(kind, agent: agent, venv: venv, reason: reason) { writeStandardError(message, priority: 4) }
    }

    /// True when this is the first notice of `kind` for `agent` this boot (the marker is then made).
    public static func first(_ kind: Kind, agent: String, venv: String?, reason: String) -> Bool {
        guard isValidAgentName(agent), let boot = bootID else { return true }
        let uid = CurrentProcess.effectiveUserID
        let path = directory + "/" + markerName(kind, agent: agent, uid: uid, boot: boot)
        do {
            let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600)
            let record = JSONValue.object([
                ("agent", .string(agent)), ("uid", .number(Double(uid))), ("venv", .optional(venv)),
                ("time", .string(Clock.nowRFC3339())), ("reason", .string(reason)),
            ])
            try? fd.writeAll(Array((record.serialized() + "\n").utf8), path: path)
            return true
        } catch where error.errno == .fileExists {
            guard let st = fileStatusIfPresent(path), st.isRegularFile, st.uid == uid else { return true }
            return false
        } catch {
            // No marker can be made (a read-only or full filesystem): say it every time rather than never.
            return true
        }
    }

    /// This boot's markers of `kind` that the uid in their name owns (others are ignored), as
    /// (agent, uid, venv, time, reason), sorted by agent. Unreadable ones (other users', for a
    /// non-root caller) still give the agent and uid from the name.
    public static func markers(_ kind: Kind) -> [(agent: String, uid: UInt32, venv: String?, time: String?, reason: String?)] {
        guard let boot = bootID else { return [] }
        let dir = directory
        let prefix = "guarded-run.\(boot)."
        var found: [(agent: String, uid: UInt32, venv: String?, time: String?, reason: String?)] = []
        for name in (try? directoryEntries(dir)) ?? [] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard rest.count == 3, let uid = UInt32(rest[0]), rest[1] == kind.rawValue[...] else { continue }
            let agent = String(rest[2])
            guard isValidAgentName(agent), let st = fileStatusIfPresent(dir + "/" + name), st.isRegularFile, st.uid == uid else { continue }
            let json = (try? readFile(dir + "/" + name, limit: 16 << 10)).flatMap { JSONValue.parse(bytes: $0) }
            found.append((agent, uid, json?["venv"]?.stringValue, json?["time"]?.stringValue, json?["reason"]?.stringValue))
        }
        return found.sorted { ($0.agent, $0.uid) < ($1.agent, $1.uid) }
    }
}
