import GuardedCore
import GuardedSystem

/// The per-venv repair lock: `flock(2)` on `venvs/<key>/repair.lock` in the state directory.
/// The descriptor is close-on-exec (every FileDescriptor is), so an agent never inherits it, and the
/// kernel drops the lock when its holder dies, SIGKILL included: no stale lock files to clean up.
final class RepairLock {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { _ = close(descriptor) }

    enum Failure: Error {
        /// Still held by another repair after `waitSeconds`.
        case busy(waited: Double)
        /// A stop signal arrived while waiting.
        case interrupted(Int32)
        case system(SystemError)

        /// `busy` and `interrupted` may pass by themselves: exit 75.
        var isTransient: Bool {
            if case .system = self { return false }
            return true
        }

        /// One line; the transient ones start with `repair-busy:` / `interrupted:` (RepairOutcome.isTransient).
        func message(venv: String) -> String {
            switch self {
            case .busy(let waited):
                return "repair-busy: another repair of \(venv) still holds its lock after \(Int(waited)) s (GUARDED_RUN_REPAIR_WAIT); try again"
            case .interrupted(let signal):
                return "interrupted: signal \(signal) while waiting for the repair lock of \(venv)"
            case .system(let error):
                return "lock: \(error)"
            }
        }
    }

    static func path(state: StateDirectory, venv: String) -> String { state.venvDirectory(for: venv) + "/repair.lock" }

    /// Takes the lock, waiting up to `waitSeconds` (polling, so a stop signal is seen within 50 ms).
    static func acquire(state: StateDirectory, venv: String, waitSeconds: Double) -> Result<RepairLock, Failure> {
        let path = path(state: state, venv: venv)
        let fd: FileDescriptor
        do {
            // No link followed on the way (StateDirectory.openDirectory) or at the lock's name
            // (O_NOFOLLOW); O_NONBLOCK: a FIFO planted there cannot hang the open.
            let dir = try state.openDirectory(["venvs", StateDirectory.key(for: venv)], create: true)
            fd = try dir.openAt("repair.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600)
        } catch {
            return .failure(.system(error))
        }
        let started = Clock.monotonicNanoseconds()
        let deadline = Clock.deadline(after: waitSeconds, from: started)
        var pause: UInt32 = 2_000
        while true {
            do {
                if try fd.lock(nonBlocking: true, path: path) { return .success(RepairLock(descriptor: fd.release())) }
            } catch {
                return .failure(.system(error))
            }
            if let signal = StopSignals.received { return .failure(.interrupted(signal)) }
            let now = Clock.monotonicNanoseconds()
            if now >= deadline { return .failure(.busy(waited: Double(now - started) / 1e9)) }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// True when some process holds the lock right now (for `plan` and `generations`).
    static func isHeld(state: StateDirectory, venv: String) -> Bool {
        guard let fd = try? FileDescriptor.open(path(state: state, venv: venv), O_RDWR | O_NOFOLLOW) else { return false }
        return (try? fd.lock(nonBlocking: true)) == false
    }
}
