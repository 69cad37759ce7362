import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `<N>` priority prefixes when JOURNAL_STREAM names our stderr (systemd connected it to the
/// journal), plain lines otherwise (launchd, a terminal, a pipe).
final class JournalStreamTests: XCTestCase {
    var temp: TemporaryDirectory!
    override func setUpWithError() throws {
        temp = try TemporaryDirectory("journal")
        // No journal socket there: the fallback (stderr with a priority prefix) is what is tested
        // here; JournalSocketTests bind a real one. The host's journald is never written to.
        setenv("GUARDED_RUN_JOURNAL_SOCKET", temp.file("no-journal.sock"), 1)
    }
    override func tearDown() {
        unsetenv("JOURNAL_STREAM")
        unsetenv("GUARDED_RUN_JOURNAL_SOCKET")
        temp.remove()
    }

    /// Runs `body` with fd 2 pointed at a fresh file and returns what was written there.
    func capturingStandardError(journalStream: (FileStatus) -> String?, _ body: () -> Void) throws -> String {
        let path = temp.file("stderr-\(randomHex(4))")
        let fd = try FileDescriptor.open(path, [.writeOnly, .create, .truncate])
        let saved = dup(2)
        XCTAssertGreaterThanOrEqual(saved, 0)
        dup2(fd.rawValue, 2)
        defer {
            dup2(saved, 2)
            close(saved)
            unsetenv("JOURNAL_STREAM")
        }
        if let value = journalStream(try fileStatus(path)) { setenv("JOURNAL_STREAM", value, 1) } else { unsetenv("JOURNAL_STREAM") }
        body()
        return try readTextFile(path)
    }

    func testPrefixOnlyWhenStderrIsTheJournal() throws {
        let journal = try capturingStandardError(journalStream: { "\($0.device):\($0.inode)" }) {
            XCTAssertTrue(stderrIsJournal())
            writeStandardError("failed closed", priority: 3)
            writeStandardError("repaired", priority: 4)
            writeStandardError("no priority given")
        }
        XCTAssertEqual(journal, "<3>failed closed\n<4>repaired\nno priority given\n")

        let elsewhere = try capturingStandardError(journalStream: { "\($0.device):\($0.inode &+ 1)" }) {
            XCTAssertFalse(stderrIsJournal())
            writeStandardError("failed closed", priority: 3)
        }
        XCTAssertEqual(elsewhere, "failed closed\n", "JOURNAL_STREAM naming another file: plain lines")

        let unset = try capturingStandardError(journalStream: { _ in nil }) {
            XCTAssertFalse(stderrIsJournal())
            writeStandardError("failed closed", priority: 3)
        }
        XCTAssertEqual(unset, "failed closed\n")

        let garbage = try capturingStandardError(journalStream: { _ in "not-a-stream" }) {
            writeStandardError("failed closed", priority: 3)
        }
        XCTAssertEqual(garbage, "failed closed\n")
    }

    /// A failed-closed start under systemd: the launcher's failure line carries `<3>`.
    /// The launcher lands on main separately; until it does, this branch's stub answers every
    /// launcher call with a usage error and the test is skipped (it enables itself once the
    /// launcher is in the binary).
    func testFailedClosedStartLogsAtErrorPriority() throws {
        let probe = runGuarded(["--", "/bin/true"])
        try XCTSkipIf(probe.termination == .exited(64) && probe.errorText.contains("usage: guarded-run [OPTIONS] -- COMMAND"),
                      "launcher not built in this branch yet")
        let venv = temp.file("venv")
        makeVenv(venv)
        // A dangling bin/python: the base interpreter the venv pointed at is gone.
        try removeFile(venv + "/bin/python")
        try makeSymbolicLink(venv + "/bin/python", pointingTo: temp.file("no-such-python3.99"))
        let errPath = temp.file("agent.stderr")
        try temp.write("agent.stderr", "")
        let st = try fileStatus(errPath)
        let script = "exec \"$0\" \"$@\" 2>>\"$ERR\""
        let r = TestSupport.run("/bin/sh", ["-c", script, guardedRunBinary, "--state-dir", temp.file("state"), "--venv", venv, "--",
                                venv + "/bin/python", "-c", "pass"],
                    environment: environment(["JOURNAL_STREAM": "\(st.device):\(st.inode)", "ERR": errPath,
                                                         "GUARDED_RUN_JOURNAL_SOCKET": temp.file("no-journal.sock")]))
        XCTAssertEqual(r.termination, .exited(78))
        let lines = try readTextFile(errPath).split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        XCTAssertTrue(lines.contains { $0.hasPrefix("<3>guarded-run: ") }, "\(lines)")
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("<") }, "every line of guarded-run's own carries a priority: \(lines)")
    }
}
