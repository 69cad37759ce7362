import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// No repair storms: backoff, garbage state, 32 launchers at once.
final class RepairStormTests: RepairTestCase {
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
        try RepairFixture.copyWheels(into: fx.wheelhouse)
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
}
