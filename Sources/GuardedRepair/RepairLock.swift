import GuardedCheck
import GuardedCore
import GuardedSystem

/// Where the repairs of one venv meet, whichever state directory they run from (root's `venvs
/// repair --force`, each agent's own launcher): beside the venv, not in any one state directory
/// (docs/architecture.md, "Beside the venv"):
///
///     <venv>.generations/.repair/     0700, owned like the venv
///       lock                          0600, flock'd by the one repair or rollback of this venv
///       failure.json                  the backoff record (`RepairFailure`)
///       in-progress.json              written before a build, removed when the attempt ends; found
///                                     by the next holder of the lock, it means the last attempt was
///                                     killed or interrupted: it counts as a failure
///
/// A subdirectory, so that writing these files never changes the generations directory itself,
/// which a failure's watch list holds.
struct RepairPlace {
    let venv: String

    var path: String { BesideVenv(venv: venv).directory + "/.repair" }
    func file(_ name: String) -> String { path + "/" + name }

    /// Whose files these are: the venv's owner; when the venv path is missing (a crash between the
    /// two renames of an adoption without exchange), its generations directory's, else its parent's.
    var owner: (uid: UInt32, gid: UInt32)? {
        if let owner = BesideVenv(venv: venv).venvOwner { return owner }
        for p in [BesideVenv(venv: venv).directory, parentDirectory(of: venv)] {
            if let st = fileStatusIfPresent(p), st.isDirectory { return (st.uid, st.gid) }
        }
        return nil
    }

    /// `owner`, or an error when there is no venv (nor anything beside it) to own these files.
    func requireOwner() throws(SystemError) -> (uid: UInt32, gid: UInt32) {
        guard let owner else { throw SystemError("open", path: venv, errno: .noSuchFileOrDirectory) }
        return owner
    }

    /// The directory, created on demand; never reached through a symlink (BesideVenv.openDirectory).
    func open(owner: (uid: UInt32, gid: UInt32)) throws(SystemError) -> FileDescriptor {
        let besideVenv = BesideVenv(venv: venv)
        let beside = try besideVenv.openDirectory(owner: owner)
        return try openSharedDirectory(in: beside, shownAs: besideVenv.directory, ".repair", mode: 0o700,
                                       owner: owner, trusting: owner.uid)
    }

    func write(_ name: String, _ text: String) throws(SystemError) {
        let owner = try requireOwner()
        let directory = try open(owner: owner)
        try writeFileAtomically(in: directory, name, Array(text.utf8), mode: 0o600, owner: owner, shownAs: file(name))
    }

    /// The file's bytes; nil when it is missing, a symlink, unreadable or over `limit`.
    func read(_ name: String, limit: Int) -> [UInt8]? { try? readFile(file(name), limit: limit) }

    func remove(_ name: String) {
        guard fileStatusIfPresent(file(name)) != nil, let owner, let directory = try? open(owner: owner) else { return }
        if (try? directory.removeEntry(name)) != nil { try? directory.sync(path: path) }
    }
}

/// The per-venv repair lock: `flock(2)` on `<venv>.generations/.repair/lock`, shared by every
/// state directory. The descriptor is close-on-exec (every FileDescriptor is), so an agent never
/// inherits it, and the kernel drops the lock when its holder dies, SIGKILL included: whoever holds
/// it knows that no other process is repairing this venv, so anything a repair left beside it
/// (`.build-*`, `in-progress.json`) belongs to a holder that is gone.
final class RepairLock {
    private let descriptor: FileDescriptor

    private init(descriptor: consuming FileDescriptor) { self.descriptor = descriptor }

