import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Auto-repair and rollback on real venvs with real installs from a local wheelhouse (no network).
/// Every scenario runs with pip and, when uv is available, with uv. The scenarios are split by
/// subject into classes that share these fixtures, so the suite's runner can run them side by side:
/// rebuilds and rollbacks (`RepairTests`), storms and concurrent launchers (`RepairStormTests`),
/// kills, signals and the admin commands (`RepairSignalTests`).
class RepairTestCase: XCTestCase {
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

}

/// A package deleted, an interpreter replaced, a rollback, nothing possible.
final class RepairTests: RepairTestCase {
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
        XCTAssertEqual(repair["interpreter"], .string(testPythonHome + "/python\(testPythonVersion)"))
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
        XCTAssertFalse(fileExists(fx.generationsDirectory + "/0/lib/python\(testPythonVersion)/site-packages/alpha"))

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
        try makeSymbolicLink(oldKeg + "/python\(testPythonVersion)", pointingTo: testPython)
        let fx = try fixture(mode, python: oldKeg + "/python\(testPythonVersion)")
        XCTAssertTrue(try readTextFile(fx.venv + "/pyvenv.cfg").contains("home = \(oldKeg)"))
        XCTAssertEqual(fx.start().termination, .exited(0))
        try removeFile(fx.marker)

        // brew upgrade: the old keg goes, a new keg appears, `opt/python@3.11` points at it.
        try removeTree(cellar.file("Cellar/python@3.11/3.11.2"))
        let newKeg = cellar.file("Cellar/python@3.11/3.11.9/bin")
        try makeDirectories(newKeg)
        try makeSymbolicLink(newKeg + "/python\(testPythonVersion)", pointingTo: testPython)
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
        XCTAssertEqual(repair["interpreter"], .string(optBin + "/python\(testPythonVersion)"))
        let reason = repair["interpreter_reason"]?.stringValue ?? ""
        XCTAssertTrue(reason.contains("found python\(testPythonVersion) at \(optBin)/python\(testPythonVersion)") && reason.contains("the venv's home \(oldKeg) is gone"), reason)
        XCTAssertEqual(fx.agentRuns.count, 1)
        XCTAssertEqual(fx.agentRuns.first?[1], fx.venv)
        XCTAssertTrue(try readTextFile(fx.venv + "/pyvenv.cfg").contains("home = \(optBin)"))
        XCTAssertEqual(try readSymbolicLink(fx.venv + "/bin/python").hasPrefix(optBin) || (try readSymbolicLink(fx.venv + "/bin/python\(testPythonVersion)")).hasPrefix(optBin), true)
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
}
