import GuardedCore
import GuardedSystem

/// Every failure of the repair layer (repair, rollback, prune, restore-plain), with the exit code it
/// maps to (docs/exit-codes.md). `description` is the line the CLI prints and the health log keeps.
public enum RepairError: Error, CustomStringConvertible, Sendable {
    /// Still waiting after GUARDED_RUN_REPAIR_WAIT (`waited` seconds): for the venv's lock, held by
    /// another repair (`hostLimit` nil), or for one of the host's `hostLimit` repair slots.
    case busy(venv: String, waited: Double, hostLimit: Int?)
    /// Stopped before it finished, by a stop signal or a check that did not finish: what stopped it.
    case interrupted(String)
    /// A step of the repair or rollback failed, in one line.
    case step(String)
    /// A system call failed; `step` names what it was for (`lock`, `swap`, …) when the error does not.
    case system(step: String?, SystemError)

    /// A stop signal arrived (the supervisor's SIGTERM, a ^C).
    public static func signal(_ signal: Int32) -> RepairError { .interrupted("signal \(signal)") }

    public var description: String {
        switch self {
        case .busy(let venv, let waited, nil):
            return "repair-busy: another repair of \(venv) still holds its lock after \(RepairError.seconds(waited)) s (GUARDED_RUN_REPAIR_WAIT); try again"
        case .busy(let venv, let waited, let limit?):
            return "repair-busy: \(limit) other repair\(limit == 1 ? "" : "s") on this host still running after \(RepairError.seconds(waited)) s (GUARDED_RUN_MAX_REPAIRS=\(limit), GUARDED_RUN_REPAIR_WAIT); \(venv) not repaired; try again"
        case .interrupted(let what): return "interrupted: " + what
        case .step(let line): return line
        case .system(let step?, let error): return "\(step): \(error)"
        case .system(nil, let error): return error.description
        }
    }

    /// Busy and interrupted may pass by themselves: nothing is recorded against the venv (no backoff).
    public var isTransient: Bool {
        switch self {
        case .busy, .interrupted: return true
        case .step, .system: return false
        }
    }

    /// 75 busy or interrupted (try again), 78 the venv is still broken, 70 the filesystem refused.
    public var exitCode: Int32 {
        switch self {
        case .busy, .interrupted: return ExitCode.temporaryFailure
        case .step: return ExitCode.broken
        case .system: return ExitCode.software
        }
    }

    /// The reason a failed `action` ("repair", "rollback") gives in the health log and on stderr:
    /// a transient failure as it is (`repair-busy: …`, `interrupted: …`), any other after
    /// `<action> failed: `.
    public func reason(failing action: String) -> String {
        isTransient ? description : "\(action) failed: \(description)"
    }

    /// Whole seconds waited, for the message (the wait is measured, never outside input, but a
    /// trapping conversion has no place in an error path).
    private static func seconds(_ waited: Double) -> Int {
        waited.isFinite && waited >= 0 && waited < 1e12 ? Int(waited) : 0
    }
}
