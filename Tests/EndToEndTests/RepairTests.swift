import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Auto-repair and rollback on real venvs with real installs from a local wheelhouse (no network).
/// Every scenario runs with pip and, when uv is available, with uv.
final class RepairTests: XCTestCase {
    var fixtures: [RepairFixture] = []
    override func tearDown() { fixtures.forEach { $0.remove() }; fixtures = [] }

    func fixture(_ mode: InstallerMode, python: String = testPython, packages: [String] = ["alpha==1.0", "beta==2.0", "gamma==0.3"]) throws -> RepairFixture {
        let fx = try RepairFixture(mode: mode, python: python, packages: packages)
        fixtures.append(fx)
        return fx
    }

    /// A healthy start records the known-good set; then the test breaks the venv.
    func primed(_ mode: InstallerMode, file: StaticString = #filePath, line: UInt = #line) throws -> RepairFixture {
        let fx = try fixture(mode)
        let r = fx.start()
        XCTAssertEqual(r.termination, .exited(0), r.errorText, file: file, line: line)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok", file: file, line: line)
        try removeFile(fx.marker)
        return fx
    }

    // MARK: a package's module deleted -> rebuilt from the known-good set, same versions

    func testModuleDeletedRepairedWithPip() throws { try moduleDeleted(.pip) }
    func testModuleDeletedRepairedWithUV() throws { try moduleDeleted(.uv) }

