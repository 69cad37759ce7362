import GuardedSystem

/// What a message is about, for the journal: its kind (a stable `MESSAGE_ID`), and the agent,
/// venv and decision it concerns (`GUARDED_RUN_AGENT=`, `GUARDED_RUN_VENV=`,
/// `GUARDED_RUN_DECISION=`, `GUARDED_RUN_WOULD=`), so `journalctl GUARDED_RUN_DECISION=failed-closed`
/// finds every refused start on a host.
public struct JournalEvent: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case failedClosed = "failed-closed", transient, repaired, rolledBack = "rolled-back", gaveUp = "gave-up"
        case observed, warning, execFailed = "exec-failed", usage, error, message
    }

    public var kind: Kind
    public var agent: String?
    public var venv: String?
    public var decision: String?
    public var would: String?

    public init(_ kind: Kind, agent: String? = nil, venv: String? = nil, decision: String? = nil, would: String? = nil) {
        self.kind = kind; self.agent = agent; self.venv = venv; self.decision = decision; self.would = would
    }

    /// One 128-bit id per kind of event, never to change (docs/guarded-run.md lists them).
    public var messageID: String {
        switch kind {
        case .failedClosed: return "0a7be1f0813d494ea52bc644db498a45"
        case .transient: return "51f1e9acf4704e2ab0ff05bae85c3501"
        case .repaired: return "63067d7325c14525ab855f886938e6b7"
        case .rolledBack: return "cec4892eec7548489b39a5c86af11524"
        case .gaveUp: return "4c31151a03dc44a4af7dbc8538863d99"
        case .observed: return "07b61f77a1f94ce7b9bb475349c1fd9e"
        case .warning: return "b03b36df89a54aca88330dc54f7fa246"
        case .execFailed: return "3fc7c2b147eb42a5aa4c08bc166bbf59"
        case .usage: return "7633378290874bc6bde235f117f3d3a2"
        case .error: return "dd876c39c2d3483085bafb1943a38a4f"
        case .message: return "bd2e8473ebb84079ac69256fbcddd4c1"
        }
    }

    /// The journal fields of one message.
    public func fields(message: String, priority: Int) -> [(String, String)] {
        var f: [(String, String)] = [("MESSAGE", message), ("PRIORITY", String(priority)),
                                     ("SYSLOG_IDENTIFIER", agent ?? programName), ("MESSAGE_ID", messageID)]
        if let agent { f.append(("GUARDED_RUN_AGENT", agent)) }
        if let venv { f.append(("GUARDED_RUN_VENV", venv)) }
        if let decision { f.append(("GUARDED_RUN_DECISION", decision)) }
        if let would { f.append(("GUARDED_RUN_WOULD", would)) }
        return f
    }

    /// The event of a refused start (`failed-closed` or `transient`).
    public static func refusal(_ record: HealthRecord) -> JournalEvent {
        JournalEvent(record.decision == .transient ? .transient : .failedClosed, agent: record.agent, venv: record.venv,
                     decision: record.decision.rawValue)
    }
}

/// One line on stderr. Under systemd (JOURNAL_STREAM names our stderr) it goes to the journal as a
/// structured entry (`event`'s fields, the priority, 6 when none is given) over the native socket;
/// when that socket is absent or the send fails, it goes to stderr with a `<N>` priority prefix
/// (when a priority is given) so the journal still files it at the right level. Elsewhere lines
/// are plain. Every line passes the redaction (Redaction.swift): no environment value that could be
/// a secret, in the journal or on stderr.
/// The one shape of every message the program prints about itself: `guarded-run: [AGENT: ]TEXT`,
/// warnings `guarded-run: [AGENT: ]warning: TEXT`, with the journal priority and event fields.
public enum Diagnostics {
    public static func warning(_ text: String, agent: String? = nil, venv: String? = nil) {
        writeStandardError(line("warning: " + text, agent: agent), priority: 4, event: JournalEvent(.warning, agent: agent, venv: venv))
    }

    public static func error(_ text: String, agent: String? = nil, venv: String? = nil, event kind: JournalEvent.Kind = .error) {
        writeStandardError(line(text, agent: agent), priority: 3, event: JournalEvent(kind, agent: agent, venv: venv))
    }

    /// The line without writing it (for messages handed to a caller, or given another priority).
    public static func line(_ text: String, agent: String? = nil) -> String {
        programName + ": " + (agent.map { $0 + ": " } ?? "") + text
    }
}

public func writeStandardError(_ line: String, priority: Int? = nil, event: JournalEvent = JournalEvent(.message)) {
    let line = Redaction.apply(line)
    guard stderrIsJournal() else { Output.standardError(line); return }
    if Journal.send(event.fields(message: line, priority: priority ?? 6)) { return }
    Output.standardError(priority.map { "<\($0)>" + line } ?? line)
}

/// True when JOURNAL_STREAM ("dev:inode") matches our stderr: systemd connected it to the journal.
public func stderrIsJournal() -> Bool {
    guard let stream = Environment.value("JOURNAL_STREAM"),
          let st = try? fileStatus(descriptor: 2) else { return false }
    return stream == "\(st.device):\(st.inode)"
}
