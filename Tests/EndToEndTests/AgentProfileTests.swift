import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Agent profiles (issue 10 items 1, 2 and 6) on real venvs: the launcher records how it starts
/// the agent; `check --agent` reproduces its verdict; the known-good set is never shrunk by a check
/// that imported less than the agents do; the import check runs where the agent does.
final class AgentProfileTests: XCTestCase {
    /// The `pip uninstall attrs` story with alpha for attrs: its files removed for real.
    func testUninstalledImportFailsClosedAndRepairBringsItBack() throws {
        let fx = try RepairFixture(mode: .pip)
        defer { fx.remove() }
        XCTAssertEqual(fx.start(imports: ["alpha"]).termination, .exited(0))
        XCTAssertEqual(fx.agentRuns.count, 1)
        let knownGood = StateDirectory(path: fx.state).venvDirectory(for: fx.venv) + "/known-good.json"
        let recordedText = try readTextFile(knownGood)
        let recorded = try XCTUnwrap(JSONValue.parse(recordedText))
        XCTAssertEqual(recorded["recorded_by"], .string("launcher"))
        XCTAssertEqual(recorded["imports"], .array([.string("alpha")]))
        XCTAssertTrue(recorded["distributions"]?.arrayValue?.contains(.object([("name", .string("alpha")), ("version", .string("1.0"))])) == true,
                      recordedText)
        let recordedAt = try XCTUnwrap(recorded["checked"]?.stringValue)

        // pip uninstall alpha, for real: its package, dist-info and console script.
        for name in try directoryEntries(fx.sitePackages) where name.hasPrefix("alpha") { try removeTree(fx.sitePackages + "/" + name) }
        try removeFile(fx.venv + "/bin/alpha-tool")

        let refused = fx.start(imports: ["alpha"])
        XCTAssertEqual(refused.termination, .exited(78), refused.errorText)
        XCTAssertEqual(refused.errorText.split(separator: "\n").count, 1, refused.errorText)
        XCTAssertTrue(refused.errorText.contains("import-failed: alpha"), refused.errorText)
        XCTAssertTrue(refused.errorText.contains("(see guarded-run check --agent demo --state-dir \(fx.state))"), refused.errorText)
        XCTAssertEqual(fx.agentRuns.count, 1)

        // The hint reproduces the verdict.
        let agentCheck = fx.admin(["check", "--agent", "demo"])
        XCTAssertEqual(agentCheck.termination, .exited(78), agentCheck.outputText + agentCheck.errorText)
        XCTAssertTrue(agentCheck.outputText.contains("import-failed: alpha"), agentCheck.outputText)
        let brokenJSON = try XCTUnwrap(JSONValue.parse(fx.admin(["check", "--agent", "demo", "--json"]).outputText))
        XCTAssertEqual(brokenJSON["status"], .string("broken"))
        XCTAssertEqual(brokenJSON["known_good"]?["in_effect"]?["imports"], .array([.string("alpha")]), "the set a repair would use")

        // An ad-hoc check without --import passes, and says it kept the set it could not vouch for.
        let adHoc = fx.admin(["check", "--venv", fx.venv, "--json"])
        XCTAssertEqual(adHoc.termination, .exited(0), adHoc.errorText)
        let json = try XCTUnwrap(JSONValue.parse(adHoc.outputText))
        XCTAssertEqual(json["known_good"]?["recorded"], .bool(false))
        XCTAssertEqual(json["known_good"]?["in_effect"]?["recorded_by"], .string("launcher"))
        XCTAssertTrue(json["known_good"]?["note"]?.stringValue?.contains("did not import alpha") == true, adHoc.outputText)
        XCTAssertEqual(try readTextFile(knownGood), recordedText, "a check with fewer imports never shrinks the known-good set")

        // The plan names that set; the auto-repair rebuilds from it and the agent runs with alpha.
        let plan = fx.admin(["repair", "--agent", "demo"])
        XCTAssertTrue(plan.outputText.contains("rebuild from: the known-good set recorded at \(recordedAt) by launcher (--import alpha)"),
                      plan.outputText + plan.errorText)
        let repaired = fx.start(["--auto-repair"], imports: ["alpha"])
        XCTAssertEqual(repaired.termination, .exited(0), repaired.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "repaired")
        XCTAssertEqual(fx.agentRuns.count, 2)
        XCTAssertTrue(fx.pythonRuns("import alpha"))
        XCTAssertEqual(fx.admin(["check", "--agent", "demo"]).termination, .exited(0))
    }

