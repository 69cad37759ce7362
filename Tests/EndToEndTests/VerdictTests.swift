import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// A change while the probe runs is never cached as healthy (issue 9 item 1).
final class ChangeDuringProbeTests: XCTestCase {
    /// `--import zzz_needed --import aaa_slow`: the probe imports zzz_needed (and its dep.py), then
    /// aaa_slow waits until the test has deleted dep.py and said "go". The watch list taken after
    /// that probe must not be cached: the next start is a full check, and fails closed as `check` does.
    func testDependencyDeletedDuringTheProbeIsNeverFastOK() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        let started = fx.tmp.file("slow-started")
        let go = fx.tmp.file("go")
        try fx.writeModule("dep", "VALUE = 1\n")
        try fx.writeModule("zzz_needed", "import dep\n")
        try fx.writeModule("aaa_slow", """
            import os, time
            open(\(JSONValue.quoted(started)), "a").write("%d\\n" % os.getpid())
            deadline = time.monotonic() + 60
            while not os.path.exists(\(JSONValue.quoted(go))) and time.monotonic() < deadline:
                time.sleep(0.005)
            """)
        // Compiled now, so the probe itself writes nothing into site-packages.
        XCTAssertEqual(TestSupport.run(fx.python, ["-m", "compileall", "-q", fx.sitePackages]).termination, .exited(0))
        let imports = ["--import", "zzz_needed", "--import", "aaa_slow"]

        let first = Process()
        first.executableURL = URL(fileURLWithPath: guardedRunBinary)
        first.arguments = ["--agent", fx.agent, "--state-dir", fx.state] + imports + ["--", fx.python, fx.agentScript, "import:zzz_needed"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(started) }, "the probe reached aaa_slow")
        try removeFile(fx.sitePackages + "/dep.py")
        try removeTree(fx.sitePackages + "/__pycache__")
        try fx.tmp.write("go", "")
        first.waitUntilExit()

        let next = fx.start(imports, agentArgs: ["import:zzz_needed"])
        XCTAssertEqual(next.termination, .exited(78), next.errorText)
        XCTAssertNotEqual(fx.lastRecord().decision, "fast-ok")
        XCTAssertEqual(fx.lastRecord().decision, "failed-closed")
        XCTAssertTrue(fx.lastRecord().reasonList.first?.hasPrefix("import-failed: zzz_needed: ModuleNotFoundError") == true,
                      "\(fx.lastRecord().reasonList)")
        let check = runGuarded(["check", "--venv", fx.venv] + imports)
        XCTAssertEqual(check.termination, .exited(78), check.outputText)
        // The first start already saw it: its second check (the first one was disturbed) failed closed.
        XCTAssertEqual(first.terminationStatus, 78)
        XCTAssertEqual(fx.agentRuns, 0)
    }

    /// A venv changed just before a start (a fresh pip install) still ends cached: the disturbed
    /// first check is repeated once, and the start after it is fast.
    func testFreshChangeIsCheckedAgainThenCached() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.start().termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
        // New, uncompiled modules: the probe's own __pycache__ lands in site-packages while it runs.
        try fx.writeModule("freshmod", "import freshdep\n")
        try fx.writeModule("freshdep", "VALUE = 1\n")
        let r = fx.start(["--import", "freshmod"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
        XCTAssertNil(fx.lastRecord()["cache"], "the second check held still and was cached")
        XCTAssertEqual(fx.start(["--import", "freshmod"]).termination, .exited(0))
        XCTAssertEqual(fx.lastRecord().decision, "fast-ok")
    }
}

extension ChangeDuringProbeTests {
    /// A module that writes into site-packages whenever it is imported disturbs every check: the
    /// agent starts (the verdict is healthy), nothing is cached, the log says why, and every start
    /// checks again.
    func testAWatchListThatNeverHoldsStillIsNeverCached() throws {
        let fx = try AgentFixture()
        defer { fx.remove() }
        try fx.writeModule("noisy", "import os\nopen(os.path.join(os.path.dirname(__file__), 'noise-%d' % os.getpid()), 'w').close()\n")
        XCTAssertEqual(TestSupport.run(fx.python, ["-m", "compileall", "-q", fx.sitePackages]).termination, .exited(0))
        for _ in 0..<2 {
            let r = fx.start(["--import", "noisy"])
            XCTAssertEqual(r.termination, .exited(0), r.errorText)
            XCTAssertEqual(fx.lastRecord().decision, "checked-ok")
            XCTAssertEqual(fx.lastRecord()["cache"], .string("not cached: \(fx.sitePackages) changed during the check"))
        }
        let noise = try directoryEntries(fx.sitePackages).filter { $0.hasPrefix("noise-") }
        XCTAssertEqual(noise.count, 4, "two checks per start: the first disturbed one is repeated once")
        XCTAssertEqual(fx.agentRuns, 2)
    }
}

