import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `venvs check|report|repair` against a tree of 20 real venvs: 5 broken and 3 degraded, each in a
/// different real way, 12 healthy, plus the noise discovery must ignore.
final class FleetVenvsTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var root: String { tmp.file("root") }
    var state: String { tmp.file("state") }

    override func setUpWithError() throws { tmp = try TemporaryDirectory("fleet") }
    override func tearDown() { tmp.remove() }

    /// What each venv becomes, and the reason (prefix) its first line must start with.
    let broken: [(name: String, reason: String)] = [
        ("agents/b-interp/.venv", "interpreter-missing: bin/python -> "),
        ("agents/b-cfg/.venv", "pyvenv-cfg-missing: "),
        ("venvs/b-home", "home-missing: pyvenv.cfg home = /opt/python-3.11-removed/bin: No such file or directory"),
        ("venvs/b-version", "version-mismatch: pyvenv.cfg says 3.10, the interpreter is \(testPythonVersion)"),
        ("agents/b-exec/.venv", "interpreter-failed: bin/python"),
    ]
    let degraded: [(name: String, reason: String)] = [
        ("agents/d-leftovers/.venv", "install-leftovers: "),
        ("venvs/d-distinfo", "dist-info-incomplete: halfpkg-1.0.dist-info (no RECORD)"),
        ("venvs/d-pip", "pip-broken: pip/__main__.py: No such file or directory"),
    ]
    var healthy: [String] {
        (1...11).map { $0 % 2 == 0 ? "agents/h\($0)/.venv" : "venvs/deep/h\($0)" } + ["venvs/h-gen"]
    }

    func site(_ name: String) -> String { root + "/" + name + "/lib/python\(testPythonVersion)/site-packages" }

    func buildTree() throws {
        // b-interp comes from a Homebrew-style install whose directory is removed later.
        try makeDirectories(tmp.file("Cellar/python/3.11/bin"))
        try makeSymbolicLink(tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"), pointingTo: testPython)
        makeVenv(root + "/" + broken[0].name, python: tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"))
        for name in broken.dropFirst().map(\.name) + degraded.map(\.name) + healthy.dropLast() { makeVenv(root + "/" + name) }
        // The repair layout: the link agents use, pointing at the current generation.
        makeVenv(root + "/venvs/h-gen.generations/1")
        try makeSymbolicLink(root + "/venvs/h-gen", pointingTo: "h-gen.generations/1")
        // Noise: venvs that are not the fleet's, and a symlink loop.
        makeVenv(root + "/project/.git/venv")
        makeVenv(root + "/web/node_modules/venv")
        try makeSymbolicLink(root + "/venvs/loop", pointingTo: root)
    }

    func breakTree() throws {
        try removeTree(tmp.file("Cellar"))
        try removeFile(root + "/agents/b-cfg/.venv/pyvenv.cfg")
        try editConfig("venvs/b-home") { $0.hasPrefix("home") ? "home = /opt/python-3.11-removed/bin" : $0 }
        // Minor-version drift: a venv of 3.10 whose base interpreter became the test Python's.
        try editConfig("venvs/b-version") { $0.hasPrefix("version") ? "version = 3.10.13" : $0 }
        try renameItem(root + "/venvs/b-version/lib/python\(testPythonVersion)", to: root + "/venvs/b-version/lib/python3.10")
        // An interrupted copy of the interpreter: present, executable, not a program.
        try removeFile(root + "/agents/b-exec/.venv/bin/python3")
        try tmp.write("root/agents/b-exec/.venv/bin/python3", "\u{7f}EL", mode: 0o755)

        try makeDirectories(site("agents/d-leftovers/.venv") + "/~equests")
        try tmp.write("root/venvs/d-distinfo/lib/python\(testPythonVersion)/site-packages/halfpkg-1.0.dist-info/METADATA",
                      "Metadata-Version: 2.1\nName: halfpkg\nVersion: 1.0\n\n")
        try tmp.write("root/venvs/d-pip/lib/python\(testPythonVersion)/site-packages/pip-23.0.1.dist-info/METADATA",
                      "Metadata-Version: 2.1\nName: pip\nVersion: 23.0.1\n\n")
        try tmp.write("root/venvs/d-pip/lib/python\(testPythonVersion)/site-packages/pip-23.0.1.dist-info/RECORD", "")
        try tmp.write("root/venvs/d-pip/lib/python\(testPythonVersion)/site-packages/pip/__init__.py",
                      "raise ImportError(\"cannot import name 'main' from a half-removed pip\")\n")
    }

    func editConfig(_ name: String, _ change: (String) -> String) throws {
        let path = root + "/" + name + "/pyvenv.cfg"
        let text = try readTextFile(path).split(separator: "\n").map { change(String($0)) }.joined(separator: "\n") + "\n"
        try writeFileAtomically(path, text, mode: 0o644)
    }

    func venvs(_ args: [String], env: [String: String?] = [:]) -> SubprocessResult {
        runGuarded(["venvs"] + args + ["--state-dir", state], environment: environment(env))
    }

    func testTwentyVenvsExactlyClassifiedWithReasons() throws {
        try buildTree()
        let all = (broken.map(\.name) + degraded.map(\.name) + healthy).map { root + "/" + $0 }
        XCTAssertEqual(all.count, 20)

        // Yesterday: all healthy, and every passing check refreshes that venv's cache.
        let first = venvs(["check", "--root", root])
        XCTAssertEqual(first.termination, .exited(0), first.outputText + first.errorText)
        XCTAssertEqual(first.outputText.split(separator: "\n").last, "20 venvs: 0 broken, 0 degraded, 20 healthy")
        XCTAssertEqual(first.errorText, "", "no progress when stdout is not a terminal")
        for venv in all {
            let cache = Fingerprint.launcherVerdict(state: StateDirectory(path: state), venv: venv, imports: [])
            XCTAssertEqual(cache?.status, "healthy", venv)
        }

        try breakTree()
        let r = venvs(["check", "--root", root, "--json"])
        XCTAssertEqual(r.termination, .exited(78), r.errorText)
        let json = try XCTUnwrap(JSONValue.parse(r.outputText), r.outputText)
        let reports = try XCTUnwrap(json["venvs"]?.arrayValue)
        XCTAssertEqual(reports.compactMap { $0["venv"]?.stringValue }.sorted(), all.sorted(), "each venv once, the noise skipped")
        XCTAssertEqual(json["unreadable"], .array([]))
        XCTAssertEqual(json["summary"]?["broken"]?.intValue, 5)
        XCTAssertEqual(json["summary"]?["degraded"]?.intValue, 3)
        XCTAssertEqual(json["summary"]?["healthy"]?.intValue, 12)
        XCTAssertEqual(reports.compactMap { $0["status"]?.stringValue },
                       Array(repeating: "broken", count: 5) + Array(repeating: "degraded", count: 3) + Array(repeating: "healthy", count: 12),
                       "worst first")
        func report(_ name: String) -> JSONValue? { reports.first { $0["venv"]?.stringValue == root + "/" + name } }
        for (name, reason) in broken + degraded {
            let expected = broken.contains { $0.name == name } ? "broken" : "degraded"
            let rep = try XCTUnwrap(report(name), name)
            XCTAssertEqual(rep["status"]?.stringValue, expected, name)
            XCTAssertEqual(rep["healthy"], .bool(false), name)
            let first = rep.reasonList.first ?? ""
            XCTAssertTrue(first.hasPrefix(reason), "\(name): \(rep.reasonList)")
        }
        XCTAssertTrue(report("agents/b-exec/.venv")?.reasonList.first?.hasSuffix("Exec format error") == true)
        XCTAssertTrue(report("agents/b-cfg/.venv")?.reasonList.contains { $0.hasPrefix("not-a-venv: ") } == true)
        for name in degraded.map(\.name) {
            XCTAssertEqual(report(name)?.reasonList.count, 1, name)
        }
        for name in healthy {
            XCTAssertEqual(report(name)?["status"]?.stringValue, "healthy", name)
            XCTAssertEqual(report(name)?.reasonList, [], name)
        }
        // A degraded venv's cache was refreshed with its new status; a broken one's was not.
        let st = StateDirectory(path: state)
        XCTAssertTrue(try readTextFile(Fingerprint.cachePath(state: st, venv: root + "/venvs/d-pip", imports: [])).contains("\nstatus degraded\n"))
        let old = try readTextFile(Fingerprint.cachePath(state: st, venv: root + "/venvs/b-home", imports: []))
        XCTAssertTrue(old.contains("\nstatus healthy\n"), "the old cache stays; a failing check writes none")
        XCTAssertNil(Fingerprint.launcherVerdict(state: st, venv: root + "/venvs/b-home", imports: []), "the launcher's re-stat misses it")

        // The table: worst first, reasons below each venv, one summary line.
        let table = venvs(["check", "--root", root])
        XCTAssertEqual(table.termination, .exited(78))
        let lines = table.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "STATUS    VENV")
        XCTAssertEqual(lines.last, "20 venvs: 5 broken, 3 degraded, 12 healthy")
        let rows = lines.dropFirst().dropLast().filter { !$0.hasPrefix(" ") }
        XCTAssertEqual(rows, broken.map { "broken    \(root)/\($0.name)" }.sorted()
                       + degraded.map { "degraded  \(root)/\($0.name)" }.sorted()
                       + healthy.map { "healthy   \(root)/\($0)" }.sorted())
        let afterHome = try XCTUnwrap(lines.firstIndex(of: "broken    \(root)/venvs/b-home"))
        XCTAssertEqual(lines[afterHome + 1], "          " + broken[2].reason)

        // The morning report: counts, the broken with their first reason.
        let rep = venvs(["report", "--root", root])
        XCTAssertEqual(rep.termination, .exited(78))
        XCTAssertTrue(rep.outputText.hasPrefix("20 venvs: 5 broken, 3 degraded, 12 healthy\nbroken:\n"), rep.outputText)
        for (name, reason) in broken + degraded {
            XCTAssertTrue(rep.outputText.contains("  \(root)/\(name): \(reason)"), "\(name) in \(rep.outputText)")
        }
        XCTAssertTrue(rep.outputText.contains("last 24 h: 0 repaired, 0 rolled back, 0 failed closed, 0 transient"), rep.outputText)

        // The repair plan: every broken venv, nothing else, nothing touched.
        let plan = venvs(["repair", "--root", root])
        XCTAssertEqual(plan.termination, .exited(78), plan.errorText)
        XCTAssertTrue(plan.outputText.hasPrefix("would repair 5 broken venvs (dry run; --force to repair):\n"), plan.outputText)
        for (name, _) in broken { XCTAssertTrue(plan.outputText.contains("\n\(root)/\(name): "), name) }
        for name in degraded.map(\.name) + healthy { XCTAssertFalse(plan.outputText.contains("\(root)/\(name):"), name) }
        XCTAssertTrue(plan.outputText.contains("\n  1. "), "each venv's plan is listed: \(plan.outputText)")
        XCTAssertFalse(fileExists(root + "/agents/b-cfg/.venv/pyvenv.cfg"), "a dry run changes nothing")
        // The check left its invalidation marker beside each broken or degraded venv (docs/check.md), and
        // nothing else: no venv and no generation was touched.
        let invalidated = ["b-home", "b-version", "d-distinfo", "d-pip"]
        XCTAssertEqual(try directoryEntries(root + "/venvs").sorted(),
                       (["b-home", "b-version", "d-distinfo", "d-pip", "deep", "h-gen", "h-gen.generations", "loop"]
                        + invalidated.map { $0 + ".generations" }).sorted())
        for name in invalidated {
            XCTAssertEqual(try directoryEntries(root + "/venvs/\(name).generations"), [".check-invalidated"], name)
        }
        let planJSON = try XCTUnwrap(JSONValue.parse(venvs(["repair", "--root", root, "--json"]).outputText))
        XCTAssertEqual(planJSON["dry_run"], .bool(true))
        XCTAssertEqual(planJSON["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue }.sorted(),
                       broken.map { "\(root)/\($0.name)" }.sorted())
    }

    /// `--force` through the repair module. Skipped while the branch carries the repair module's
    /// stand-in (its plan says "not available"); runs once the real one is merged.
    func testForceRepairsTheBrokenAndTheLinkIsCheckedOnce() throws {
        for name in ["a", "b"] { makeVenv(root + "/" + name) }
        XCTAssertEqual(venvs(["check", "--root", root]).termination, .exited(0), "records the known-good sets")
        try removeFile(root + "/b/bin/python3")
        try makeSymbolicLink(root + "/b/bin/python3", pointingTo: tmp.file("removed-install/bin/python3"))
        let plan = venvs(["repair", "--root", root])
        XCTAssertEqual(plan.termination, .exited(78))
        try XCTSkipIf(plan.outputText.contains("repair is not available in this build"), "the repair module is the stand-in")

        let r = venvs(["repair", "--force", "--root", root])
        XCTAssertEqual(r.termination, .exited(0), r.outputText + r.errorText)
        XCTAssertTrue(r.outputText.contains("\(root)/b") && r.outputText.contains("repaired"), r.outputText)
        XCTAssertFalse(r.outputText.contains("FAILED"), r.outputText)
        XCTAssertEqual(r.outputText.split(separator: "\n").count, 1, r.outputText)
        XCTAssertEqual(fileStatusIfPresent(root + "/b")?.isSymbolicLink, true, "the repair layout: a link to a generation")
        let after = venvs(["check", "--json", "--root", root])
        XCTAssertEqual(after.termination, .exited(0), after.outputText)
        XCTAssertEqual(try XCTUnwrap(JSONValue.parse(after.outputText))["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue },
                       [root + "/a", root + "/b"], "the generation directory is not a second venv")
        let nothing = venvs(["repair", "--force", "--root", root])
        XCTAssertEqual(nothing.termination, .exited(0))
        XCTAssertEqual(nothing.outputText, "nothing to repair: 2 venvs: 0 broken, 0 degraded, 2 healthy\n")
    }

    func testProgressOnlyOnATerminal() throws {
        #if os(Linux)
        for name in ["a", "b", "c"] { makeVenv(root + "/" + name) }
        let binary = guardedRunBinary
        // script(1) gives the command a pseudo-terminal for stdout and stderr.
        let tty = TestSupport.run("/usr/bin/script", ["-qec", "'\(binary)' venvs check --root '\(root)' --state-dir '\(state)'", "/dev/null"])
        XCTAssertEqual(tty.termination, .exited(0), tty.outputText)
        for n in 1...3 { XCTAssertTrue(tty.outputText.contains("\rchecked \(n)/3\u{1B}[K"), tty.outputText) }
        XCTAssertTrue(tty.outputText.contains("3 venvs: 0 broken, 0 degraded, 3 healthy"))
        let ttyJSON = TestSupport.run("/usr/bin/script", ["-qec", "'\(binary)' venvs check --json --root '\(root)' --state-dir '\(state)'", "/dev/null"])
        XCTAssertEqual(ttyJSON.termination, .exited(0))
        XCTAssertFalse(ttyJSON.outputText.contains("checked "), "quiet with --json")
        let piped = venvs(["check", "--root", root])
        XCTAssertEqual(piped.errorText, "")
        XCTAssertFalse(piped.outputText.contains("checked "))
        #endif
    }

    func testUnreadableDirectoriesAreReportedNotFatal() throws {
        makeVenv(root + "/ok")
        try makeDirectories(root + "/locked/inner")
        chmod(root + "/locked", 0o700)
        // Root reads every directory: run as nobody then, through setpriv (util-linux), with a copy
        // of the binary nobody can reach (the build directory may sit under a 0700 home).
        var command = guardedRunBinary
        var prefix: [String] = []
        if geteuid() == 0 {
            try XCTSkipUnless(access("/usr/bin/setpriv", X_OK) == 0, "running as root without setpriv: cannot drop privileges")
            chmod(tmp.path, 0o755)
            try makeDirectories(tmp.file("open"), mode: 0o777)
            chmod(tmp.file("open"), 0o777)
            command = try installGuardedRun(into: tmp.path)
            prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        } else {
            chmod(root + "/locked", 0)
        }
        defer { chmod(root + "/locked", 0o700) }
        let stateDir = geteuid() == 0 ? tmp.file("open/state") : state
        let args = ["venvs", "check", "--json", "--root", root, "--root", tmp.file("missing"), "--state-dir", stateDir]
        let r = prefix.isEmpty ? runGuarded(args) : TestSupport.run(prefix[0], Array(prefix.dropFirst()) + [command] + args)
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(r.errorText, """
            guarded-run: venvs: warning: cannot read \(root)/locked: Permission denied
            guarded-run: venvs: warning: cannot read \(tmp.file("missing")): No such file or directory

            """)
        let json = try XCTUnwrap(JSONValue.parse(r.outputText))
        XCTAssertEqual(json["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue }, [root + "/ok"])
        XCTAssertEqual(json["unreadable"]?.arrayValue?.count, 2)
    }

    func testDefaultRootsFromConfigThenHealthLogs() throws {
        makeVenv(root + "/one")
        makeVenv(tmp.file("elsewhere/two"))
        // Nothing configured, no health logs: nothing to check, said on stderr.
        let empty = venvs(["check"], env: ["GUARDED_RUN_CONFIG": nil])
        XCTAssertEqual(empty.termination, .exited(0))
        XCTAssertEqual(empty.outputText, "STATUS    VENV\n0 venvs: 0 broken, 0 degraded, 0 healthy\n")
        XCTAssertTrue(empty.errorText.contains("no venvs to check"), empty.errorText)

        // The venvs the health logs name (an agent started from `two`).
        try tmp.write("agent.py", "pass\n")
        let start = runGuarded(["--state-dir", state, "--agent", "two", "--", tmp.file("elsewhere/two/bin/python"), tmp.file("agent.py")])
        XCTAssertEqual(start.termination, .exited(0), start.errorText)
        let fromLogs = venvs(["check", "--json"], env: ["GUARDED_RUN_CONFIG": nil])
        XCTAssertEqual(try XCTUnwrap(JSONValue.parse(fromLogs.outputText))["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue },
                       [tmp.file("elsewhere/two")])

        // <state>/fleet.conf wins over the logs; GUARDED_RUN_CONFIG over the state's file.
        try tmp.write("state/fleet.conf", "# roots\nroot = \(root)\nbogus line\n")
        let fromState = venvs(["check", "--json"], env: ["GUARDED_RUN_CONFIG": nil])
        XCTAssertEqual(try XCTUnwrap(JSONValue.parse(fromState.outputText))["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue },
                       [root + "/one"])
        XCTAssertEqual(fromState.errorText, "guarded-run: venvs: warning: \(state)/fleet.conf: line 3: expected 'root = /path'\n")
        try tmp.write("other.conf", "root = \(tmp.file("elsewhere"))\n")
        let fromEnv = venvs(["check", "--json"], env: ["GUARDED_RUN_CONFIG": tmp.file("other.conf")])
        XCTAssertEqual(try XCTUnwrap(JSONValue.parse(fromEnv.outputText))["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue },
                       [tmp.file("elsewhere/two")])
        // --root wins over everything.
        let explicit = venvs(["check", "--json", "--root", root + "/one"], env: ["GUARDED_RUN_CONFIG": tmp.file("other.conf")])
        XCTAssertEqual(try XCTUnwrap(JSONValue.parse(explicit.outputText))["venvs"]?.arrayValue?.compactMap { $0["venv"]?.stringValue },
                       [root + "/one"])
    }

    func testUsageErrors() {
        for args in [["frobnicate"], ["check", "--force"], ["report", "--python", "/x"], ["check", "--jobs", "0"], [], ["check", "extra"]] {
            let r = venvs(args)
            XCTAssertEqual(r.termination, .exited(64), "\(args): \(r.errorText)")
            XCTAssertTrue(r.errorText.hasPrefix("guarded-run: venvs: "), r.errorText)
        }
    }
}