    /// `python -m mail_agent` from its working directory: the module is found there, as the agent
    /// finds it; `check --agent` agrees and writes the cache the launcher's fast path reads.
    func testModuleInWorkingDirectoryIsHealthy() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        let project = fx.tmp.file("agent")
        try fx.tmp.write("agent/mail_agent/__init__.py", "")
        try fx.tmp.write("agent/mail_agent/__main__.py", "open(\(JSONValue.quoted(fx.marker)), 'a').write('ran\\n')\n")
        let arguments = ["--agent", "mail", "--state-dir", fx.state, "--import", "mail_agent", "--", fx.python, "-m", "mail_agent"]
        let r = runGuarded(arguments, cwd: project)
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.agentRuns, 1)
        func last() -> JSONValue? { HealthLog.read(state: StateDirectory(path: fx.state), agent: "mail").records.last }
        XCTAssertEqual(last()?.decision, "checked-ok")
        XCTAssertEqual(runGuarded(arguments, cwd: project).termination, .exited(0))
        XCTAssertEqual(last()?.decision, "fast-ok")

        // The cache `check --agent` writes is the one the launcher reads.
        let venvState = StateDirectory(path: fx.state).venvDirectory(for: fx.venv)
        for name in try directoryEntries(venvState) where name.hasPrefix("fingerprint-") { try removeFile(venvState + "/" + name) }
        let check = runGuarded(["check", "--agent", "mail", "--state-dir", fx.state], cwd: "/")
        XCTAssertEqual(check.termination, .exited(0), check.outputText + check.errorText)
        XCTAssertEqual(runGuarded(arguments, cwd: project).termination, .exited(0))
        XCTAssertEqual(last()?.decision, "fast-ok")
        XCTAssertEqual(fx.agentRuns, 3)

        // A file in the working directory does not shadow the standard library's checks.
        try fx.tmp.write("agent/ssl.py", "raise ImportError('shadowed')\n")
        let shadowed = runGuarded(["check", "--agent", "mail", "--state-dir", fx.state], cwd: "/")
        XCTAssertEqual(shadowed.termination, .exited(0), shadowed.outputText + shadowed.errorText)
    }

    func testProfileRecordedOnceAndRewrittenOnlyWhenItChanges() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try fx.tmp.write("agent/helper.py", "")
        let path = StateDirectory(path: fx.state).agentDirectory(for: fx.agent) + "/" + AgentProfile.fileName
        XCTAssertEqual(fx.start(["--import", "helper"]).termination, .exited(0))
        let first = try XCTUnwrap(fileStatusIfPresent(path))
        XCTAssertEqual(first.mode & 0o777, 0o600)
        let profile = try XCTUnwrap(AgentProfile.load(state: StateDirectory(path: fx.state), agent: fx.agent))
        XCTAssertEqual(profile.venv, fx.venv)
        XCTAssertEqual(profile.imports, ["helper"])
        XCTAssertEqual(profile.context.command, [fx.python, fx.agentScript])

        // Another slow-path start with the same options (the cache gone) leaves the file alone.
        try removeTree(StateDirectory(path: fx.state).venvDirectory(for: fx.venv))
        XCTAssertEqual(fx.start(["--import", "helper"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        let second = try XCTUnwrap(fileStatusIfPresent(path))
        XCTAssertTrue(second.sameIdentityAndTimes(as: first), "an unchanged profile is not rewritten")

        // A changed option is recorded at the next full check (a fast-path start writes nothing).
        try removeTree(StateDirectory(path: fx.state).venvDirectory(for: fx.venv))
        XCTAssertEqual(fx.start(["--import", "helper", "--give-up-after", "3"]).termination, .exited(0))
        XCTAssertEqual(AgentProfile.load(state: StateDirectory(path: fx.state), agent: fx.agent)?.giveUpAfter, 3)
        // Never printed: the profile's working directory and argv stay in the state file.
        XCTAssertFalse(fx.records().contains { $0.serialized().contains(fx.agentScript) })
    }

    func testAgentWithoutProfileIsOneLineUsageError() throws {
        let tmp = try TemporaryDirectory("noprofile")
        defer { tmp.remove() }
        for command in ["check", "repair", "rollback", "generations"] {
            let r = runGuarded([command, "--agent", "nobody", "--state-dir", tmp.file("state")])
            XCTAssertEqual(r.termination, .exited(64), "\(command): \(r.errorText)")
            XCTAssertEqual(r.errorText.split(separator: "\n").count, 1, r.errorText)
            XCTAssertTrue(r.errorText.hasPrefix("guarded-run: \(command): --agent nobody: no profile recorded"), r.errorText)
        }
    }

    /// With --import, the working directory is part of the cache key: another directory is a miss.
    func testKeyChangesWithWorkingDirectory() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try fx.tmp.write("agent/helper.py", "")
        try makeDirectories(fx.tmp.file("elsewhere"))
        let arguments = ["--agent", fx.agent, "--state-dir", fx.state, "--import", "json", "--", fx.python, fx.agentScript]
        for (cwd, decision) in [(fx.tmp.file("agent"), "checked-ok"), (fx.tmp.file("agent"), "fast-ok"),
                                (fx.tmp.file("elsewhere"), "checked-ok"), (fx.tmp.file("elsewhere"), "fast-ok"),
                                (fx.tmp.file("agent"), "fast-ok")] {
            let r = runGuarded(arguments, cwd: cwd)
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            XCTAssertEqual(fx.lastRecord().decision, decision, cwd)
        }
        // PYTHONPATH is part of it too.
        let r = runGuarded(arguments, environment: environment(["PYTHONPATH": fx.tmp.file("elsewhere")]), cwd: fx.tmp.file("agent"))
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
    }

    /// `venvs check` checks each venv with the imports of the agents on it, each where that agent
    /// finds it (a module in site-packages and one in an agent's working directory).
    func testVenvsCheckUsesTheProfilesImports() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try fx.writeModule("helper", "")
        try fx.tmp.write("agent/local_tool.py", "")
        let start = runGuarded(["--agent", fx.agent, "--state-dir", fx.state, "--import", "helper", "--import", "local_tool",
                                "--", fx.python, "-m", "local_tool"], cwd: fx.tmp.file("agent"))
        XCTAssertEqual(start.termination, .exited(0), start.errorText)
        let healthy = runGuarded(["venvs", "check", "--root", fx.tmp.file("agent"), "--state-dir", fx.state])
        XCTAssertEqual(healthy.termination, .exited(0), healthy.outputText + healthy.errorText)
        try removeFile(fx.sitePackages + "/helper.py")
        let broken = runGuarded(["venvs", "check", "--root", fx.tmp.file("agent"), "--state-dir", fx.state])
        XCTAssertEqual(broken.termination, .exited(78), broken.outputText + broken.errorText)
        XCTAssertTrue((broken.outputText + broken.errorText).contains("import-failed: helper"), broken.outputText + broken.errorText)
    }

    /// PYTHONPATH as COMMAND inherits it counts for the import check, unless COMMAND's -E drops it.
    func testPythonPathAndDashEMirrorTheAgent() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try fx.tmp.write("lib/libmod.py", "")
        let env = environment(["PYTHONPATH": fx.tmp.file("lib")])
        let ok = runGuarded(["--agent", fx.agent, "--state-dir", fx.state, "--import", "libmod", "--", fx.python, fx.agentScript],
                            environment: env, cwd: "/")
        XCTAssertEqual(ok.termination, .exited(0), ok.errorText)
        let dashE = runGuarded(["--agent", fx.agent, "--state-dir", fx.state, "--import", "libmod", "--", fx.python, "-E", fx.agentScript],
                               environment: env, cwd: "/")
        XCTAssertEqual(dashE.termination, .exited(78), dashE.errorText)
        XCTAssertTrue(dashE.errorText.contains("import-failed: libmod"), dashE.errorText)
        XCTAssertFalse(dashE.errorText.contains(fx.tmp.file("lib")), "PYTHONPATH is not printed")
    }
}
