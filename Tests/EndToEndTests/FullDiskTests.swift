import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// A full disk tears nothing (issue 9 item 9): on a small tmpfs holding the state directory,
/// healthy starts still exec the agent, a record cut short never fuses with the next one, the
/// lost records are said once per boot, and no write under the state directory leaves a temp file.
final class FullDiskTests: XCTestCase {
    var fx: AgentFixture!
    var disk: String!
    var runtime: String!
    var mounted = false
    var state: String { disk + "/state" }

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs (mount -t tmpfs)") }
        fx = try AgentFixture()
        disk = fx.tmp.file("disk")
        runtime = fx.tmp.file("runtime")
        try makeDirectories(disk, mode: 0o700)
        try makeDirectories(runtime, mode: 0o700)
        let r = TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", disk])
        guard r.termination == .exited(0) else { throw XCTSkip("cannot mount a tmpfs here: \(r.errorText)") }
        mounted = true
    }

    override func tearDown() {
        if mounted { TestSupport.run("/bin/umount", [disk]) }
        fx?.remove()
    }

    @discardableResult
    func start(_ options: [String] = []) -> SubprocessResult {
        runGuarded(["--agent", fx.agent, "--state-dir", state] + options + ["--", fx.python, fx.agentScript],
                   environment: environment(["GUARDED_RUN_RUNTIME_DIR": runtime]))
    }

    /// Fills the filesystem to the last byte.
    func fill() throws {
        let fd = try FileDescriptor.open(disk + "/filler", [.writeOnly, .create, .append], mode: 0o600)
        let chunk = [UInt8](repeating: 0x78, count: 4096)
        while (try? fd.writeAll(chunk)) != nil {}
        let byte: [UInt8] = [0x78]
        while (try? fd.writeAll(byte)) != nil {}
    }

    func free() throws { try removeFile(disk + "/filler") }

    /// Names of leftover temp files anywhere below `dir`.
    func temps(_ dir: String) -> [String] {
        var out: [String] = []
        for name in (try? directoryEntries(dir)) ?? [] {
            let path = dir + "/" + name
            if name.contains(".tmp.") { out.append(path) }
            if fileStatusIfPresent(path)?.isDirectory == true { out += temps(path) }
        }
        return out
    }

    func testHealthLogIsNeverTornIntoTheNextRecord() throws {
        XCTAssertEqual(start().termination, .exited(0))
        XCTAssertEqual(start().termination, .exited(0))
        let log = state + "/agents/demo/health.jsonl"
        try fill()
        // Starts go on appending into the log's last page until a record no longer fits: that one
        // is cut short (a torn record), the ones after it are lost.
        var errors = ""
        var starts = 2
        var sizes: [Int64] = []
        repeat {
            let r = start()
            XCTAssertEqual(r.termination, .exited(0), "availability first: the agent starts on a full disk")
            errors += r.errorText
            starts += 1
            sizes.append(try fileStatus(log).size)
        } while (sizes.count < 2 || sizes[sizes.count - 1] != sizes[sizes.count - 2]) && starts < 60
        XCTAssertEqual(fx.agentRuns, starts)
        let torn = try readFile(log)
        XCTAssertNotEqual(torn.last, 0x0a, "the disk filled in the middle of a record")
        XCTAssertEqual(errors.components(separatedBy: "cannot write the health log").count - 1, 1,
                       "said once per boot: \(errors)")

        let whole = HealthLog.read(state: StateDirectory(path: state), agent: fx.agent).records.count
        try free()
        XCTAssertEqual(start().termination, .exited(0))
        let (records, malformed) = HealthLog.read(state: StateDirectory(path: state), agent: fx.agent)
        XCTAssertEqual(malformed, 1, "the fragment is its own line, skipped")
        XCTAssertEqual(records.count, whole + 1, "the next record did not fuse with the fragment")
        XCTAssertEqual(records.last?.decision, "fast-ok", "the record after the fragment is whole")
        let text = String(decoding: try readFile(log), as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("}\n"))
        // The slow path's append (first start after a change) also starts on a fresh line.
        try fill()
        for _ in 0..<20 { start() }
        let wholeBefore = HealthLog.read(state: StateDirectory(path: state), agent: fx.agent).records.count
        try free()
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", try readFile(fx.venv + "/pyvenv.cfg"))
        XCTAssertEqual(start().termination, .exited(0))
        let after = HealthLog.read(state: StateDirectory(path: state), agent: fx.agent)
        XCTAssertEqual(after.records.count, wholeBefore + 1, "the slow path's record did not fuse either")
        let tail = String(decoding: try readFile(log).suffix(900), as: UTF8.self)
        XCTAssertEqual(after.records.last?.decision, "checked-ok", tail)
        XCTAssertEqual(after.malformed, 2)
        XCTAssertEqual(temps(state), [])
    }

    func testSlowPathWritesLeaveNoTempFilesOnAFullDisk() throws {
        XCTAssertEqual(start().termination, .exited(0))
        try fill()
        // A change: the full check passes, the cache cannot be rewritten, the agent starts.
        try writeFileAtomically(fx.venv + "/pyvenv.cfg", try readFile(fx.venv + "/pyvenv.cfg"))
        let r = start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertTrue(r.errorText.contains("cannot write the fingerprint cache"), r.errorText)
        // A failed-closed start with --give-up-after cannot record its streak: still 78, no temp file.
        try removeFile(fx.venv + "/pyvenv.cfg")
        XCTAssertEqual(start(["--give-up-after", "3"]).termination, .exited(78))
        XCTAssertEqual(temps(state), [])
        try free()
        XCTAssertEqual(fx.agentRuns, 2)
    }

    func testSnapshotCreateOnAFullDiskFailsCleanly() throws {
        try fx.tmp.write("unit.service", "[Service]\nExecStart=/bin/true\n")
        let first = runGuarded(["snapshot", "create", fx.tmp.file("unit.service"), "--state-dir", state])
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        try fx.tmp.write("unit.service", "[Service]\nExecStart=/bin/false\n" + String(repeating: "# padding\n", count: 2000))
        try fill()
        let second = runGuarded(["snapshot", "create", fx.tmp.file("unit.service"), "--state-dir", state])
        XCTAssertEqual(second.termination, .exited(70), second.errorText)
        XCTAssertEqual(second.errorText.split(separator: "\n").count, 1, second.errorText)
        XCTAssertTrue(second.errorText.contains("No space left on device"), second.errorText)
        XCTAssertEqual(temps(state), [])
        try free()
        let verify = runGuarded(["snapshot", "verify", "latest", "--state-dir", state])
        XCTAssertEqual(verify.termination, .exited(0), verify.errorText + verify.outputText)
    }
}

