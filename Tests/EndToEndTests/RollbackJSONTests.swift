import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `rollback --json` end to end on a real venv in the generations layout: three real venvs as
/// generations 0, 1, 2 (the venv path a symlink to generation 2), generation 1 broken for real.
final class RollbackJSONTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var venv: String { tmp.file("agent/.venv") }
    var state: String { tmp.file("state") }

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory("rollback-json")
        try makeDirectories(venv + ".generations")
        for n in 0...2 { makeVenv(venv + ".generations/\(n)") }
        // Broken for real: its interpreter is gone.
        try removeFile(venv + ".generations/1/bin/python")
        try removeFile(venv + ".generations/1/bin/python3")
        XCTAssertEqual(symlink(".venv.generations/2", venv), 0)
    }

    override func tearDown() { tmp.remove() }

    func rollback(_ args: [String]) throws -> (SubprocessResult, JSONValue) {
        let r = runGuarded(["rollback", "--venv", venv, "--state-dir", state, "--json"] + args)
        let json = try XCTUnwrap(JSONValue.parse(r.outputText), "not JSON: \(r.outputText) \(r.errorText)")
        for key in ["venv", "dry_run", "result", "from_generation", "to_generation", "candidates", "action", "warnings", "errors"] {
            XCTAssertNotNil(json[key], "\(key) missing from \(r.outputText)")
        }
        XCTAssertEqual(json["venv"]?.stringValue, venv)
        return (r, json)
    }

    var current: String? { try? readSymbolicLink(venv) }

    func testDryRunForceAndFailuresAsJSON() throws {
        let (dry, plan) = try rollback([])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        XCTAssertEqual(plan["dry_run"], .bool(true))
        XCTAssertEqual(plan["result"]?.stringValue, "dry-run")
        XCTAssertEqual(plan["from_generation"]?.intValue, 2)
        XCTAssertEqual(plan["to_generation"]?.intValue, 0, "the dry run checks the candidates as --force will: 1 is broken")
        XCTAssertEqual(plan["candidates"]?.arrayValue?.compactMap(\.intValue), [1, 0])
        XCTAssertEqual(plan["action"]?.stringValue, "would point \(venv) back to generation 0 (checked just now: healthy)")
        XCTAssertTrue(plan["warnings"]?.arrayValue?.first?.stringValue?.hasPrefix("generation 1 is broken: ") == true, "\(plan)")
        XCTAssertEqual(current, ".venv.generations/2", "the dry run changes nothing")

        let (sameDry, same) = try rollback(["--to", "2"])
        XCTAssertEqual(sameDry.termination, .exited(0))
        XCTAssertEqual(same["to_generation"]?.intValue, 2)
        XCTAssertEqual(same["warnings"]?.arrayValue?.compactMap(\.stringValue), ["generation 2 is already current: --force only checks it"])

        // Generation 1 is broken: --force passes over it (a warning) to generation 0.
        let (forced, done) = try rollback(["--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertEqual(done["dry_run"], .bool(false))
        XCTAssertEqual(done["result"]?.stringValue, "rolled-back")
        XCTAssertEqual(done["from_generation"]?.intValue, 2)
        XCTAssertEqual(done["to_generation"]?.intValue, 0)
        XCTAssertEqual(done["action"]?.stringValue, "rolled \(venv) back from generation 2 to 0")
        let warnings = done["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings.first?.hasPrefix("generation 1 is broken: ") == true, "\(warnings)")
        XCTAssertEqual(done["errors"]?.arrayValue, [])
        XCTAssertEqual(current, ".venv.generations/0")

        // Forward to the broken one: the dry run says --force will fail; refused after its check,
        // nothing changed, exit 78.
        let (_, wouldFail) = try rollback(["--to", "1"])
        XCTAssertEqual(wouldFail["to_generation"], .null)
        XCTAssertEqual(wouldFail["action"]?.stringValue, "would fail: no candidate passes the full check; nothing would change")
        let (refused, failed) = try rollback(["--to", "1", "--force"])
        XCTAssertEqual(refused.termination, .exited(78))
        XCTAssertEqual(failed["result"]?.stringValue, "failed")
        XCTAssertEqual(failed["to_generation"], .null)
        XCTAssertTrue(failed["errors"]?.arrayValue?.first?.stringValue?.contains("generation 1 is broken: ") == true, "\(failed)")
        XCTAssertTrue(refused.errorText.hasPrefix("guarded-run: "), refused.errorText)
        XCTAssertEqual(current, ".venv.generations/0")

        let (missing, noSuch) = try rollback(["--to", "9"])
        XCTAssertEqual(missing.termination, .exited(64))
        XCTAssertEqual(noSuch["result"]?.stringValue, "failed")

        // A venv that was never repaired.
        try removeFile(venv)
        makeVenv(venv)
        let (plain, never) = try rollback(["--force"])
        XCTAssertEqual(plain.termination, .exited(78))
        XCTAssertEqual(never["from_generation"], .null)
        XCTAssertTrue(never["errors"]?.arrayValue?.first?.stringValue?.hasPrefix("not in the generations layout") == true, "\(never)")
    }
}
