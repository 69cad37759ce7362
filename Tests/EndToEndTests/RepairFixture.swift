import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Which installer guarded-run finds: the suite runs each repair scenario with pip (a PATH without
/// uv) and with uv (a PATH whose first directory holds only uv) when a uv is available.
enum InstallerMode: String {
    case pip, uv

    /// uv from GUARDED_RUN_TEST_UV, else the test's PATH (.ci/run puts the pinned uv==0.13.9 there).
    static var uvPath: String? {
        if let explicit = Environment.value("GUARDED_RUN_TEST_UV"), access(explicit, X_OK) == 0 { return explicit }
        return Subprocess.findExecutable("uv")
    }
}

/// A real venv with packages from a local wheelhouse the fixture builds (tiny hand-made wheels,
/// installed with `--no-index`), an agent that records which venv it ran in, and a private state dir.
final class RepairFixture {
    let tmp: TemporaryDirectory
    let mode: InstallerMode
    let venv: String
    let state: String
    let wheelhouse: String
    let marker: String
    let agentScript: String
    let agent = "demo"
    let uvBin: String

    /// `beforeVenv` runs once the temp dir and `agent/` exist, before the venv is made (a test mounts
    /// a small filesystem there).
    init(mode: InstallerMode, python: String = testPython, packages: [String] = ["alpha==1.0", "beta==2.0", "gamma==0.3"],
         beforeVenv: ((TemporaryDirectory) throws -> Void)? = nil) throws {
        if mode == .uv, InstallerMode.uvPath == nil {
            // CI installs a pinned uv (.ci/run): there, a missing uv is a failure, not a skip.
            if Environment.value("CI") == "true" { XCTFail("uv is not on PATH under CI=true: .ci/run installs it") }
            throw XCTSkip("uv is not on PATH (set GUARDED_RUN_TEST_UV or run .ci/run)")
        }
        self.mode = mode
        tmp = try TemporaryDirectory("repair")
        venv = tmp.file("agent/.venv")
        state = tmp.file("state")
        wheelhouse = tmp.file("wheels")
        marker = tmp.file("agent-ran")
        agentScript = tmp.file("agent/agent.py")
        uvBin = tmp.file("uvbin")
        try makeDirectories(tmp.file("agent"))
        try makeDirectories(uvBin)
        if let uv = InstallerMode.uvPath { try makeSymbolicLink(uvBin + "/uv", pointingTo: uv) }
        try RepairFixture.copyWheels(into: wheelhouse)
        try beforeVenv?(tmp)
        makeVenv(venv, python: python)
        try install(packages, into: venv)
        try tmp.write("agent/agent.py", """
            import os, sys
            for m in sys.argv[1:]:
                __import__(m)
            with open(\(JSONValue.quoted(marker)), "a") as f:
                f.write("%d %s %s\\n" % (os.getpid(), sys.prefix, os.path.realpath(sys.prefix)))
            print("agent ok")
            """)
    }

    /// The tests' wheelhouse (scripts/test-wheelhouse.py: alpha 1.0 and 1.1, beta, gamma, delta,
    /// epsilon, and zeta, which depends on alpha): GUARDED_RUN_TEST_WHEELHOUSE when scripts/test
    /// built it for the run, else built once by this process; nil when it cannot be built.
    static let sharedWheelhouse: String? = {
        if let given = Environment.value("GUARDED_RUN_TEST_WHEELHOUSE"), isDirectory(given) { return given }
        guard let dir = try? TemporaryDirectory.forThisProcess("wheelhouse") else { return nil }
        let r = TestSupport.run(testPython, [repositoryRoot + "/scripts/test-wheelhouse.py", dir.file("wheels")])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        return r.termination == .exited(0) ? dir.file("wheels") : nil
    }()

    /// Copies the shared wheelhouse's wheels into `dir` (made if missing): a fixture's own, which
    /// its test may take wheels out of and put back.
    static func copyWheels(into dir: String) throws {
        guard let shared = sharedWheelhouse else { throw XCTSkip("the test wheelhouse could not be built") }
        try makeDirectories(dir)
        for name in try directoryEntries(shared) where name.hasSuffix(".whl") {
            try writeFileAtomically(dir + "/" + name, try readFile(shared + "/" + name), mode: 0o644, sync: false)
        }
    }

    /// Installs into a venv for the setup (uv when there is one: faster; else the base pip).
    func install(_ packages: [String], into venv: String) throws {
        guard !packages.isEmpty else { return }
        let r: SubprocessResult
        if let uv = InstallerMode.uvPath {
            r = run(uv, ["pip", "install", "--quiet", "--python", venv + "/bin/python", "--find-links", wheelhouse] + packages,
                    environment: environment(baseEnv))
        } else {
            r = run(testPython, ["-m", "pip", "--python", venv + "/bin/python", "install", "--quiet", "--disable-pip-version-check",
                                 "--find-links", wheelhouse] + packages, environment: environment(baseEnv))
        }
        XCTAssertEqual(r.termination, .exited(0), "setup install failed: \(r.errorText)")
    }

    /// Offline everywhere; no auto-repair flag from the caller's environment; a private uv cache.
    var baseEnv: [String: String?] {
        ["PIP_NO_INDEX": "1", "UV_OFFLINE": "1", "UV_NO_INDEX": "1", "UV_CACHE_DIR": tmp.file("uv-cache"),
         "UV_LINK_MODE": "copy", "ENABLE_AUTO_REPAIR": nil, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
         "GUARDED_RUN_TEST_KILL_AT": nil, "GUARDED_RUN_TEST_PAUSE_AT": nil,
         // The host-wide repair slots of this fixture only: other suites repair at the same time.
         "GUARDED_RUN_REPAIR_SLOTS_DIR": tmp.file("slots"), "GUARDED_RUN_MAX_REPAIRS": nil]
    }

    /// The environment guarded-run runs with: PATH decides the installer it finds.
    func env(_ extra: [String: String?] = [:], path: String? = nil) -> [String] {
        var changes = baseEnv
        changes["PATH"] = path ?? (mode == .uv ? uvBin + ":/usr/bin:/bin" : "/usr/bin:/bin")
        for (k, v) in extra { changes[k] = v }
        return environment(changes)
    }

    var launcherArguments: [String] { launcherArguments(state: state) }

    /// `state`: another state directory for the same agent and venv (an agent's own launcher beside root's).
    func launcherArguments(state: String) -> [String] { ["--agent", agent, "--state-dir", state, "--find-links", wheelhouse] }

    /// `guarded-run [options] -- <venv>/bin/python agent.py <imports>`.
    @discardableResult
    func start(_ options: [String] = [], imports: [String] = ["alpha", "beta"], env extra: [String: String?] = [:],
               path: String? = nil, state: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
        runGuarded(launcherArguments(state: state ?? self.state) + imports.flatMap { ["--import", $0] } + options
                   + ["--", venv + "/bin/python", agentScript] + imports,
                   environment: env(extra, path: path), file: file, line: line)
    }

    /// The same start as a Process, not waited for (concurrency and signal tests).
    func launch(_ options: [String] = [], imports: [String] = ["alpha", "beta"], env extra: [String: String?] = [:],
                state: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: guardedRunBinary)
        p.arguments = launcherArguments(state: state ?? self.state) + imports.flatMap { ["--import", $0] } + options + ["--", venv + "/bin/python", agentScript] + imports
        var dict: [String: String] = [:]
        for entry in env(extra) {
            let name = String(entry.prefix(while: { $0 != "=" }))
            dict[name] = String(entry.dropFirst(name.count + 1))
        }
        p.environment = dict
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func admin(_ arguments: [String], env extra: [String: String?] = [:], file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
        runGuarded(arguments + ["--state-dir", state], environment: env(extra), file: file, line: line)
    }

    // MARK: what happened

    /// One line per agent run: pid, sys.prefix, realpath(sys.prefix).
    var agentRuns: [[String]] {
        ((try? readTextFile(marker)) ?? "").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }

    func records(state: String? = nil) -> [JSONValue] { HealthLog.read(state: StateDirectory(path: state ?? self.state), agent: agent).records }

    func lastRecord(file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        guard let r = records().last else { XCTFail("no health record", file: file, line: line); return .null }
        return r
    }

    /// Health records of real repair attempts (a backoff refusal or a wait is not one).
    var repairAttempts: [JSONValue] { records().filter { $0["repair"]?["result"] != nil } }

    var generationsDirectory: String { venv + ".generations" }

    /// Where repairs of this venv meet, whatever their state directory: lock, backoff, in-progress.
    var repairPlace: String { generationsDirectory + "/.repair" }

    /// `.build-*` directories beside the venv.
    var builds: [String] { ((try? directoryEntries(generationsDirectory)) ?? []).filter { $0.hasPrefix(".build-") }.sorted() }

    var sitePackages: String { venv + "/lib/python\(testPythonVersion)/site-packages" }

    /// The generation the venv symlink names, or nil for a plain directory.
    var currentGeneration: Int? {
        guard let text = try? readSymbolicLink(venv), text.hasPrefix(".venv.generations/") else { return nil }
        return Int(text.dropFirst(".venv.generations/".count))
    }

    /// Distributions as `check --json` reports them (name==version, sorted).
    func distributions(of path: String) -> [String] {
        let r = runGuarded(["check", "--venv", path, "--json"], environment: env())
        guard let json = JSONValue.parse(r.outputText) else { XCTFail("check --json: \(r.outputText) \(r.errorText)"); return [] }
        return (json["distributions"]?.arrayValue ?? []).compactMap { d in
            guard let n = d["name"]?.stringValue, let v = d["version"]?.stringValue else { return nil }
            return "\(n)==\(v)"
        }.sorted()
    }

    /// Runs `<venv>/bin/python -c code`; true on exit 0.
    func pythonRuns(_ code: String, in path: String? = nil) -> Bool {
        run((path ?? venv) + "/bin/python", ["-c", code], environment: env()).termination == .exited(0)
    }

    /// Names in the generations dir and the venv's parent that are not a finished state.
    var leftovers: [String] {
        // Not leftovers: a check's invalidation marker and the repairs' shared place (lock, records).
        let gens = ((try? directoryEntries(generationsDirectory)) ?? []).filter { Int($0) == nil && $0 != ".check-invalidated" && $0 != ".repair" }
        let parent = ((try? directoryEntries(tmp.file("agent"))) ?? []).filter { $0.hasPrefix(".") && $0 != ".venv" && $0 != ".venv.generations" }
        return gens + parent
    }

    func remove() { tmp.remove() }
}

/// Every path under `root` (not following links) with what lstat says: files, inodes, modes,
/// sizes, mtimes and ctimes.
func treeSnapshot(_ root: String) -> [String: FileStatus] {
    var result: [String: FileStatus] = [:]
    func walk(_ path: String) {
        guard let st = fileStatusIfPresent(path) else { return }
        result[path] = st
        if st.isDirectory { for name in (try? directoryEntries(path)) ?? [] { walk(path + "/" + name) } }
    }
    walk(root)
    return result
}