    func moduleDeleted(_ mode: InstallerMode) throws {
        let fx = try primed(mode)
        let before = fx.distributions(of: fx.venv)
        XCTAssertEqual(before, ["alpha==1.0", "beta==2.0", "gamma==0.3"])
        let originalInode = try fileStatus(fx.venv).inode
        try removeTree(fx.sitePackages + "/alpha")

        let r = fx.start(["--auto-repair"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let rec = fx.lastRecord()
        XCTAssertEqual(rec.decision, "repaired")
        XCTAssertEqual(rec["status"], .string("healthy"))
        let repair = try XCTUnwrap(rec["repair"])
        XCTAssertEqual(repair["result"], .string("repaired"))
        XCTAssertEqual(repair["source"], .string("known-good"))
        XCTAssertEqual(repair["generation"], .number(1))
        XCTAssertEqual(repair["adopted"], .bool(true))
        XCTAssertEqual(repair["by"], .string("launcher"))
        XCTAssertEqual(repair["cache_probes"], .number(0), "the repaired venv is cached without a second probe")
        XCTAssertEqual(repair["installer"]?.stringValue?.hasPrefix(mode.rawValue), true, "\(repair)")
        XCTAssertEqual(repair["interpreter"], .string(testPythonHome + "/python3.11"))
        XCTAssertTrue(repair["interpreter_reason"]?.stringValue?.contains("still works") == true)
        XCTAssertTrue(repair["broken_reasons"]?.arrayValue?.first?.stringValue?.hasPrefix("import-failed: alpha") == true)
        XCTAssertNotNil(repair["duration_ms"]?.intValue)

        // The agent ran once, as <venv> (sys.prefix), on generation 1; same versions as before.
        XCTAssertEqual(fx.agentRuns.count, 1)
        XCTAssertEqual(fx.agentRuns.first?[1], fx.venv)
        XCTAssertEqual(fx.agentRuns.first?[2], try resolvedPath(fx.generationsDirectory + "/1"))
        XCTAssertEqual(fx.currentGeneration, 1)
        XCTAssertEqual(fx.distributions(of: fx.venv), before)
        // The adopted original is generation 0, the same directory (same inode), untouched inside.
        XCTAssertEqual(try fileStatus(fx.generationsDirectory + "/0").inode, originalInode)
        XCTAssertFalse(fileExists(fx.generationsDirectory + "/0/lib/python3.11/site-packages/alpha"))

        // Console scripts name <venv>/bin/python and run through the symlink after the swap.
        let tool = try readTextFile(fx.venv + "/bin/alpha-tool")
        XCTAssertTrue(tool.hasPrefix("#!\(fx.venv)/bin/python"), String(tool.prefix(120)))
        let out = TestSupport.run(fx.venv + "/bin/alpha-tool", [], environment: fx.env())
        XCTAssertEqual(out.outputText, "alpha 1.0 \(fx.venv)\n", out.errorText)
        XCTAssertFalse(try readTextFile(fx.venv + "/pyvenv.cfg").contains(".build-"))

        // The next start is the fast path; nothing is left over.
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.leftovers, [])
        XCTAssertEqual(fx.repairAttempts.count, 1)
    }

    // MARK: Homebrew-style: the Cellar dir removed, a new one of the same minor under `opt`

    func testHomebrewInterpreterReplacedWithPip() throws { try homebrew(.pip) }
    func testHomebrewInterpreterReplacedWithUV() throws { try homebrew(.uv) }

    func homebrew(_ mode: InstallerMode) throws {
        let cellar = try TemporaryDirectory("brew")
        defer { cellar.remove() }
        let oldKeg = cellar.file("Cellar/python@3.11/3.11.2/bin")
        try makeDirectories(oldKeg)
        try makeSymbolicLink(oldKeg + "/python3.11", pointingTo: "/usr/bin/python3.11")
        let fx = try fixture(mode, python: oldKeg + "/python3.11")
        XCTAssertTrue(try readTextFile(fx.venv + "/pyvenv.cfg").contains("home = \(oldKeg)"))
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeFile(fx.marker)

        // brew upgrade: the old keg goes, a new keg appears, `opt/python@3.11` points at it.
        try removeTree(cellar.file("Cellar/python@3.11/3.11.2"))
        let newKeg = cellar.file("Cellar/python@3.11/3.11.9/bin")
        try makeDirectories(newKeg)
        try makeSymbolicLink(newKeg + "/python3.11", pointingTo: "/usr/bin/python3.11")
        try makeDirectories(cellar.file("opt"))
        try makeSymbolicLink(cellar.file("opt/python@3.11"), pointingTo: "../Cellar/python@3.11/3.11.9")
        let optBin = cellar.file("opt/python@3.11/bin")
        let broken = fx.start(path: "/usr/bin:/bin")
        XCTAssertEqual(broken.termination, .exited(78), "without the flag: fail closed")

        // The Cellar path comes first on PATH; the stable opt path is preferred anyway.
        let path = (mode == .uv ? fx.uvBin + ":" : "") + "\(newKeg):\(optBin):/usr/bin:/bin"
        let r = fx.start(["--auto-repair"], path: path)
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let repair = try XCTUnwrap(fx.lastRecord()["repair"])
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
        XCTAssertEqual(repair["interpreter"], .string(optBin + "/python3.11"))
        let reason = repair["interpreter_reason"]?.stringValue ?? ""
        XCTAssertTrue(reason.contains("found python3.11 at \(optBin)/python3.11") && reason.contains("the venv's home \(oldKeg) is gone"), reason)
        XCTAssertEqual(fx.agentRuns.count, 1)
        XCTAssertEqual(fx.agentRuns.first?[1], fx.venv)
        XCTAssertTrue(try readTextFile(fx.venv + "/pyvenv.cfg").contains("home = \(optBin)"))
        XCTAssertEqual(try readSymbolicLink(fx.venv + "/bin/python").hasPrefix(optBin) || (try readSymbolicLink(fx.venv + "/bin/python3.11")).hasPrefix(optBin), true)
        XCTAssertEqual(fx.distributions(of: fx.venv), ["alpha==1.0", "beta==2.0", "gamma==0.3"])
        let out = TestSupport.run(fx.venv + "/bin/beta-tool", [], environment: fx.env())
        XCTAssertEqual(out.outputText, "beta 2.0 \(fx.venv)\n", out.errorText)
    }

    // MARK: repair impossible, a good earlier generation -> rolled back

    func testRollbackWhenWheelMissingWithPip() throws { try rollback(.pip) }
    func testRollbackWhenWheelMissingWithUV() throws { try rollback(.uv) }

    func rollback(_ mode: InstallerMode, killAt step: String? = nil) throws {
        let fx = try primed(mode)
        // An operator rebuild makes generation 1; the original (healthy) is generation 0.
        let rebuild = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--import", "beta", "--rebuild", "--force"])
        XCTAssertEqual(rebuild.termination, .exited(0), rebuild.errorText)
        XCTAssertEqual(fx.currentGeneration, 1)
        // Generation 1 breaks, and the wheelhouse has lost alpha 1.0: repair cannot work.
        try removeTree(fx.sitePackages + "/alpha")
        try removeFile(fx.wheelhouse + "/alpha-1.0-py3-none-any.whl")

        if let step {
            let killed = fx.start(["--auto-repair"], env: ["GUARDED_RUN_TEST_KILL_AT": step])
            XCTAssertEqual(killed.termination, .signaled(SIGKILL), killed.errorText)
            XCTAssertEqual(fx.agentRuns.count, 0)
            XCTAssertEqual(fx.currentGeneration, 1, "a rollback killed before its swap leaves the venv where it was")
        }
        // A killed attempt counts as a failed one (RepairSharingTests); a zero-length backoff
        // window lets this start try again at once.
        let r = fx.start(["--auto-repair"], env: step == nil ? [:] : ["GUARDED_RUN_REPAIR_BACKOFF": "0"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let rec = fx.lastRecord()
        XCTAssertEqual(rec.decision, "rolled-back")
        let repair = try XCTUnwrap(rec["repair"])
        XCTAssertEqual(repair["generation"], .number(0))
        XCTAssertEqual(repair["from_generation"], .number(1))
        XCTAssertTrue(repair["repair_failure"]?.stringValue?.contains("alpha") == true, "\(repair)")
        XCTAssertEqual(fx.currentGeneration, 0)
        XCTAssertEqual(fx.agentRuns.count, 1)
        XCTAssertEqual(fx.agentRuns.first?[2], try resolvedPath(fx.generationsDirectory + "/0"))
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.leftovers, [])
    }

    func testRollbackKilledBeforeItsSwap() throws { try rollback(InstallerMode.uvPath == nil ? .pip : .uv, killAt: "rollback") }

    // MARK: nothing possible -> 78, the agent never ran

    func testNothingPossibleFailsClosedWithPip() throws { try nothingPossible(.pip) }
    func testNothingPossibleFailsClosedWithUV() throws { try nothingPossible(.uv) }

    func nothingPossible(_ mode: InstallerMode) throws {
        let fx = try primed(mode)
        try removeTree(fx.sitePackages + "/alpha")
        try removeFile(fx.wheelhouse + "/alpha-1.0-py3-none-any.whl")
        let r = fx.start(["--auto-repair"])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        XCTAssertEqual(fx.agentRuns.count, 0)
        XCTAssertEqual(r.errorText.split(separator: "\n").count, 1, r.errorText)
        XCTAssertTrue(r.errorText.hasPrefix("guarded-run: demo: venv \(fx.venv) is broken and was not repaired: repair failed: install: "), r.errorText)
        XCTAssertTrue(r.errorText.contains("rollback failed: no earlier generation"), r.errorText)
        let rec = fx.lastRecord()
        XCTAssertEqual(rec.decision, "failed-closed")
        XCTAssertEqual(rec["status"], .string("broken"))
        XCTAssertEqual(rec["repair"]?["result"], .string("failed"))
        XCTAssertEqual(rec["repair"]?["attempt"], .number(1))
        let reasons = rec.reasonList
        XCTAssertTrue(reasons.count >= 3 && reasons[0].hasPrefix("repair failed: install: ") && reasons[1].hasPrefix("rollback failed: "), "\(reasons)")
        XCTAssertTrue(reasons.contains { $0.hasPrefix("import-failed: alpha") }, "\(reasons)")
        // The live venv was never touched: still the plain directory, no generation left behind
        // (only the repairs' shared place: the lock and the backoff record).
        XCTAssertTrue(try fileStatus(fx.venv).isDirectory)
        XCTAssertEqual(try directoryEntries(fx.generationsDirectory).filter { $0 != ".check-invalidated" }, [".repair"])
        XCTAssertTrue(fileExists(fx.repairPlace + "/failure.json"))
    }

    // MARK: no repair storms

    func testFiftyStartsOnAnUnrepairableVenvMakeOneAttempt() throws {
        let fx = try primed(InstallerMode.uvPath == nil ? .pip : .uv)
        try removeTree(fx.sitePackages + "/alpha")
        try removeFile(fx.wheelhouse + "/alpha-1.0-py3-none-any.whl")
        for i in 0..<50 {
            let r = fx.start(["--auto-repair"])
            XCTAssertEqual(r.termination, .exited(78), "start \(i): \(r.errorText)")
            if i > 0 {
                XCTAssertTrue(r.errorText.contains("no new attempt before"), r.errorText)
                XCTAssertEqual(r.errorText.split(separator: "\n").count, 1)
            }
        }
        XCTAssertEqual(fx.agentRuns.count, 0)
        let records = Array(fx.records().dropFirst())  // the priming start
        XCTAssertEqual(records.count, 50)
        XCTAssertEqual(fx.repairAttempts.count, 1, "one repair attempt in the logs")
        XCTAssertEqual(records.filter { $0["repair_backoff"] != nil }.count, 49)
        XCTAssertTrue(records.dropFirst().allSatisfy { $0["probe_ms"] == nil && $0.decision == "failed-closed" }, "no full check while the backoff holds")

        // Something in the watch list changes (the wheel comes back): the next start tries again.
        try RepairFixture.buildWheels(into: fx.wheelhouse, tmp: fx.tmp)
        let r = fx.start(["--auto-repair"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
        XCTAssertEqual(fx.repairAttempts.count, 2)
    }

    /// Every repair state file read back as garbage is a miss (no backoff, no known-good set, an
    /// unlabelled generation), never a crash: the launcher still decides, and says why.
    func testGarbageInRepairStateIsAMissNotACrash() throws {
        let fx = try primed(.pip)
        try removeTree(fx.sitePackages + "/alpha")
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "repaired")

        let dir = StateDirectory(path: fx.state).venvDirectory(for: fx.venv)
        var files = [fx.repairPlace + "/failure.json", fx.repairPlace + "/in-progress.json", dir + "/known-good.json"]
        files += ((try? directoryEntries(dir + "/generations")) ?? []).map { dir + "/generations/" + $0 }
        XCTAssertGreaterThan(files.count, 3, "generation records exist: \(files)")
        var generator = SystemRandomNumberGenerator()
        for (k, file) in files.enumerated() {
            let junk: [UInt8] = k % 2 == 0 ? (0..<700).map { _ in UInt8.random(in: 0...255, using: &generator) } : Array("{\"venv\": [".utf8)
            try writeFileAtomically(file, junk)
        }
        // Break the live generation again: the check fails, repair finds no usable known-good set.
        try removeTree(fx.sitePackages + "/alpha")
        for _ in 0..<2 {
            let r = fx.start(["--auto-repair"])
            guard case .exited(let code) = r.termination else { return XCTFail("killed: \(r.termination) \(r.errorText)") }
            XCTAssertTrue([0, 78].contains(code), "exit \(code): \(r.errorText)")
            // Without a known-good set the repair rebuilds from the venv's own dist-info, so the
            // second start may find the venv repaired already (fast-ok).
            XCTAssertTrue(["repaired", "rolled-back", "failed-closed", "fast-ok"].contains(fx.lastRecord().decision ?? ""), "\(fx.lastRecord())")
        }
        for args in [["generations", "--venv", fx.venv], ["repair", "--venv", fx.venv], ["check", "--venv", fx.venv]] {
            let r = runGuarded(args + ["--state-dir", fx.state], environment: fx.env())
            guard case .exited(let code) = r.termination else { return XCTFail("\(args) killed: \(r.termination)") }
            XCTAssertTrue([0, 1, 78].contains(code), "\(args): exit \(code): \(r.errorText)")
        }
    }

    func testBackoffExpiresAndForceRetries() throws {
        let fx = try primed(InstallerMode.uvPath == nil ? .pip : .uv)
        try removeTree(fx.sitePackages + "/alpha")
        try removeFile(fx.wheelhouse + "/alpha-1.0-py3-none-any.whl")
        // A zero-length window (recorded with the failure): the next start tries again, and the
        // attempt count goes on; the second failure's window is the default (60 s doubled).
        XCTAssertEqual(fx.start(["--auto-repair"], env: ["GUARDED_RUN_REPAIR_BACKOFF": "0"]).termination, .exited(78))
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(78))
        XCTAssertEqual(fx.repairAttempts.count, 2)
        XCTAssertEqual(fx.lastRecord()["repair"]?["attempt"], .number(2))
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(78))
        XCTAssertEqual(fx.repairAttempts.count, 2)
        XCTAssertNotNil(fx.lastRecord()["repair_backoff"])
        // `repair --force` ignores the window.
        let forced = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--force"])
        XCTAssertEqual(forced.termination, .exited(78), forced.errorText)
        XCTAssertTrue(forced.errorText.hasPrefix("guarded-run: repair: \(fx.venv): repair failed: install: "), forced.errorText)
    }

    // MARK: 32 launchers at once

    func testThirtyTwoLaunchersOneRepairWithPip() throws { try thirtyTwo(.pip) }
    func testThirtyTwoLaunchersOneRepairWithUV() throws { try thirtyTwo(.uv) }

    func thirtyTwo(_ mode: InstallerMode) throws {
        let fx = try primed(mode)
        try removeTree(fx.sitePackages + "/alpha")
        let processes = try (0..<32).map { _ in try fx.launch(env: ["ENABLE_AUTO_REPAIR": "1"]) }
        for p in processes { p.waitUntilExit() }
        XCTAssertEqual(processes.map(\.terminationStatus), Array(repeating: 0, count: 32))
        let repairs = fx.records().filter { $0["repair"]?["result"] == .string("repaired") }
        XCTAssertEqual(repairs.count, 1, "exactly one repair in the logs")
        XCTAssertEqual(fx.repairAttempts.count, 1)
        XCTAssertEqual(fx.records().count, 33, "the priming start and 32")
        // Those that waited for the lock saw the repair's fingerprint, not a probe of their own.
        let waited = fx.records().filter { $0["repair_wait"] != nil }
        XCTAssertEqual(waited.filter { $0["repair_wait"]?["checked_by"] != .string("fingerprint") }, [], "\(waited)")
        let runs = fx.agentRuns
        XCTAssertEqual(runs.count, 32, "32 of 32 agents ran")
        XCTAssertEqual(Set(runs.map { $0[2] }), [try resolvedPath(fx.generationsDirectory + "/1")], "all on the same new venv")
        XCTAssertEqual(fx.leftovers, [])
    }

    // MARK: SIGKILL at each step

    func testSigkillAtEachStepLeavesACompleteVenvAndRecovers() throws {
        let mode: InstallerMode = InstallerMode.uvPath == nil ? .pip : .uv
        for step in ["lock", "create", "install", "rewrite", "verify", "promote", "adopt", "swap", "swapped", "prune"] {
            let fx = try primed(mode)
            try removeTree(fx.sitePackages + "/alpha")
            let keep: [String: String?] = step == "prune" ? ["GUARDED_RUN_KEEP_GENERATIONS": "0"] : [:]
            let killed = fx.start(["--auto-repair"], env: keep.merging(["GUARDED_RUN_TEST_KILL_AT": step]) { a, _ in a })
            XCTAssertEqual(killed.termination, .signaled(SIGKILL), "\(step): \(killed.errorText)")
            XCTAssertEqual(fx.agentRuns.count, 0, step)

            // At this instant the venv path holds the complete old venv or the complete new one.
            let st = try fileStatus(fx.venv)
            if let n = fx.currentGeneration, n > 0 {
                XCTAssertTrue(["swapped", "prune"].contains(step), "\(step): swapped to \(n) too early")
                XCTAssertTrue(fx.pythonRuns("import alpha, beta, gamma"), "\(step): generation \(n) is complete")
            } else if fx.currentGeneration == 0 {
                XCTAssertTrue(["adopt", "swap"].contains(step), "\(step): adopted too early")
                XCTAssertTrue(fx.pythonRuns("import beta"), step)
                XCTAssertFalse(fx.pythonRuns("import alpha"), step)
            } else {
                XCTAssertTrue(st.isDirectory, "\(step): the original plain directory")
                XCTAssertTrue(fx.pythonRuns("import beta"), step)
                XCTAssertFalse(fx.pythonRuns("import alpha"), step)
            }

            // The next start recovers: leftovers removed, the venv repaired (or already swapped), the
            // agent runs. A kill mid-build counts as a failed attempt (testKilledRepair…); a
            // zero-length backoff window lets this start try again at once.
            let r = fx.start(["--auto-repair"], env: keep.merging(["GUARDED_RUN_REPAIR_BACKOFF": "0"]) { a, _ in a })
            XCTAssertEqual(r.termination, .exited(0), "\(step): \(r.errorText)")
            XCTAssertEqual(fx.agentRuns.count, 1, step)
            XCTAssertTrue(fx.pythonRuns("import alpha, beta, gamma"), step)
            XCTAssertEqual(fx.leftovers, [], step)
            XCTAssertLessThanOrEqual(((try? directoryEntries(fx.generationsDirectory)) ?? []).filter { Int($0) != nil }.count, 3, step)
            fx.remove()
            fixtures.removeAll { $0 === fx }
        }
    }

    // MARK: waiting and signals

    func testSigtermDuringRepairStopsCleanlyAndAWaiterGivesUp() throws {
        let fx = try primed(InstallerMode.uvPath == nil ? .pip : .uv)
        try removeTree(fx.sitePackages + "/alpha")
        let before = treeSnapshot(fx.venv)
        let paused = fx.tmp.file("paused")
        let first = try fx.launch(env: ["ENABLE_AUTO_REPAIR": "1", "GUARDED_RUN_TEST_PAUSE_AT": "install:" + paused])
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(paused) }, "the repair reached its install step")

