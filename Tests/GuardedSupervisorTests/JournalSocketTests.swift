import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// journald's native protocol, against a real AF_UNIX datagram socket bound in a temp dir (the
/// GUARDED_RUN_JOURNAL_SOCKET test hook): the datagrams are parsed here as journald would, field
/// by field. The host's journald is never touched.
final class JournalSocketTests: XCTestCase {
    var temp: TemporaryDirectory!
    var socketPath: String { temp.file("journal.sock") }
    var receiver: Int32 = -1

    override func setUpWithError() throws {
        temp = try TemporaryDirectory("jsock")
        #if canImport(Glibc)
        receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        receiver = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        XCTAssertGreaterThanOrEqual(receiver, 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0, "bind \(socketPath)")
        // A big receive buffer: a test sends a 16 KiB field.
        var size: Int32 = 1 << 20
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(receiver, F_SETFL, fcntl(receiver, F_GETFL) | O_NONBLOCK)
    }

    override func tearDown() {
        close(receiver)
        unsetenv("JOURNAL_STREAM")
        unsetenv("GUARDED_RUN_JOURNAL_SOCKET")
        temp.remove()
    }

    /// Every datagram queued so far (the senders have finished: a datagram to a bound socket is
    /// queued by the time sendto returns).
    func receiveAll() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, 0) }
            if n < 0 { break }
            out.append(Array(buffer[0..<n]))
        }
        return out
    }

    /// journald's parser: `KEY=value\n`, or `KEY\n` + 64-bit little-endian length + value + `\n`.
    func parse(_ d: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        var fields: [String: String] = [:]
        var i = 0
        while i < d.count {
            guard let nl = d[i...].firstIndex(of: 0x0a) else { XCTFail("unterminated field", file: file, line: line); break }
            if let eq = d[i..<nl].firstIndex(of: 0x3d) {
                fields[String(decoding: d[i..<eq], as: UTF8.self)] = String(decoding: d[(eq + 1)..<nl], as: UTF8.self)
                i = nl + 1
            } else {
                let name = String(decoding: d[i..<nl], as: UTF8.self)
                guard nl + 9 <= d.count else { XCTFail("short length", file: file, line: line); break }
                var length: UInt64 = 0
                for k in 0..<8 { length |= UInt64(d[nl + 1 + k]) << (8 * UInt64(k)) }
                let start = nl + 9, end = start + Int(length)
                guard end < d.count, d[end] == 0x0a else { XCTFail("bad binary field \(name)", file: file, line: line); break }
                fields[name] = String(decoding: d[start..<end], as: UTF8.self)
                i = end + 1
            }
        }
        return fields
    }

    /// Runs the built binary with its stderr appended to a file that JOURNAL_STREAM names (what
    /// systemd does with a journal stream), the journal socket pointed at ours.
    func runUnderJournal(_ args: [String], socket: String? = nil) throws -> (result: SubprocessResult, stderr: String) {
        let errPath = temp.file("stderr-\(randomHex(4))")
        try writeFileAtomically(errPath, "")
        let st = try fileStatus(errPath)
        let r = TestSupport.run("/bin/sh", ["-c", "exec \"$0\" \"$@\" 2>>\"$ERR\"", guardedRunBinary] + args,
                                environment: environment(["JOURNAL_STREAM": "\(st.device):\(st.inode)", "ERR": errPath,
                                                          "GUARDED_RUN_JOURNAL_SOCKET": socket ?? socketPath]))
        return (r, try readTextFile(errPath))
    }

    func testEncodingOfPlainAndMultilineFields() {
        let d = Journal.encode([("MESSAGE", "one line"), ("BAD name", "x"), ("_PID", "1"), ("MULTI", "a\nb"), ("EMPTY", "")])
        var expected = Array("MESSAGE=one line\nMULTI\n".utf8) + [3, 0, 0, 0, 0, 0, 0, 0] + Array("a\nb\nEMPTY=\n".utf8)
        XCTAssertEqual(d, expected, "invalid and trusted (_) field names are skipped")
        XCTAssertEqual(parse(d), ["MESSAGE": "one line", "MULTI": "a\nb", "EMPTY": ""])
        let long = Journal.encode([("MESSAGE", String(repeating: "x", count: 100_000))])
        XCTAssertEqual(parse(long)["MESSAGE"]?.utf8.count, Journal.maxValueBytes)
        XCTAssertTrue(parse(long)["MESSAGE"]!.hasSuffix("..."))
        expected = []
        XCTAssertEqual(Journal.encode([]), expected)
    }

    /// In-process: a structured entry for a message with a newline in it (the binary form), and
    /// the stderr fallback when the socket is gone.
    func testStructuredEntryAndFallback() throws {
        let path = temp.file("stderr")
        let fd = try FileDescriptor.open(path, [.writeOnly, .create, .truncate])
        let saved = dup(2)
        dup2(fd.rawValue, 2)
        defer { dup2(saved, 2); close(saved) }
        let st = try fileStatus(path)
        setenv("JOURNAL_STREAM", "\(st.device):\(st.inode)", 1)
        setenv("GUARDED_RUN_JOURNAL_SOCKET", socketPath, 1)
        writeStandardError("guarded-run: mail: first\nsecond", priority: 4,
                           event: JournalEvent(.repaired, agent: "mail", venv: "/srv/mail/.venv", decision: "repaired"))
        writeStandardError("no priority given")
        setenv("GUARDED_RUN_JOURNAL_SOCKET", temp.file("gone.sock"), 1)
        writeStandardError("guarded-run: mail: falls back", priority: 3)
        let entries = receiveAll().map { parse($0) }
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries.first, [
            "MESSAGE": "guarded-run: mail: first\nsecond", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "mail",
            "MESSAGE_ID": "63067d7325c14525ab855f886938e6b7", "GUARDED_RUN_AGENT": "mail",
            "GUARDED_RUN_VENV": "/srv/mail/.venv", "GUARDED_RUN_DECISION": "repaired",
        ])
        XCTAssertEqual(entries.last?["PRIORITY"], "6")
        XCTAssertEqual(entries.last?["SYSLOG_IDENTIFIER"], "guarded-run")
        XCTAssertEqual(try readTextFile(path), "<3>guarded-run: mail: falls back\n", "only the fallback reached stderr")
    }

    func testMessageIDsAreStableAndDistinct() {
        let ids = JournalEvent.Kind.allCases.map { JournalEvent($0).messageID }
        XCTAssertEqual(Set(ids).count, ids.count)
        for id in ids { XCTAssertTrue(id.utf8.count == 32 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }, id) }
        XCTAssertEqual(JournalEvent(.failedClosed).messageID, "0a7be1f0813d494ea52bc644db498a45", "documented in docs/guarded-run.md")
    }

    /// The launcher under a journal stream: a failed-closed start is one structured entry (and
    /// nothing on stderr); a healthy start through the fast path sends nothing at all; observe mode
    /// says what it would have done; without the socket, stderr lines with a priority prefix.
    func testLauncherEntriesFromRealStarts() throws {
        let venv = temp.file("mail/.venv")
        makeVenv(venv)
        let state = temp.file("state")
        let args = ["--agent", "mail", "--state-dir", state, "--venv", venv, "--", venv + "/bin/python", "-c", "pass"]

        var r = try runUnderJournal(args)
        XCTAssertEqual(r.result.termination, .exited(0))
        XCTAssertEqual(r.stderr, "")
        r = try runUnderJournal(args)
        XCTAssertEqual(r.result.termination, .exited(0))
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(receiveAll().count, 0, "healthy starts (the fast path included) are silent")

        try removeFile(venv + "/pyvenv.cfg")
        r = try runUnderJournal(args)
        XCTAssertEqual(r.result.termination, .exited(78))
        XCTAssertEqual(r.stderr, "", "the journal took the message")
        var entries = receiveAll().map { parse($0) }
        XCTAssertEqual(entries.count, 1)
        let e = entries[0]
        XCTAssertTrue(e["MESSAGE"]?.hasPrefix("guarded-run: mail: venv \(venv) is broken: pyvenv-cfg-missing: ") == true, "\(e)")
        XCTAssertEqual(e["PRIORITY"], "3")
        XCTAssertEqual(e["SYSLOG_IDENTIFIER"], "mail")
        XCTAssertEqual(e["MESSAGE_ID"], "0a7be1f0813d494ea52bc644db498a45")
        XCTAssertEqual(e["GUARDED_RUN_AGENT"], "mail")
        XCTAssertEqual(e["GUARDED_RUN_VENV"], venv)
        XCTAssertEqual(e["GUARDED_RUN_DECISION"], "failed-closed")

        r = try runUnderJournal(["--observe"] + args)
        XCTAssertEqual(r.result.termination, .exited(0))
        entries = receiveAll().map { parse($0) }
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries.first?["GUARDED_RUN_DECISION"], "observed")
        XCTAssertEqual(entries.first?["GUARDED_RUN_WOULD"], "failed-closed")
        XCTAssertEqual(entries.first?["PRIORITY"], "4")
        XCTAssertEqual(entries.first?["MESSAGE_ID"], "07b61f77a1f94ce7b9bb475349c1fd9e")

        r = try runUnderJournal(["--give-up-after", "1"] + args)
        XCTAssertEqual(r.result.termination, .exited(0))
        entries = receiveAll().map { parse($0) }
        XCTAssertEqual(entries.map { $0["MESSAGE_ID"] ?? "" }, ["0a7be1f0813d494ea52bc644db498a45", "4c31151a03dc44a4af7dbc8538863d99"])
        XCTAssertEqual(entries.last?["PRIORITY"], "2")

        // Usage errors have no agent yet: identified as guarded-run.
        r = try runUnderJournal(["--agnet", "x", "--", "/bin/true"])
        XCTAssertEqual(r.result.termination, .exited(64))
        entries = receiveAll().map { parse($0) }
        XCTAssertEqual(entries.first?["SYSLOG_IDENTIFIER"], "guarded-run")
        XCTAssertEqual(entries.first?["MESSAGE_ID"], "7633378290874bc6bde235f117f3d3a2")
        XCTAssertEqual(entries.first?["MESSAGE"], "guarded-run: unknown option '--agnet'; did you mean '--agent'?")

        // No socket: the same failure on stderr, with its priority prefix.
        r = try runUnderJournal(args, socket: temp.file("absent.sock"))
        XCTAssertEqual(r.result.termination, .exited(78))
        XCTAssertTrue(r.stderr.hasPrefix("<3>guarded-run: mail: venv \(venv) is broken: "), r.stderr)
        XCTAssertEqual(receiveAll().count, 0)
    }
}