    /// Takes the lock, waiting up to `waitSeconds` (polling, so a stop signal is seen within 50 ms).
    static func acquire(venv: String, waitSeconds: Double) -> Result<RepairLock, RepairError> {
        let path = RepairPlace(venv: venv).file("lock")
        // Held only once `waitFor` succeeds; until then it is the open file, closed if we give up.
        let lock: RepairLock
        do {
            lock = RepairLock(descriptor: try openLockFile(venv: venv))
        } catch {
            return .failure(.system(step: "lock", error))
        }
        let locked = waitFor(seconds: waitSeconds, venv: venv, blockedStep: "lock-wait") { () throws(SystemError) -> Bool in
            try lock.descriptor.lock(exclusive: true, nonBlocking: true, path: path)
        }
        switch locked {
        case .success: return .success(lock)
        case .failure(let failure): return .failure(failure)
        }
    }

    /// The lock file, created 0600 and owned like the venv when missing; a symlink at its name is refused.
    private static func openLockFile(venv: String) throws(SystemError) -> FileDescriptor {
        let place = RepairPlace(venv: venv)
        let owner = try place.requireOwner()
        let directory = try place.open(owner: owner)
        // O_NOFOLLOW: no link at the lock's name; O_NONBLOCK: a FIFO planted there cannot hang the open.
        let fd = try directory.openAt("lock", [.readWrite, .create, .noFollow, .nonBlocking], mode: 0o600)
        guard try fd.status().isRegularFile else { throw SystemError("open", path: place.file("lock"), errno: .invalidArgument) }
        let st = try fd.status()
        if CurrentProcess.effectiveUserID == 0, st.uid != owner.uid || st.gid != owner.gid {
            try fd.changeOwner(uid: owner.uid, gid: owner.gid, path: place.file("lock"))
        }
        return fd
    }

