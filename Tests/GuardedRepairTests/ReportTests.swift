@testable import GuardedRepair
import GuardedCore
import XCTest

/// What `generations` and `rollback` print, rendered by their report types (the end-to-end tests
/// run the commands; these hold the text and JSON shapes with every branch).
final class ReportTests: XCTestCase {
    func testGenerationsTableAndJSON() throws {
        let record = GenerationRecord(generation: 2, created: "2026-11-30T10:00:00Z", source: "requirements /srv/r.txt",
                                      interpreter: "/usr/bin/python3", pythonVersion: "3.11.2", installer: "uv", packages: 7)
        let report = GenerationsReport(venv: "/srv/a/.venv", layout: "generations", generations: [
            GenerationInfo(generation: 2, path: "/srv/a/.venv.generations/2", current: true, record: record),
            GenerationInfo(generation: 1, path: "/srv/a/.venv.generations/1", current: false, record: nil),
        ])
        XCTAssertEqual(report.table(), """
            venv /srv/a/.venv: generations in /srv/a/.venv.generations
            * 2   2026-11-30T10:00:00Z        requirements /srv/r.txt, Python 3.11.2, uv, 7 packages
              1   

            """)
        let json = report.json()
        XCTAssertEqual(json["current"]?.intValue, 2)
        XCTAssertEqual(json["layout"]?.stringValue, "generations")
        XCTAssertEqual(json["generations"]?.arrayValue?.map { $0["generation"]?.intValue }, [2, 1])

        let plain = GenerationsReport(venv: "/v", layout: "plain", generations: [])
        XCTAssertEqual(plain.table(), "venv /v: layout: plain\n  (no generations: never repaired)\n")
        XCTAssertEqual(plain.json()["current"], .null)
    }

    func testRollbackDryRunSaysWhatForceWouldDo() {
        var report = RollbackReport(venv: "/v", dryRun: true, to: nil)
        report.from = 3
        report.candidates = [2, 1]
        report.record(RollbackPreview(generation: 1, status: "degraded", skipped: ["generation 2 is broken: x"]), current: 3)
        XCTAssertEqual(report.text(), "venv /v -> generation 3\n  generation 2 is broken: x\nwould point /v back to generation 1 (checked just now: degraded)\n")
        XCTAssertEqual(report.json()["to_generation"]?.intValue, 1)
        XCTAssertEqual(report.json()["warnings"]?.arrayValue?.count, 1)

        var forward = RollbackReport(venv: "/v", dryRun: true, to: 4)
        forward.candidates = [4]
        forward.record(RollbackPreview(generation: 4, status: "healthy"), current: 3)
        XCTAssertEqual(forward.action, "would point /v forward to newer generation 4 (checked just now: healthy)")

        var none = RollbackReport(venv: "/v", dryRun: true, to: nil)
        none.record(RollbackPreview(), current: 0)
        XCTAssertEqual(none.action, "would fail: no earlier generation")
        none.candidates = [1]
        none.record(RollbackPreview(), current: 0)
        XCTAssertEqual(none.action, "would fail: no candidate passes the full check; nothing would change")
        XCTAssertEqual(none.json()["to_generation"], .null)
    }

    func testRollbackDoneOrFailed() {
        var done = RollbackReport(venv: "/v", dryRun: false, to: nil)
        done.record(.rolledBack(summary: "rolled /v back to generation 1", details: [
            ("repair", .object([("result", .string("rolled-back")), ("generation", .number(1)), ("skipped", .array([.string("generation 2: gone")]))])),
        ]))
        XCTAssertEqual(done.text(), "rolled /v back to generation 1\n")
        XCTAssertEqual(done.result, "rolled-back")
        XCTAssertEqual(done.to, 1)
        XCTAssertEqual(done.warnings, ["generation 2: gone"])

        var busy = RollbackReport(venv: "/v", dryRun: false, to: 1)
        let held = RepairError.busy(venv: "/v", waited: 300, hostLimit: nil)
        busy.record(.failed(held, reasons: [held.description]))
        XCTAssertEqual(busy.result, "busy")
        XCTAssertNil(busy.to)
        XCTAssertEqual(busy.errors, ["repair-busy: another repair of /v still holds its lock after 300 s (GUARDED_RUN_REPAIR_WAIT); try again"])
        var failed = RollbackReport(venv: "/v", dryRun: false, to: nil)
        failed.record(.failed(.step("no generation passes"), reasons: ["no generation passes", "generation 0 is broken"]))
        XCTAssertEqual(failed.result, "failed")
        XCTAssertEqual(failed.errors, ["no generation passes; generation 0 is broken"])
        XCTAssertEqual(failed.action, "nothing changed")
    }
}
