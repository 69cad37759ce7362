@testable import GuardedRepair
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// RepairError: each case's exit code, whether it is transient, and the line the CLI prints and the
/// health log keeps (the same texts as before the one error type: tests and docs grep them).
final class RepairErrorTests: XCTestCase {
    let venv = "/srv/mail/.venv"
    let enoent = SystemError("open", path: "/srv/mail/.venv.generations/.repair/lock", errno: .noSuchFileOrDirectory)

    func testEachCaseItsExitCodeAndWhetherItPassesByItself() {
        let cases: [(RepairError, Int32, Bool)] = [
            (.busy(venv: venv, waited: 300, hostLimit: nil), 75, true),
            (.busy(venv: venv, waited: 300, hostLimit: 2), 75, true),
            (.interrupted("signal 15"), 75, true),
            (.step("verification of the new venv failed: x"), 78, false),
            (.system(step: "lock", enoent), 70, false),
            (.system(step: nil, enoent), 70, false),
        ]
        for (error, code, transient) in cases {
            XCTAssertEqual(error.exitCode, code, "\(error)")
            XCTAssertEqual(error.isTransient, transient, "\(error)")
            XCTAssertEqual(RepairOutcome.failed(error, reasons: [error.description]).exitCode, code, "\(error)")
            XCTAssertEqual(RepairOutcome.failed(error, reasons: []).isTransient, transient, "\(error)")
        }
        XCTAssertEqual(ExitCode.temporaryFailure, 75)
        XCTAssertEqual(ExitCode.broken, 78)
        XCTAssertEqual(ExitCode.software, 70)
        XCTAssertEqual(RepairOutcome.repaired(summary: "", details: []).exitCode, 0)
        XCTAssertFalse(RepairOutcome.rolledBack(summary: "", details: []).isTransient)
    }

    func testTheLineOfEachCase() {
        XCTAssertEqual(RepairError.busy(venv: venv, waited: 300.7, hostLimit: nil).description,
                       "repair-busy: another repair of /srv/mail/.venv still holds its lock after 300 s (GUARDED_RUN_REPAIR_WAIT); try again")
        XCTAssertEqual(RepairError.busy(venv: venv, waited: 5, hostLimit: 1).description,
                       "repair-busy: 1 other repair on this host still running after 5 s (GUARDED_RUN_MAX_REPAIRS=1, GUARDED_RUN_REPAIR_WAIT); /srv/mail/.venv not repaired; try again")
        XCTAssertEqual(RepairError.busy(venv: venv, waited: 5, hostLimit: 3).description,
                       "repair-busy: 3 other repairs on this host still running after 5 s (GUARDED_RUN_MAX_REPAIRS=3, GUARDED_RUN_REPAIR_WAIT); /srv/mail/.venv not repaired; try again")
        XCTAssertEqual(RepairError.signal(15).description, "interrupted: signal 15")
        XCTAssertEqual(RepairError.step("no earlier generation in /srv/mail/.venv.generations").description,
                       "no earlier generation in /srv/mail/.venv.generations")
        XCTAssertEqual(RepairError.system(step: "lock", enoent).description, "lock: \(enoent)")
        XCTAssertEqual(RepairError.system(step: nil, enoent).description, enoent.description)
        // A wait that is no number is said as 0 s, not a trap.
        for waited in [Double.nan, .infinity, -1, 1e300] {
            XCTAssertTrue(RepairError.busy(venv: venv, waited: waited, hostLimit: nil).description.contains("lock after 0 s"))
        }
    }

    /// What a failed repair or rollback logs: transient failures as they are (the launcher's
    /// health log greps `repair-busy:` and `interrupted:`), others after `<action> failed: `.
    func testTheReasonOfAFailedRepairOrRollback() {
        XCTAssertEqual(RepairError.signal(15).reason(failing: "rollback"), "interrupted: signal 15")
        XCTAssertEqual(RepairError.busy(venv: venv, waited: 1, hostLimit: nil).reason(failing: "repair"),
                       "repair-busy: another repair of /srv/mail/.venv still holds its lock after 1 s (GUARDED_RUN_REPAIR_WAIT); try again")
        XCTAssertEqual(RepairError.system(step: "lock", enoent).reason(failing: "repair"), "repair failed: lock: \(enoent)")
        XCTAssertEqual(RepairError.step("generation 2 is broken: x").reason(failing: "rollback"), "rollback failed: generation 2 is broken: x")
    }