/// A private copy of the Debian base install (`/usr/bin/python3.X` + `/usr/lib/python3.X`) under a
/// temp prefix, a venv made from it through a Homebrew-style `opt` link, and an agent: every item
/// of the documented watch list can then be broken for real without touching the system's Python.
final class PrivateBaseFixture {
    let tmp: TemporaryDirectory
    let base: String
    let venv: String
    let state: String
    let agentScript: String
    let agent = "demo"
    var extraEnv: [String: String?] = [:]

    init(copies: Bool = false) throws {
        tmp = try TemporaryDirectory("base")
        base = tmp.file("prefix")
        venv = tmp.file("agent/.venv")
        state = tmp.file("state")
        agentScript = tmp.file("agent/agent.py")
        let real = try resolvedPath(testPython)
        guard baseName(of: real) == "python\(testPythonVersion)", isDirectory("/usr/lib/python\(testPythonVersion)") else {
            throw XCTSkip("needs Debian's /usr/bin/python\(testPythonVersion) and /usr/lib/python\(testPythonVersion)")
        }
        try tmp.write("copy.py", """
            import shutil, sys
            skip = shutil.ignore_patterns("config-\(testPythonVersion)-*", "test", "idlelib", "tkinter", "lib2to3", "pydoc_data", "ensurepip")
            shutil.copytree("/usr/lib/python\(testPythonVersion)", sys.argv[1] + "/lib/python\(testPythonVersion)", symlinks=True, ignore=skip)
            shutil.copy2(\(JSONValue.quoted(real)), sys.argv[1] + "/bin/python\(testPythonVersion)")
            """)
        try makeDirectories(base + "/bin")
        let copy = run(testPython, [tmp.file("copy.py"), base])
        XCTAssertEqual(copy.termination, .exited(0), copy.errorText)
        // Homebrew's shape: the venv names opt/bin/python3.X, a link to the keg's binary.
        try makeDirectories(base + "/opt/bin")
        try makeSymbolicLink(base + "/opt/bin/python\(testPythonVersion)", pointingTo: "../../bin/python\(testPythonVersion)")
        try makeDirectories(tmp.file("agent"))
        var args = ["-m", "venv", "--without-pip"]
        if copies { args.append("--copies") }
        let made = run(copies ? base + "/bin/python\(testPythonVersion)" : base + "/opt/bin/python\(testPythonVersion)", args + [venv])
        XCTAssertEqual(made.termination, .exited(0), made.errorText)
        try tmp.write("agent/agent.py", "print('agent ok')\n")
    }

    var sitePackages: String { venv + "/lib/python\(testPythonVersion)/site-packages" }
    var libDynload: String { base + "/lib/python\(testPythonVersion)/lib-dynload" }

    func writeModule(_ path: String, _ source: String) throws {
        try tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/" + path, source)
    }

    @discardableResult
    func start(_ imports: [String], file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
        runGuarded(["--agent", agent, "--state-dir", state] + imports.flatMap { ["--import", $0] }
                   + ["--", venv + "/bin/python", agentScript],
                   environment: environment(extraEnv), file: file, line: line)
    }

    func lastRecord() -> JSONValue { HealthLog.read(state: StateDirectory(path: state), agent: agent).records.last ?? .null }

    /// Two starts: a full check, then the fast path (the cache holds before anything breaks).
    func prime(_ imports: [String], file: StaticString = #filePath, line: UInt = #line) {
        let first = start(imports, file: file, line: line)
        XCTAssertEqual(first.termination, .exited(0), first.errorText, file: file, line: line)
        XCTAssertEqual(lastRecord().decision, "checked-ok", file: file, line: line)
        XCTAssertEqual(start(imports, file: file, line: line).termination, .exited(0), file: file, line: line)
        XCTAssertEqual(lastRecord().decision, "fast-ok", "primed", file: file, line: line)
    }

