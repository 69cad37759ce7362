import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// SIGKILL at each step, stop signals, the flag off, the admin commands.
final class RepairSignalTests: RepairTestCase {
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
        XCTAssertTrue(lines.contains { $0.hasPrefix("interpreter: \(testPythonHome)/python\(testPythonVersion) (Python \(testPythonVersion)") }, plan.outputText)
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

/// The directory the test Python's venvs name as `home` (where python<version> sits).
var testPythonHome: String { parentDirectory(of: testPython) }