        // A second launcher waits for the lock up to its bound, then exits 75.
        let waiter = fx.start(["--auto-repair"], env: ["GUARDED_RUN_REPAIR_WAIT": "0.3"])
        XCTAssertEqual(waiter.termination, .exited(75), waiter.errorText)
        XCTAssertTrue(waiter.errorText.contains("repair-busy: another repair of \(fx.venv) still holds its lock"), waiter.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "transient")

        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationReason, .exit)
        XCTAssertEqual(first.terminationStatus, 75)
        XCTAssertEqual(fx.agentRuns.count, 0)
        XCTAssertEqual(fx.lastRecord().decision, "transient")
        XCTAssertTrue(fx.lastRecord().reasonList.first?.hasPrefix("interrupted: signal 15") == true, "\(fx.lastRecord())")
        // Nothing half-swapped: the same plain venv, file for file; the build removed.
        XCTAssertEqual(treeSnapshot(fx.venv), before)
        XCTAssertEqual(fx.leftovers, [])
        // Stopped mid-build, it counts as a failed attempt: the next start backs off (a supervisor
        // that stops slow starts does not relaunch the install forever); --force repairs.
        let next = fx.start(["--auto-repair"])
        XCTAssertEqual(next.termination, .exited(78), next.errorText)
        XCTAssertTrue(next.errorText.contains("repair interrupted: the attempt started at "), next.errorText)
        XCTAssertNotNil(fx.lastRecord()["repair_backoff"], "\(fx.lastRecord())")
        XCTAssertEqual(fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--force"]).termination, .exited(0))
        XCTAssertEqual(fx.start(["--auto-repair"]).termination, .exited(0))
    }

    func testSignalStateAfterRepairIsTheCallers() throws {
        let fx = try primed(InstallerMode.uvPath == nil ? .pip : .uv)
        try removeTree(fx.sitePackages + "/alpha")
        // SIGINT ignored by the caller stays ignored in the agent; SIGTERM is default; nothing blocked.
        let script = fx.tmp.file("sigs.py")
        try fx.tmp.write("sigs.py", """
            import signal
            print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN, signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                  sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))
            """)
        let r = TestSupport.run("/bin/sh", ["-c", "trap '' INT; exec \"$0\" \"$@\"", guardedRunBinary] + fx.launcherArguments
                    + ["--import", "alpha", "--auto-repair", "--", fx.venv + "/bin/python", script], environment: fx.env())
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(r.outputText, "True True []\n")
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
    }

    // MARK: flag off: nothing touched

    func testFlagOffTouchesNothing() throws {
        let fx = try primed(.pip)
        try removeTree(fx.sitePackages + "/alpha")
        let before = treeSnapshot(fx.tmp.file("agent"))
        for env: [String: String?] in [[:], ["ENABLE_AUTO_REPAIR": "0"], ["ENABLE_AUTO_REPAIR": "maybe"], ["ENABLE_AUTO_REPAIR": ""]] {
            let r = fx.start(env: env)
            XCTAssertEqual(r.termination, .exited(78), "\(env): \(r.errorText)")
            XCTAssertEqual(fx.lastRecord().decision, "failed-closed")
            XCTAssertNil(fx.lastRecord()["repair"])
        }
        let garbage = fx.records()[fx.records().count - 2]
        XCTAssertTrue(garbage["auto_repair_note"]?.stringValue?.contains("unrecognised value") == true, "\(garbage)")
        // The flag on but overridden on the command line.
        XCTAssertEqual(fx.start(["--no-auto-repair"], env: ["ENABLE_AUTO_REPAIR": "yes"]).termination, .exited(78))
        XCTAssertEqual(fx.agentRuns.count, 0)
        XCTAssertEqual(treeSnapshot(fx.tmp.file("agent")), before, "files, inodes and timestamps unchanged")
        XCTAssertFalse(fileExists(fx.generationsDirectory))
        // Any case of yes turns it on.
        XCTAssertEqual(fx.start(env: ["ENABLE_AUTO_REPAIR": "YeS"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
    }

    // MARK: admin commands

    func testAdminRepairPlanRollbackGenerations() throws {
        let fx = try primed(InstallerMode.uvPath == nil ? .pip : .uv)
        try removeTree(fx.sitePackages + "/alpha")
        let before = treeSnapshot(fx.tmp.file("agent"))
        let plan = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha"])
        XCTAssertEqual(plan.termination, .exited(0), plan.errorText)
        let lines = plan.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "venv \(fx.venv): broken (import-failed: alpha: ModuleNotFoundError: No module named 'alpha')")
        XCTAssertTrue(lines.contains("layout: a plain directory: it would be adopted as \(fx.generationsDirectory)/0 and a symlink put in its place"), plan.outputText)
        XCTAssertTrue(lines.contains { $0.hasPrefix("rebuild from: the known-good set recorded at ") && $0.contains("by launcher (--import alpha,beta) (3 packages: alpha==1.0 beta==2.0 gamma==0.3)") }, plan.outputText)
        XCTAssertTrue(lines.contains { $0.hasPrefix("interpreter: \(testPythonHome)/python3.11 (Python 3.11") }, plan.outputText)
        XCTAssertEqual(lines.last, "(dry run: nothing changed; --force does it)")
        XCTAssertEqual(treeSnapshot(fx.tmp.file("agent")), before, "the dry run changes nothing")

        let forced = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--import", "alpha", "--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertTrue(forced.outputText.hasPrefix("repaired \(fx.venv): generation 1 built with "), forced.outputText)
        XCTAssertEqual(fx.admin(["repair", "--venv", fx.venv, "--force"]).outputText, "venv \(fx.venv) is healthy: nothing to repair\n")

        let list = fx.admin(["generations", "--venv", fx.venv, "--json"])
        XCTAssertEqual(list.termination, .exited(0))
        let json = try XCTUnwrap(JSONValue.parse(list.outputText))
        XCTAssertEqual(json["layout"], .string("generations"))
        XCTAssertEqual(json["current"], .number(1))
        let gens = json["generations"]?.arrayValue ?? []
        XCTAssertEqual(gens.map { $0["generation"] }, [.number(1), .number(0)])
        XCTAssertEqual(gens.first?["source"], .string("known-good"))
        XCTAssertEqual(gens.last?["source"], .string("adopted"))

        // Rolling back to the (broken) original is refused after its check; the dry run says what it would do.
        XCTAssertEqual(fx.admin(["rollback", "--venv", fx.venv]).outputText,
                       "venv \(fx.venv) -> generation 1\nwould point \(fx.venv) back to generation 0 (checked just now: healthy)\n(dry run: nothing changed; --force does it)\n")
        let refused = fx.admin(["rollback", "--venv", fx.venv, "--import", "alpha", "--force"])
        XCTAssertEqual(refused.termination, .exited(78), refused.errorText)
        XCTAssertTrue(refused.errorText.contains("generation 0 is broken: import-failed: alpha"), refused.errorText)
        XCTAssertEqual(fx.currentGeneration, 1)
        // Without the import it passes the check: rolled back to 0, then forward again with --to 1.
        XCTAssertEqual(fx.admin(["rollback", "--venv", fx.venv, "--to", "0", "--force"]).termination, .exited(0))
        XCTAssertEqual(fx.currentGeneration, 0)
        XCTAssertEqual(fx.admin(["rollback", "--venv", fx.venv, "--to", "1"]).outputText,
                       "venv \(fx.venv) -> generation 0\nwould point \(fx.venv) forward to newer generation 1 (checked just now: healthy)\n(dry run: nothing changed; --force does it)\n")
        let forward = fx.admin(["rollback", "--venv", fx.venv, "--to", "1", "--force"])
        XCTAssertEqual(forward.termination, .exited(0), forward.errorText)
        XCTAssertEqual(forward.outputText, "rolled \(fx.venv) forward from generation 0 to newer generation 1\n")
        XCTAssertEqual(fx.currentGeneration, 1)
        XCTAssertEqual(fx.admin(["rollback", "--venv", fx.venv, "--to", "7", "--force"]).termination, .exited(64))

        // Pruning and undoing the adoption.
        XCTAssertEqual(fx.admin(["generations", "--venv", fx.venv, "--prune", "--keep", "0"]).outputText,
                       "would delete generation 0\n(dry run: nothing changed; --force does it)\n")
        XCTAssertEqual(fx.admin(["generations", "--venv", fx.venv, "--prune", "--keep", "0", "--force"]).outputText, "deleted generation 0\n")
        let plain = fx.admin(["generations", "--venv", fx.venv, "--restore-plain", "--force"])
        XCTAssertEqual(plain.outputText, "moved generation 1 back to \(fx.venv)\n", plain.errorText)
        XCTAssertTrue(try fileStatus(fx.venv).isDirectory)
        XCTAssertEqual(fx.start().termination, .exited(0), "the restored plain venv works")
        let out = TestSupport.run(fx.venv + "/bin/gamma-tool", [], environment: fx.env())
        XCTAssertEqual(out.outputText, "gamma 0.3 \(fx.venv)\n", out.errorText)
    }
}

/// The directory the test Python's venvs name as `home` (where python3.11 sits).
var testPythonHome: String { parentDirectory(of: testPython) }