    /// After a break: the start is a full check (a failed-closed decision only comes from one)
    /// that fails closed with `reason`.
    func assertFullCheckFails(_ imports: [String], reason: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = start(imports, file: file, line: line)
        XCTAssertEqual(r.termination, .exited(78), r.errorText, file: file, line: line)
        let rec = lastRecord()
        XCTAssertEqual(rec.decision, "failed-closed", file: file, line: line)
        XCTAssertTrue(rec.reasonList.contains { $0.hasPrefix(reason) }, "\(rec.reasonList)", file: file, line: line)
    }

    func remove() { tmp.remove() }
}

/// Truncates a file in place (same inode, same directory entry): only its own lstat changes.
private func truncateInPlace(_ path: String) throws {
    let fd = try FileDescriptor.open(path, [.writeOnly, .truncate])
    _ = fd.rawValue
}

/// Every item on the documented watch list is watched (issue 9 item 2): break exactly that item,
/// and the next start is a full check with the right verdict.
final class WatchListTests: XCTestCase {
    var fixtures: [PrivateBaseFixture] = []
    override func tearDown() { fixtures.forEach { $0.remove() }; fixtures = [] }

    func fixture(copies: Bool = false) throws -> PrivateBaseFixture {
        let fx = try PrivateBaseFixture(copies: copies)
        fixtures.append(fx)
        return fx
    }

    // MARK: the interpreter chain, hop by hop

    func testVenvPythonLink() throws {
        let fx = try fixture()
        fx.prime([])
        try removeFile(fx.venv + "/bin/python")
        try makeSymbolicLink(fx.venv + "/bin/python", pointingTo: "python3.99")
        fx.assertFullCheckFails([], reason: "interpreter-missing: bin/python -> \(fx.venv)/bin/python3.99")
    }

    func testVenvPython311Link() throws {
        let fx = try fixture()
        XCTAssertEqual(try readSymbolicLink(fx.venv + "/bin/python"), "python\(testPythonVersion)")
        fx.prime([])
        try removeFile(fx.venv + "/bin/python\(testPythonVersion)")
        try makeSymbolicLink(fx.venv + "/bin/python\(testPythonVersion)", pointingTo: fx.base + "/gone/python\(testPythonVersion)")
        fx.assertFullCheckFails([], reason: "interpreter-missing: bin/python -> \(fx.base)/gone/python\(testPythonVersion)")
    }

    /// The venv directory and its bin/: a harmless change there is a full check that passes.
    func testVenvDirectoryAndBin() throws {
        let fx = try fixture()
        fx.prime([])
        for change in [fx.venv + "/notes.txt", fx.venv + "/bin/tool"] {
            try writeFileAtomically(change, "x", mode: 0o644)
            XCTAssertEqual(fx.start([]).termination, .exited(0))
            XCTAssertEqual(fx.lastRecord().decision, "checked-ok", change)
            XCTAssertEqual(fx.start([]).termination, .exited(0))
            XCTAssertEqual(fx.lastRecord().decision, "fast-ok", change)
        }
    }

    func testBaseOptLink() throws {
        let fx = try fixture()
        fx.prime([])
        try removeFile(fx.base + "/opt/bin/python\(testPythonVersion)")
        try makeSymbolicLink(fx.base + "/opt/bin/python\(testPythonVersion)", pointingTo: "../../Cellar/gone/python\(testPythonVersion)")
        fx.assertFullCheckFails([], reason: "interpreter-missing")
    }

    func testFinalInterpreterBinary() throws {
        let fx = try fixture()
        fx.prime([])
        try truncateInPlace(fx.base + "/bin/python\(testPythonVersion)")
        fx.assertFullCheckFails([], reason: "interpreter-failed")
    }

    // MARK: pyvenv.cfg and home

    func testPyvenvCfgEditedInPlace() throws {
        let fx = try fixture()
        fx.prime([])
        let cfg = try readTextFile(fx.venv + "/pyvenv.cfg")
        let fd = try FileDescriptor.open(fx.venv + "/pyvenv.cfg", [.writeOnly, .truncate])
        let other = testPythonVersion == "3.12" ? "3.13" : "3.12"
        try fd.writeAll(Array(cfg.replacingOccurrences(of: "version = \(testPythonVersion)", with: "version = \(other)").utf8))
        fx.assertFullCheckFails([], reason: "version-mismatch: pyvenv.cfg says \(other)")
    }

