import GuardedSystem

/// One line on stderr. Under systemd (JOURNAL_STREAM names our stderr) a `<N>` priority prefix
/// may be given so the journal files the line at the right level; elsewhere lines are plain.
public func writeStandardError(_ line: String, priority: Int? = nil) {
    if let priority, stderrIsJournal() {
        Output.standardError("<\(priority)>" + line)
    } else {
        Output.standardError(line)
    }
}

/// True when JOURNAL_STREAM ("dev:inode") matches our stderr: systemd connected it to the journal.
public func stderrIsJournal() -> Bool {
    guard let stream = Environment.value("JOURNAL_STREAM"),
          let st = try? fileStatus(descriptor: 2) else { return false }
    return stream == "\(st.device):\(st.inode)"
}