/// Repair on a full disk (the venv's filesystem) fails cleanly and leaves the venv as it was.
final class FullDiskRepairTests: XCTestCase {
    var fx: RepairFixture?
    var disk: String?

    override func tearDown() {
        if let disk { TestSupport.run("/bin/umount", [disk]) }
        fx?.remove()
    }

    func testRepairOnAFullDiskFailsCleanlyAndLeavesTheVenv() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs (mount -t tmpfs)") }
        let fx = try RepairFixture(mode: .pip) { tmp in
            let dir = tmp.file("agent")
            let r = TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", dir])
            guard r.termination == .exited(0) else { throw XCTSkip("cannot mount a tmpfs here: \(r.errorText)") }
            self.disk = dir
        }
        self.fx = fx
        let disk = try XCTUnwrap(self.disk)
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeTree(fx.sitePackages + "/alpha")
        func listing() -> [String] {
            var out: [String] = []
            func walk(_ d: String, _ prefix: String) {
                for n in ((try? directoryEntries(d)) ?? []).sorted() {
                    out.append(prefix + n)
                    if fileStatusIfPresent(d + "/" + n)?.isDirectory == true { walk(d + "/" + n, prefix + n + "/") }
                }
            }
            walk(disk, "")
            return out
        }
        // Fill the venv's filesystem to the last byte.
        let filler = try FileDescriptor.open(disk + "/filler", [.writeOnly, .create, .append], mode: 0o600)
        while (try? filler.writeAll([UInt8](repeating: 0x78, count: 65536))) != nil {}
        while (try? filler.writeAll([0x78])) != nil {}
        let before = listing()
        let inode = try fileStatus(fx.venv).inode

        let r = fx.admin(["repair", "--venv", fx.venv, "--import", "alpha", "--find-links", fx.wheelhouse, "--force"])
        XCTAssertNotEqual(r.termination, .exited(0), r.outputText + r.errorText)
        XCTAssertTrue((r.outputText + r.errorText).contains("No space left on device"), r.outputText + r.errorText)
        XCTAssertFalse(r.termination == .signaled(SIGILL) || r.termination == .signaled(SIGTRAP), "\(r.termination)")
        XCTAssertEqual(try fileStatus(fx.venv).inode, inode, "the live venv was not replaced")
        // The repair's lock beside the venv (docs/auto-repair.md) is the only thing it may leave: a
        // directory and an empty file, which need no data block even on a full disk.
        let after = listing()
        XCTAssertEqual(after.filter { !$0.hasPrefix(".venv.generations") }, before, "nothing left behind on the full disk")
        XCTAssertEqual(after.filter { $0.hasPrefix(".venv.generations") },
                       [".venv.generations", ".venv.generations/.repair", ".venv.generations/.repair/lock"])
    }
}