    /// Polls `attempt` until it answers true, a stop signal arrives or `seconds` pass (`.busy`
    /// with the time waited, for the venv's lock or, with `hostLimit`, a host-wide slot).
    /// `blockedStep`: the test hook reached once, when the first attempt fails.
    static func waitFor(seconds: Double, venv: String, hostLimit: Int? = nil, blockedStep: String? = nil,
                        _ attempt: () throws(SystemError) -> Bool) -> Result<Void, RepairError> {
        let started = Clock.monotonicNanoseconds()
        let deadline = Clock.deadline(after: seconds, from: started)
        var pause: UInt32 = 2_000
        var blockedStep = blockedStep
        while true {
            do {
                if try attempt() { return .success(()) }
            } catch {
                return .failure(.system(step: "lock", error))
            }
            if let step = blockedStep {
                blockedStep = nil
                TestHooks.reached(step)
            }
            if let signal = StopSignals.received {
                return .failure(.interrupted("signal \(signal) while waiting for the repair lock of \(venv)"))
            }
            let now = Clock.monotonicNanoseconds()
            if now >= deadline { return .failure(.busy(venv: venv, waited: Double(now - started) / 1e9, hostLimit: hostLimit)) }
            Clock.sleep(microseconds: pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// True when some process holds the lock right now (for `plan` and `generations`).
    static func isHeld(venv: String) -> Bool {
        guard let fd = try? FileDescriptor.open(RepairPlace(venv: venv).file("lock"), [.readOnly, .noFollow]) else { return false }
        return (try? fd.lock(nonBlocking: true)) == false
    }
}

extension Repairer {
    /// Runs `body` under the venv's repair lock, on its layout after tidying what a killed repair
    /// left there (`recovered`: what was tidied). A lock that cannot be had is the body's failure.
    func underLock<T>(venv: String, waitSeconds: Double,
                      _ body: (_ layout: GenerationLayout, _ recovered: [String]) -> Result<T, RepairError>) -> Result<T, RepairError> {
        RepairLock.acquire(venv: venv, waitSeconds: waitSeconds).flatMap { lock in
            withExtendedLifetime(lock) {
                TestHooks.reached("lock")
                let layout = GenerationLayout(venv: venv)
                return body(layout, layout.recover(current: nil))
            }
        }
    }
}

/// The host-wide limit on concurrent repairs (docs/auto-repair.md, "One repair at a time"): a
/// repair holds one of `GUARDED_RUN_MAX_REPAIRS` slot locks (default: half the processors online,
/// at least 1) while it builds, so eight venvs breaking at once on a 2-core laptop are rebuilt one
/// after the other rather than all at once. The slots are files `slot-N` in one directory for every
/// user of the host, `GUARDED_RUN_REPAIR_SLOTS_DIR` (default `/tmp/guarded-run-repair-slots`,
/// created 1777 like /tmp): root's doctor and every user's agents count against the same limit.
///
/// Files in a directory everyone may write are only ever opened read-only, without following a
/// symlink, without blocking (a FIFO planted there), and must be regular files; nothing is written
/// to them. What another local user can still do is hold every slot (repairs then wait and exit 75)
/// or remove the directory's files when it is not sticky: a denial of repairs, never a write
/// through guarded-run. When the directory cannot be used at all, the repair goes ahead without a
/// slot and says so in one line: the limit protects the host's load, not the venv.
public enum RepairSlots {
    static let defaultDirectory = "/tmp/guarded-run-repair-slots"
    static let maximum = 1024

    /// Half the processors online, at least 1.
    static var defaultLimit: Int {
        let n = WorkerPool.processorCount
        return n > 1 ? n / 2 : 1
    }

    /// The configured limit: nil when unset; `.failure` when set to anything but a whole number
    /// from 1 to 1024 (admin commands refuse it with 64, the launcher uses the default).
    static func configuredLimit() -> Result<Int, SettingError>? {
        guard let text = Environment.value("GUARDED_RUN_MAX_REPAIRS") else { return nil }
        guard let n = Int(text), n >= 1, n <= maximum else {
            return .failure(SettingError(message: "GUARDED_RUN_MAX_REPAIRS must be a whole number from 1 to \(maximum)"))
        }
        return .success(n)
    }

    struct SettingError: Error { var message: String }

    /// For the admin commands, which refuse a bad setting (64) rather than guess: the problem with
    /// `GUARDED_RUN_MAX_REPAIRS`, or nil.
    public static var settingProblem: String? {
        if case .failure(let e) = configuredLimit() { return e.message }
        return nil
    }

    /// The limit to apply, and a one-line note when the setting was refused.
    static func limit() -> (Int, note: String?) {
        switch configuredLimit() {
        case nil: return (defaultLimit, nil)
        case .success(let n): return (n, nil)
        case .failure(let e): return (defaultLimit, "\(e.message); using the default \(defaultLimit)")
        }
    }

    static var directory: String {
        if let d = Environment.value("GUARDED_RUN_REPAIR_SLOTS_DIR"), d.hasPrefix("/"), d.count > 1 { return d }
        return defaultDirectory
    }

    /// A held slot; released when it is deallocated (or by the kernel when its holder dies).
    final class Slot {
        private let file: SharedFileDescriptor
        init(_ file: SharedFileDescriptor) { self.file = file }
    }

    /// Waits (up to `waitSeconds`) for a free slot for a repair of `venv`. `.success(nil)`: the
    /// slots directory could not be used; `note` says why (one line), and the repair goes ahead.
    static func acquire(venv: String, waitSeconds: Double) -> (Result<Slot?, RepairError>, note: String?) {
        let (limit, settingNote) = limit()
        let files: [SharedFileDescriptor]
        do {
            files = try openSlots(limit)
        } catch {
            return (.success(nil), [settingNote, "the host-wide repair limit is not applied: \(error)"].compactMap { $0 }.joined(separator: "; "))
        }
        var held: SharedFileDescriptor?
        let result = RepairLock.waitFor(seconds: waitSeconds, venv: venv, hostLimit: limit) { () throws(SystemError) -> Bool in
            for file in files where (try? file.descriptor.lock(exclusive: true, nonBlocking: true)) == true {
                held = file
                return true
            }
            return false
        }
        // Only the held slot's descriptor stays open: the others close with `files`.
        switch result {
        case .success: return (held.map { .success(Slot($0)) } ?? .success(nil), settingNote)
        case .failure(let error): return (.failure(error), settingNote)
        }
    }

    /// Opens (creating when missing) `slot-0` … `slot-<limit-1>`, read-only.
    static func openSlots(_ limit: Int) throws(SystemError) -> [SharedFileDescriptor] {
        let dir = directory
        if try makeDirectory(dir, mode: 0o1777) {
            // The umask narrowed it; every user must be able to add a slot file.
            try changeMode(dir, 0o1777)
        }
        let directory = try FileDescriptor.open(dir, [.readOnly, .directory, .noFollow])
        var files: [SharedFileDescriptor] = []
        for n in 0..<limit {
            let name = "slot-\(n)"
            let file = SharedFileDescriptor(try openSlot(name, in: directory, shownAs: dir + "/" + name))
            files.append(file)
            guard (try? file.descriptor.status())?.isRegularFile == true else {
                throw SystemError("open", path: dir + "/" + name, errno: .invalidArgument)
            }
        }
        return files
    }

    /// One slot file, read-only, created 0644 when missing. An existing one is opened first: with
    /// fs.protected_regular, O_CREAT on a file another user made in a sticky directory fails even
    /// when it exists. Three tries, for a slot removed or created between the two opens.
    private static func openSlot(_ name: String, in directory: borrowing FileDescriptor, shownAs path: String) throws(SystemError) -> FileDescriptor {
        var failure = SystemError("open", path: path, errno: .noSuchFileOrDirectory)
        for _ in 0..<3 {
            do { return try directory.openAt(name, [.readOnly, .noFollow, .nonBlocking]) } catch {
                failure = SystemError("open", path: path, errno: error.errno)
                guard error.errno == .noSuchFileOrDirectory else { throw failure }
            }
            do {
                let created = try directory.openAt(name, [.readOnly, .create, .exclusive, .noFollow, .nonBlocking], mode: 0o644)
                try? created.changeMode(0o644)
                return created
            } catch {
                failure = SystemError("open", path: path, errno: error.errno)
                guard error.errno == .fileExists else { throw failure }
            }
        }
        throw failure
    }
}

/// `in-progress.json` beside the venv (RepairPlace): written under the lock before a build starts,
/// removed when the attempt ends. A SIGKILL, or a stop signal mid-build, leaves it behind; the next
/// holder of the lock (whose predecessor is therefore gone) counts it as a failed attempt, so a
/// supervisor that kills slow starts does not relaunch the install forever.
enum RepairInProgress {
    static let fileName = "in-progress.json"

    /// Records the attempt; a warning for the caller to print when that failed (the repair goes on).
    static func begin(venv: String, optionsKey: String) -> String? {
        let text = JSONValue.object([
            ("venv", .string(venv)), ("options", .string(optionsKey)), ("pid", .number(Double(CurrentProcess.id))),
            ("started", .string(Clock.nowRFC3339())),
        ]).serialized(pretty: true) + "\n"
        do {
            try RepairPlace(venv: venv).write(fileName, text)
            return nil
        } catch {
            return "cannot record the repair in progress: \(error)"
        }
    }

    static func end(venv: String) { RepairPlace(venv: venv).remove(fileName) }

    static func exists(venv: String) -> Bool { fileStatusIfPresent(RepairPlace(venv: venv).file(fileName)) != nil }

    /// The attempt a gone holder left unfinished: its options key (nil when the record is damaged)
    /// and one line saying what happened. Only meaningful under the lock.
    static func left(venv: String) -> (optionsKey: String?, reason: String)? {
        guard exists(venv: venv) else { return nil }
        let json = RepairPlace(venv: venv).read(fileName, limit: 64 << 10).flatMap { JSONValue.parse(bytes: $0) }
        let started = json?["started"]?.stringValue.map { " started at \($0)" } ?? ""
        let pid = json?["pid"]?.intValue.flatMap { $0 > 0 && $0 <= Int(Int32.max) ? " by pid \($0)" : nil } ?? ""
        let options = json?["venv"]?.stringValue == venv ? json?["options"]?.stringValue : nil
        return (options, "repair interrupted: the attempt\(started)\(pid) did not finish (killed or stopped mid-build)")
    }
}