    func testHomeDirectory() throws {
        // --copies: the venv's interpreter is its own file, so only `home` breaks.
        let fx = try fixture(copies: true)
        fx.prime([])
        try renameItem(fx.base + "/bin", to: fx.base + "/bin.gone")
        fx.assertFullCheckFails([], reason: "home-missing: pyvenv.cfg home = \(fx.base)/bin")
    }

    // MARK: the base install's stdlib and lib-dynload

    func testBaseStdlib() throws {
        let fx = try fixture()
        fx.prime([])
        try removeFile(fx.base + "/lib/python\(testPythonVersion)/ssl.py")
        fx.assertFullCheckFails([], reason: "ssl-broken")
    }

    /// The reproduction: `--import ctypes`, then `_ctypes*.so` removed from the base lib-dynload.
    func testBaseLibDynload() throws {
        let fx = try fixture()
        fx.prime(["ctypes"])
        let so = try XCTUnwrap(directoryEntries(fx.libDynload).first { $0.hasPrefix("_ctypes.") })
        try removeFile(fx.libDynload + "/" + so)
        fx.assertFullCheckFails(["ctypes"], reason: "import-failed: ctypes")
    }

    // MARK: site-packages

    func testSitePackages() throws {
        let fx = try fixture()
        try fx.writeModule("needed.py", "import helper\n")
        try fx.writeModule("helper.py", "VALUE = 1\n")
        fx.prime(["needed"])
        try removeFile(fx.sitePackages + "/helper.py")
        fx.assertFullCheckFails(["needed"], reason: "import-failed: needed: ModuleNotFoundError")
    }

    // MARK: each recorded shared object, broken in place (no directory changes)

    func testSslExtensionModule() throws {
        let fx = try fixture()
        fx.prime([])
        let so = try XCTUnwrap(directoryEntries(fx.libDynload).first { $0.hasPrefix("_ssl.") })
        try truncateInPlace(fx.libDynload + "/" + so)
        fx.assertFullCheckFails([], reason: "ssl-broken")
    }

    func testLibsslAndLibcrypto() throws {
        for lib in ["libssl.so.3", "libcrypto.so.3"] {
            let fx = try fixture()
            // Private copies of the libraries _ssl maps, found first through LD_LIBRARY_PATH.
            let libs = fx.tmp.file("syslib")
            try makeDirectories(libs)
            for l in ["libssl.so.3", "libcrypto.so.3"] {
                guard let found = ["/usr/lib/x86_64-linux-gnu/", "/lib/x86_64-linux-gnu/", "/usr/lib64/", "/usr/lib/"]
                    .map({ $0 + l }).first(where: fileExists) else { throw XCTSkip("no \(l) here") }
                XCTAssertEqual(TestSupport.run("/bin/cp", [found, libs + "/" + l]).termination, .exited(0))
            }
            fx.extraEnv = ["LD_LIBRARY_PATH": libs]
            fx.prime([])
            let cache = try readTextFile(Fingerprint.cachePath(state: StateDirectory(path: fx.state), venv: fx.venv, imports: []))
            XCTAssertTrue(cache.contains(" " + libs + "/" + lib + "\n"), "\(lib) is recorded")
            try truncateInPlace(libs + "/" + lib)
            fx.assertFullCheckFails([], reason: "ssl-broken")
        }
    }

    func testExtensionModuleInTheVenv() throws {
        let fx = try fixture()
        let ctypes = try XCTUnwrap(directoryEntries(fx.libDynload).first { $0.hasPrefix("_ctypes.") })
        try fx.writeModule("extpkg/__init__.py", "from . import _ctypes\n")
        XCTAssertEqual(TestSupport.run("/bin/cp", [fx.libDynload + "/" + ctypes, fx.sitePackages + "/extpkg/" + ctypes]).termination, .exited(0))
        fx.prime(["extpkg"])
        try truncateInPlace(fx.sitePackages + "/extpkg/" + ctypes)
        fx.assertFullCheckFails(["extpkg"], reason: "import-failed: extpkg")
    }

