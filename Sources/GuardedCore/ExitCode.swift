import GuardedSystem

/// The program's one exit-code table (docs/exit-codes.md). Every exit goes through these names.
public enum ExitCode {
    /// Admin: everything healthy.
    public static let success: Int32 = 0
    /// Admin: something degraded (runs, needs attention).
    public static let degraded: Int32 = 1
    /// EX_USAGE: bad command line.
    public static let usage: Int32 = 64
    /// EX_SOFTWARE: guarded-run's own internal error (state dir unusable, a syscall that must not fail).
    public static let software: Int32 = 70
    /// EX_TEMPFAIL: transient (lock held, repair still running past the wait bound, interrupted).
    /// systemd units restart on it (RestartForceExitStatus=75).
    public static let temporaryFailure: Int32 = 75
    /// EX_CONFIG: the venv is broken and was not repaired; the agent was not started.
    /// systemd units do not restart on it (RestartPreventExitStatus=78).
    public static let broken: Int32 = 78
    /// COMMAND found but not executable (like env(1)).
    public static let cannotExecute: Int32 = 126
    /// COMMAND not found (like env(1)).
    public static let notFound: Int32 = 127
}

/// The program's name in every message it prints.
public let programName = "guarded-run"

/// The version printed by `--version` and recorded in every health-log line.
public let guardedRunVersion = LaunchFormat.version.description

/// Prints `guarded-run: <message>` on stderr in one write (an error-priority journal entry under systemd).
public func reportError(_ message: String, event: JournalEvent = JournalEvent(.error)) {
    writeStandardError(Diagnostics.line(message), priority: 3, event: event)
}
