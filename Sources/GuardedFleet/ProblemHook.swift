import GuardedCore
import GuardedSystem

/// `venvs check --on-problem CMD`: on a host without journald or Prometheus (a Mac), the way
/// the scheduled doctor tells someone. CMD runs under `/bin/sh -c` when any venv is broken or
/// degraded, with the JSON report (`venvs check --json`, byte for byte) on its stdin. Its
/// failure is reported, never turned into the check's exit code: the exit code says what the
/// venvs are, and a broken mail relay must not make them look broken (or healthy).
public enum ProblemHook {
    /// A hook that hangs (a mail relay down, a dialog waiting) is killed after this long.
    public static let timeoutSeconds = 60.0

    /// Whether the check found something the hook is for.
    public static func isDue(_ check: FleetCheck) -> Bool {
        check.entries.contains { $0.status != .healthy }
    }

    /// Runs `command` with `report` on its stdin. Returns nil when it exited 0, else one line
    /// saying what went wrong (its stderr's first line included).
    public static func run(_ command: String, report: [UInt8], timeoutSeconds: Double = timeoutSeconds) -> String? {
        let result: SubprocessResult
        do {
            result = try Subprocess.run("/bin/sh", ["-c", command], timeoutSeconds: timeoutSeconds,
                                        outputLimit: 64 << 10, standardInput: report)
        } catch {
            return "cannot run the on-problem hook: \(error)"
        }
        let said = String(decoding: result.standardError, as: UTF8.self)
            .split(separator: "\n").first.map { ": " + oneLine(String($0.prefix(200))) } ?? ""
        if result.timedOut { return "the on-problem hook did not finish within \(Int(timeoutSeconds)) s and was killed" }
        switch result.termination {
        case .exited(0): return nil
        case .exited(let code): return "the on-problem hook exited \(code)\(said)"
        case .signaled(let signal): return "the on-problem hook was killed by signal \(signal)\(said)"
        }
    }
}
