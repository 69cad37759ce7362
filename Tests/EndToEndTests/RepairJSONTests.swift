import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `repair --json` and `venvs repair --json` end to end on real venvs: the plan as objects, a real
/// rebuild, and a repair with nothing to rebuild from.
final class RepairJSONTests: XCTestCase {
    var fixtures: [RepairFixture] = []
    override func tearDown() { fixtures.forEach { $0.remove() }; fixtures = [] }

    func fixture(_ mode: InstallerMode, packages: [String] = ["alpha==1.0", "beta==2.0", "gamma==0.3"]) throws -> RepairFixture {
        let fx = try RepairFixture(mode: mode, packages: packages)
        fixtures.append(fx)
        return fx
    }

    /// Broken for real: every interpreter link of the venv is gone.
    func removeInterpreter(_ fx: RepairFixture) throws {
        for name in try directoryEntries(fx.venv + "/bin") where name.hasPrefix("python") { try removeFile(fx.venv + "/bin/" + name) }
    }

    func repair(_ fx: RepairFixture, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (SubprocessResult, JSONValue) {
        let r = fx.admin(["repair", "--venv", fx.venv, "--find-links", fx.wheelhouse, "--json"] + args, file: file, line: line)
        let json = try XCTUnwrap(JSONValue.parse(r.outputText), "not JSON: \(r.outputText) \(r.errorText)", file: file, line: line)
        XCTAssertEqual(json.objectValue?.map(\.0), ["venv", "dry_run", "result", "from_generation", "to_generation", "summary",
                                                    "plan", "warnings", "errors", "exit_code"], file: file, line: line)
        XCTAssertEqual(json["plan"]?.objectValue?.map(\.0),
                       ["status", "reasons", "needed", "layout", "current_generation", "new_generation", "source", "passed_over",
                        "steps", "impossible", "rollback_candidates", "last_failure", "repair_running"], file: file, line: line)
        XCTAssertEqual(json["venv"]?.stringValue, fx.venv, file: file, line: line)
        guard case .exited(let code) = r.termination else { XCTFail("killed", file: file, line: line); return (r, json) }
        XCTAssertEqual(json["exit_code"]?.intValue, Int(code), file: file, line: line)
        return (r, json)
    }

    func testDryRunVenvsPlanAndForceWithPip() throws { try dryRunAndForce(.pip) }
    func testDryRunVenvsPlanAndForceWithUV() throws { try dryRunAndForce(.uv) }

    func dryRunAndForce(_ mode: InstallerMode) throws {
        let fx = try fixture(mode)
        XCTAssertEqual(fx.start().termination, .exited(0), "records the known-good set")
        try removeInterpreter(fx)

        let (dry, plan) = try repair(fx, [])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        XCTAssertEqual(dry.errorText, "")
        XCTAssertEqual(plan["dry_run"], .bool(true))
        XCTAssertEqual(plan["result"], .string("dry-run"))
        XCTAssertEqual(plan["from_generation"], .null, "a plain directory")
        XCTAssertEqual(plan["to_generation"], .number(1))
        XCTAssertEqual(plan["warnings"], .array([]))
        XCTAssertEqual(plan["errors"], .array([]))
        let p = try XCTUnwrap(plan["plan"])
        XCTAssertEqual(p["status"], .string("broken"))
        XCTAssertTrue(p["reasons"]?.arrayValue?.first?.stringValue?.hasPrefix("interpreter-missing: bin/python") == true, "\(p)")
        XCTAssertEqual(p["needed"], .bool(true))
        XCTAssertEqual(p["layout"], .string("plain"))
        XCTAssertEqual(p["current_generation"], .null)
        XCTAssertEqual(p["new_generation"], .number(1))
        XCTAssertEqual(p["source"]?["kind"], .string("known-good"))
        XCTAssertEqual(p["source"]?["path"], .null)
        XCTAssertEqual(p["source"]?["why"], .string("recorded by the last passing check"))
        XCTAssertEqual(p["source"]?["pinned"], .bool(true))
        XCTAssertEqual(p["source"]?["packages"], .number(3))
        XCTAssertNotNil(p["source"]?["recorded_at"]?.stringValue)
        XCTAssertEqual(p["passed_over"], .array([]))
        XCTAssertEqual(p["impossible"], .null)
        XCTAssertEqual(p["rollback_candidates"], .array([]))
        XCTAssertEqual(p["last_failure"], .null)
        XCTAssertEqual(p["repair_running"], .bool(false))
        let uv: JSONValue = mode == .uv ? .string(fx.uvBin + "/uv") : .null
        XCTAssertEqual(p["steps"], .array([
            .object([("step", .string("adopt")), ("path", .string(fx.generationsDirectory + "/0"))]),
            .object([("step", .string("create-venv")), ("path", .string(fx.generationsDirectory + "/1")),
                     ("interpreter", .string(testPythonHome + "/python\(testPythonVersion)")), ("python_version", p["steps"]?.arrayValue?[1]["python_version"] ?? .null),
                     ("why", .string("the venv's home \(testPythonHome) still works")), ("with_pip", .bool(false))]),
            .object([("step", .string("install")), ("installer", .string(mode.rawValue)), ("installer_path", uv),
                     ("requirements", JSONValue(["alpha==1.0", "beta==2.0", "gamma==0.3"])),
                     ("find_links", JSONValue([fx.wheelhouse])), ("run_as_uid", .null)]),
            .object([("step", .string("verify")), ("imports", .array([]))]),
            .object([("step", .string("swap")), ("generation", .number(1)), ("path", .string(fx.venv))]),
        ]), "\(p["steps"] ?? .null)")
        XCTAssertTrue(p["steps"]?.arrayValue?[1]["python_version"]?.stringValue?.hasPrefix(testPythonVersion + ".") == true)
        XCTAssertTrue(try fileStatus(fx.venv).isDirectory, "the dry run changes nothing")
        XCTAssertFalse(fileExists(fx.generationsDirectory))

        // venvs repair --json: the same plan object for the venv, beside the fields it always had.
        let fleet = fx.admin(["venvs", "repair", "--root", fx.tmp.file("agent"), "--find-links", fx.wheelhouse, "--json"])
        XCTAssertEqual(fleet.termination, .exited(78), fleet.errorText)
        let fleetJSON = try XCTUnwrap(JSONValue.parse(fleet.outputText), fleet.outputText)
        XCTAssertEqual(fleetJSON["dry_run"], .bool(true))
        let entry = try XCTUnwrap(fleetJSON["venvs"]?.arrayValue?.first)
        XCTAssertEqual(fleetJSON["venvs"]?.arrayValue?.count, 1)
        XCTAssertEqual(entry.objectValue?.map(\.0), ["venv", "reasons", "plan"])
        XCTAssertEqual(entry["venv"], .string(fx.venv))
        XCTAssertEqual(entry["reasons"], p["reasons"])
        // venvs verifies the imports of the agent profiles on the venv, as `repair --agent` does.
        let (_, agentPlan) = try repair(fx, ["--agent", fx.agent])
        XCTAssertEqual(entry["plan"], agentPlan["plan"], "one renderer for both commands")

        let (forced, done) = try repair(fx, ["--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertEqual(done["dry_run"], .bool(false))
        XCTAssertEqual(done["result"], .string("repaired"))
        XCTAssertEqual(done["from_generation"], .number(0), "the adopted original")
        XCTAssertEqual(done["to_generation"], .number(1))
        XCTAssertTrue(done["summary"]?.stringValue?.hasPrefix("repaired \(fx.venv): generation 1 built with ") == true, "\(done)")
        XCTAssertEqual(done["warnings"], .array([]))
        XCTAssertEqual(done["errors"], .array([]))
        XCTAssertEqual(done["plan"], p, "the plan made just before")
        XCTAssertEqual(fx.currentGeneration, 1)
        XCTAssertEqual(fx.distributions(of: fx.venv), ["alpha==1.0", "beta==2.0", "gamma==0.3"])

        // Healthy now: nothing to do, said as such.
        let (again, healthy) = try repair(fx, ["--force"])
        XCTAssertEqual(again.termination, .exited(0), again.errorText)
        XCTAssertEqual(healthy["result"], .string("healthy"))
        XCTAssertEqual(healthy["to_generation"], .null)
        XCTAssertEqual(healthy["plan"]?["needed"], .bool(false))
        XCTAssertEqual(healthy["plan"]?["layout"], .string("generations"))
        XCTAssertEqual(healthy["plan"]?["current_generation"], .number(1))
        XCTAssertEqual(healthy["plan"]?["steps"], .array([]))
    }

    /// No known-good set, no project file, no dist-info: 78, the JSON, and the one line on stderr.
    func testNothingToRebuildFromIsJSONAnd78() throws {
        let fx = try fixture(.pip, packages: [])
        try fx.tmp.write("agent/requirements.txt", "alpha>=1.0\n")
        try removeInterpreter(fx)

        let (dry, plan) = try repair(fx, [])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        XCTAssertEqual(plan["result"], .string("dry-run"))
        let impossible = try XCTUnwrap(plan["plan"]?["impossible"]?.stringValue)
        XCTAssertTrue(impossible.hasPrefix("nothing to rebuild from: "), impossible)
        XCTAssertEqual(plan["warnings"], .array([.string("repair impossible: " + impossible)]))
        XCTAssertEqual(plan["plan"]?["source"], .null)
        XCTAssertEqual(plan["plan"]?["steps"], .array([]))
        XCTAssertEqual(plan["to_generation"], .null)
        let requirements = fx.tmp.file("agent/requirements.txt")
        XCTAssertEqual(plan["plan"]?["passed_over"], .array([
            .object([("kind", .string("unpinned-requirements")), ("path", .string(requirements)), ("why", .string("not fully pinned (line 1: alpha>=1.0)"))]),
            .object([("kind", .string("dist-info")), ("path", .null), ("why", .string("none in \(fx.venv)"))]),
            .object([("kind", .string("unpinned-requirements")), ("path", .null), ("why", .string("unpinned requirements files are used only with --allow-unpinned, by hand"))]),
        ]), "\(plan["plan"]?["passed_over"] ?? .null)")

        let (forced, failed) = try repair(fx, ["--force"])
        XCTAssertEqual(forced.termination, .exited(78), forced.errorText)
        XCTAssertEqual(failed["dry_run"], .bool(false))
        XCTAssertEqual(failed["result"], .string("failed"))
        XCTAssertEqual(failed["to_generation"], .null)
        let errors = failed["errors"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertTrue(errors.count >= 3, "\(errors)")
        XCTAssertEqual(errors.first, "repair failed: " + impossible)
        XCTAssertTrue(errors.dropFirst().first?.hasPrefix("rollback failed: no earlier generation") == true, "\(errors)")
        XCTAssertTrue(errors.contains { $0.hasPrefix("interpreter-missing: ") }, "\(errors)")
        XCTAssertEqual(forced.errorText.split(separator: "\n").count, 1, forced.errorText)
        XCTAssertTrue(forced.errorText.hasPrefix("guarded-run: repair: \(fx.venv): repair failed: nothing to rebuild from: "), forced.errorText)
        XCTAssertTrue(try fileStatus(fx.venv).isDirectory, "nothing changed")
    }
}