    // MARK: the --import modules: their file, their package directory

    func testImportModuleFile() throws {
        let fx = try fixture()
        try fx.writeModule("agentmod.py", "VALUE = 1\n")
        fx.prime(["agentmod"])
        let fd = try FileDescriptor.open(fx.sitePackages + "/agentmod.py", [.writeOnly, .truncate])
        try fd.writeAll(Array("VALUE = (1,\n".utf8))
        fx.assertFullCheckFails(["agentmod"], reason: "import-failed: agentmod: SyntaxError")
    }

    func testImportPackageDirectory() throws {
        let fx = try fixture()
        try fx.writeModule("agentpkg/__init__.py", "from . import part\n")
        try fx.writeModule("agentpkg/part.py", "VALUE = 1\n")
        fx.prime(["agentpkg"])
        try removeFile(fx.sitePackages + "/agentpkg/part.py")
        fx.assertFullCheckFails(["agentpkg"], reason: "import-failed: agentpkg")
    }
}

/// `check` and the launcher agree (issue 9 item 3): a check that finds a venv broken or degraded
/// invalidates every cached fingerprint of it, in every state directory, for every `--import` set.
final class CheckInvalidationTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    var marker: String { fx.venv + ".generations/.check-invalidated" }

    func start(state: String, imports: [String]) -> SubprocessResult {
        runGuarded(["--agent", fx.agent, "--state-dir", state] + imports.flatMap { ["--import", $0] } + ["--", fx.python, fx.agentScript])
    }

    func last(_ state: String) -> JSONValue { HealthLog.read(state: StateDirectory(path: state), agent: fx.agent).records.last ?? .null }

    func prime(_ state: String, _ imports: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(start(state: state, imports: imports).termination, .exited(0), file: file, line: line)
        XCTAssertEqual(start(state: state, imports: imports).termination, .exited(0), file: file, line: line)
        XCTAssertEqual(last(state).decision, "fast-ok", file: file, line: line)
    }

    /// An in-place edit below an `--import` package (which no fingerprint sees) that `check` finds:
    /// afterwards no launcher fast-oks, whichever state directory or import set it caches under.
    func testBrokenCheckInvalidatesEveryStateDirectoryAndImportSet() throws {
        try fx.writeModule("otherpkg/__init__", "from . import part\n")
        try fx.writeModule("otherpkg/part", "VALUE = 1\n")
        let agentState = fx.tmp.file("agent-state")
        let rootState = fx.tmp.file("root-state")
        prime(agentState, ["otherpkg"])
        prime(rootState, [])
        XCTAssertFalse(fileExists(fx.venv + ".generations"), "nothing beside a venv that never failed a check")

        // In place, a different size (Python trusts a .pyc whose source has the same size and mtime).
        let fd = try FileDescriptor.open(fx.sitePackages + "/otherpkg/part.py", [.writeOnly, .truncate])
        try fd.writeAll(Array("VALUE = (1,\n".utf8))
        XCTAssertEqual(start(state: agentState, imports: ["otherpkg"]).termination, .exited(0))
        XCTAssertEqual(last(agentState).decision, "fast-ok", "the fast path cannot see this edit")

        let check = runGuarded(["check", "--venv", fx.venv, "--import", "otherpkg", "--state-dir", fx.tmp.file("check-state")])
        XCTAssertEqual(check.termination, .exited(78), check.outputText)
        XCTAssertEqual(check.errorText, "", "invalidated without a warning")
        let st = try fileStatus(marker)
        XCTAssertTrue(st.isRegularFile)
        XCTAssertEqual(st.permissions, 0o600)
        XCTAssertEqual(try fileStatus(fx.venv + ".generations").permissions, 0o755)

        let agentStart = start(state: agentState, imports: ["otherpkg"])
        XCTAssertEqual(agentStart.termination, .exited(78), agentStart.errorText)
        XCTAssertEqual(last(agentState).decision, "failed-closed")
        XCTAssertEqual(start(state: rootState, imports: []).termination, .exited(0))
        XCTAssertEqual(last(rootState).decision, "checked-ok", "a full check, not the cache")
        XCTAssertEqual(start(state: rootState, imports: []).termination, .exited(0))
        XCTAssertEqual(last(rootState).decision, "fast-ok", "cached again, with the marker as it is now")
    }

    func testDegradedCheckInvalidatesToo() throws {
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/tinypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n\n")
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/tinypkg-1.0.dist-info/RECORD", "")
        prime(fx.state, [])
        XCTAssertEqual(last(fx.state)["status"], .string("healthy"))
        try removeFile(fx.sitePackages + "/tinypkg-1.0.dist-info/RECORD")
        XCTAssertEqual(runGuarded(["check", "--venv", fx.venv]).termination, .exited(1))
        XCTAssertEqual(start(state: fx.state, imports: []).termination, .exited(0))
        XCTAssertEqual(last(fx.state).decision, "checked-ok")
        XCTAssertEqual(last(fx.state)["status"], .string("degraded"))
    }

    /// `venvs check` (root's doctor) invalidates the same way.
    func testVenvsCheckInvalidates() throws {
        prime(fx.state, [])
        try makeDirectories(fx.sitePackages + "/pkg-1.0.dist-info")
        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n\n")
        // Only the dist-info directory changed so far; make the launcher's cache current again.
        XCTAssertEqual(start(state: fx.state, imports: []).termination, .exited(0))
        XCTAssertEqual(start(state: fx.state, imports: []).termination, .exited(0))
        XCTAssertEqual(last(fx.state).decision, "fast-ok")
        let r = runGuarded(["venvs", "check", "--root", fx.tmp.file("agent"), "--state-dir", fx.tmp.file("doctor-state")])
        XCTAssertEqual(r.termination, .exited(1), r.outputText + r.errorText)
        XCTAssertTrue(fileExists(marker))
        XCTAssertEqual(start(state: fx.state, imports: []).termination, .exited(0))
        XCTAssertEqual(last(fx.state).decision, "checked-ok")
    }

    /// Root checking a user's venv leaves what it creates beside it owned like the venv.
    func testRootLeavesTheMarkerOwnedLikeTheVenv() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root") }
        XCTAssertEqual(TestSupport.run("/bin/chown", ["-R", "65534:65534", fx.tmp.file("agent")]).termination, .exited(0))
        try removeFile(fx.venv + "/pyvenv.cfg")
        XCTAssertEqual(runGuarded(["check", "--venv", fx.venv]).termination, .exited(78))
        for path in [fx.venv + ".generations", marker] {
            let st = try fileStatus(path)
            XCTAssertEqual(st.uid, 65534, path)
            XCTAssertEqual(st.gid, 65534, path)
        }
        let leftovers = try directoryEntries(fx.venv + ".generations").filter { $0 != ".check-invalidated" }
        XCTAssertEqual(leftovers, [], "no temp file")
    }

    /// One venv, two spellings: a symlink at the venv's name (`alias -> .venv`). A check through either
    /// spelling reaches a launcher started through the other (the marker lives beside the venv as
    /// the filesystem names it), and nothing is created beside the alias.
    func testCheckReachesALauncherThatNamesTheVenvThroughASymlink() throws {
        let alias = fx.tmp.file("agent/alias")
        try makeSymbolicLink(alias, pointingTo: ".venv")
        try fx.writeModule("otherpkg/__init__", "from . import part\n")
        try fx.writeModule("otherpkg/part", "VALUE = 1\n")
        func startAs(_ venv: String, _ state: String) -> SubprocessResult {
            runGuarded(["--agent", fx.agent, "--state-dir", state, "--venv", venv, "--import", "otherpkg", "--", fx.python, fx.agentScript])
        }
        let viaAlias = fx.tmp.file("alias-state"), viaVenv = fx.tmp.file("venv-state")
        for (venv, state) in [(alias, viaAlias), (fx.venv, viaVenv)] {
            XCTAssertEqual(startAs(venv, state).termination, .exited(0))
            XCTAssertEqual(startAs(venv, state).termination, .exited(0))
            XCTAssertEqual(last(state).decision, "fast-ok", venv)
        }
        // In place, a different size: no fingerprint sees it.
        let fd = try FileDescriptor.open(fx.sitePackages + "/otherpkg/part.py", [.writeOnly, .truncate])
        try fd.writeAll(Array("VALUE = (1,\n".utf8))

        let check = runGuarded(["check", "--venv", fx.venv, "--import", "otherpkg", "--state-dir", fx.tmp.file("check-state")])
        XCTAssertEqual(check.termination, .exited(78), check.outputText)
        XCTAssertEqual(startAs(alias, viaAlias).termination, .exited(78))
        XCTAssertEqual(last(viaAlias).decision, "failed-closed", "the check through the venv's own name reaches the alias")

        let viaAliasCheck = runGuarded(["check", "--venv", alias, "--import", "otherpkg", "--state-dir", fx.tmp.file("check-state")])
        XCTAssertEqual(viaAliasCheck.termination, .exited(78), viaAliasCheck.outputText)
        XCTAssertEqual(startAs(fx.venv, viaVenv).termination, .exited(78))
        XCTAssertEqual(last(viaVenv).decision, "failed-closed")
        XCTAssertFalse(fileExists(alias + ".generations"), "the marker lives beside the venv itself")
    }

    /// A directory at the marker's name (a file cannot be renamed over it) must not pin the cached
    /// fingerprints that recorded it: the check moves it aside and the launcher checks again.
    func testADirectoryAtTheMarkersNameDoesNotBlockTheInvalidation() throws {
        try makeDirectories(marker + "/inside")
        try fx.writeModule("otherpkg/__init__", "from . import part\n")
        try fx.writeModule("otherpkg/part", "VALUE = 1\n")
        prime(fx.state, ["otherpkg"])
        let fd = try FileDescriptor.open(fx.sitePackages + "/otherpkg/part.py", [.writeOnly, .truncate])
        try fd.writeAll(Array("VALUE = (1,\n".utf8))
        let check = runGuarded(["check", "--venv", fx.venv, "--import", "otherpkg", "--state-dir", fx.tmp.file("check-state")])
        XCTAssertEqual(check.termination, .exited(78), check.outputText)
        XCTAssertEqual(check.errorText, "", "invalidated without a warning")
        XCTAssertTrue(try fileStatus(marker).isRegularFile)
        XCTAssertEqual(start(state: fx.state, imports: ["otherpkg"]).termination, .exited(78))
        XCTAssertEqual(last(fx.state).decision, "failed-closed")
    }

    /// Root's doctor meets a user's "venv" (any directory with a pyvenv.cfg, here the user's own
    /// directory) in a directory that is not the user's: what it creates beside it stays root's,
    /// so no user is handed a directory where they could not make one.
    func testRootGivesNoUserADirectoryInSomeoneElsesDirectory() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root") }
        let home = fx.tmp.file("home")
        let user = home + "/u"
        try makeDirectories(user)
        try fx.tmp.write("home/u/pyvenv.cfg", "")
        XCTAssertEqual(TestSupport.run("/bin/chown", ["-R", "65534:65534", user]).termination, .exited(0))
        let r = runGuarded(["venvs", "check", "--root", user, "--state-dir", fx.tmp.file("doctor-state")])
        XCTAssertEqual(r.termination, .exited(78), r.outputText + r.errorText)
        XCTAssertTrue(r.outputText.contains("broken"), r.outputText)
        let st = try fileStatus(user + ".generations")
        XCTAssertEqual(st.uid, 0, "root's, like the directory it is in")
        XCTAssertEqual(try fileStatus(user + ".generations/.check-invalidated").uid, 0)
        XCTAssertEqual(st.permissions & 0o022, 0)
    }

    /// A place beside the venv that cannot be written (here: a planted symlink, refused) costs one
    /// warning line; the verdict is still reported, and nothing is written through the link.
    func testUnwritablePlaceStillReportsTheVerdict() throws {
        let elsewhere = fx.tmp.file("elsewhere")
        try makeDirectories(elsewhere)
        try makeSymbolicLink(fx.venv + ".generations", pointingTo: elsewhere)
        try removeFile(fx.venv + "/pyvenv.cfg")
        let r = runGuarded(["check", "--venv", fx.venv])
        XCTAssertEqual(r.termination, .exited(78))
        XCTAssertTrue(r.outputText.contains("pyvenv-cfg-missing"), r.outputText)
        let lines = r.errorText.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.errorText)
        XCTAssertTrue(lines.first?.hasPrefix("guarded-run: check: warning: cannot invalidate the cached fingerprints of \(fx.venv): ") == true, r.errorText)
        XCTAssertEqual(try directoryEntries(elsewhere), [])
    }
}