    /// The lock on real files: held by another descriptor, a second taker is busy (75) after the
    /// wait; a symlink at the lock's name is a system error (70) said as `lock: …`; both reach the
    /// admin operations that share `underLock`.
    func testTheLockFailsAsBusyOrSystem() throws {
        let tmp = try TemporaryDirectory("repairerror")
        defer { tmp.remove() }
        let venv = tmp.file("venv")
        try makeDirectories(venv)
        let repairer = Repairer(state: StateDirectory(path: tmp.file("state")))
        var noWait = RepairOptions()
        noWait.waitSeconds = 0
        guard case .success(let held) = RepairLock.acquire(venv: venv, waitSeconds: 0) else { return XCTFail("the first taker gets the lock") }
        try withExtendedLifetime(held) {
            guard case .failure(let busy) = RepairLock.acquire(venv: venv, waitSeconds: 0) else { return XCTFail("held") }
            guard case .busy(venv: venv, waited: _, hostLimit: nil) = busy else { return XCTFail("\(busy)") }
            XCTAssertEqual(busy.exitCode, 75)
            guard case .failure(let pruneBusy) = repairer.prune(venv: venv, keep: 0, waitSeconds: 0) else { return XCTFail("held") }
            XCTAssertTrue(pruneBusy.description.hasPrefix("repair-busy: another repair of \(venv) still holds its lock"), "\(pruneBusy)")
            let outcome = repairer.rollback(venv: venv, to: nil, options: noWait)
            XCTAssertTrue(outcome.isTransient)
            XCTAssertEqual(outcome.exitCode, 75)
            guard case .failed(_, let reasons) = outcome else { return XCTFail("\(outcome)") }
            XCTAssertEqual(reasons.count, 1)
            XCTAssertTrue(reasons[0].hasPrefix("repair-busy: another repair of \(venv)"), "\(reasons)")
            let attempt = repairer.attempt(venv: venv, options: noWait)
            XCTAssertEqual(attempt.result, .transient)
            XCTAssertEqual(attempt.reasons.count, 1)
            XCTAssertTrue(attempt.reasons[0].hasPrefix("repair-busy: "), "\(attempt.reasons)")
        }
        let place = RepairPlace(venv: venv)
        try removeFile(place.file("lock"))
        try makeSymbolicLink(place.file("lock"), pointingTo: tmp.file("elsewhere"))
        guard case .failure(let refused) = RepairLock.acquire(venv: venv, waitSeconds: 0) else { return XCTFail("a symlink at the lock") }
        guard case .system(step: "lock", _) = refused else { return XCTFail("\(refused)") }
        XCTAssertEqual(refused.exitCode, 70)
        guard case .failure(let restore) = repairer.restorePlain(venv: venv, waitSeconds: 0) else { return XCTFail("a symlink at the lock") }
        XCTAssertTrue(restore.description.hasPrefix("lock: "), "\(restore)")
        let attempt = repairer.attempt(venv: venv, options: noWait)
        XCTAssertEqual(attempt.result, .failed)
        XCTAssertEqual(attempt.outcome.exitCode, 70)
        XCTAssertTrue(attempt.reasons.first?.hasPrefix("repair failed: lock: ") == true, "\(attempt.reasons)")
        XCTAssertFalse(fileExists(tmp.file("elsewhere")), "the link was not followed")
    }

    /// The records a repair writes beside the venv, when they cannot be written, come back as
    /// warnings for the caller to print (library code prints nothing).
    func testRecordsThatCannotBeWrittenAreWarnings() throws {
        let tmp = try TemporaryDirectory("repairerror")
        defer { tmp.remove() }
        // Nothing at the venv, its generations directory or its parent: nobody to own the records.
        let venv = tmp.file("gone/venv")
        let inProgress = RepairInProgress.begin(venv: venv, optionsKey: "k")
        XCTAssertTrue(inProgress?.hasPrefix("cannot record the repair in progress: ") == true, inProgress ?? "nil")
        let recorded = RepairFailure.record(venv: venv, optionsKey: "k", reasons: ["r"], tried: [], watchPaths: [])
        XCTAssertTrue(recorded.warning?.hasPrefix("cannot record the failed repair: ") == true, recorded.warning ?? "nil")
        XCTAssertEqual(recorded.record.attempts, 1)
        XCTAssertFalse(fileExists(tmp.file("gone")))

        try makeDirectories(tmp.file("ok/venv"))
        XCTAssertNil(RepairInProgress.begin(venv: tmp.file("ok/venv"), optionsKey: "k"))
        XCTAssertNil(RepairFailure.record(venv: tmp.file("ok/venv"), optionsKey: "k", reasons: ["r"], tried: [], watchPaths: []).warning)
    }
}
