import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The seed's morning (issue 10): a fleet of projects whose venvs were made from a Homebrew-style
/// install that is then removed, none ever seen by guarded-run (no known-good set), each with a
/// different rebuild source beside it. `venvs repair --force` must rebuild every pinned one, with
/// pip and with uv, from the right source, offline from a wheelhouse; each agent then starts.
final class RebuildSourceTests: XCTestCase {
    /// One wheelhouse for the whole class: a copy of the tests' hand-made wheels, among them `zeta`,
    /// which depends on alpha (a wheel with dependencies).
    nonisolated(unsafe) static var shared: TemporaryDirectory?
    nonisolated(unsafe) static var hashes: [String: String] = [:]
    static var wheelhouse: String { shared!.file("wheels") }

    override class func setUp() {
        super.setUp()
        guard let tmp = try? TemporaryDirectory("sources-wheels") else { return }
        shared = tmp
        chmod(tmp.path, 0o755)
        try? RepairFixture.copyWheels(into: tmp.file("wheels"))
        try? tmp.write("hashes.py", #"""
            import hashlib, os, sys
            for name in sorted(os.listdir(sys.argv[1])):
                print(name, hashlib.sha256(open(os.path.join(sys.argv[1], name), "rb").read()).hexdigest())
            """#)
        let r = TestSupport.run(testPython, [tmp.file("hashes.py"), tmp.file("wheels")])
        for line in r.outputText.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { hashes[String(parts[0])] = String(parts[1]) }
        }
    }

    override class func tearDown() {
        shared?.remove()
        super.tearDown()
    }

    var tmp: TemporaryDirectory!
    var root: String { tmp.file("root") }
    var state: String { tmp.file("state") }
    var cellarPython: String { tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)") }

    override func setUpWithError() throws {
        guard Self.shared != nil, Self.hashes["zeta-1.0-py3-none-any.whl"] != nil else { throw XCTSkip("the wheelhouse could not be built") }
        tmp = try TemporaryDirectory("sources")
        try makeDirectories(tmp.file("Cellar/python/3.11/bin"))
        try makeSymbolicLink(cellarPython, pointingTo: testPython)
    }

    override func tearDown() { tmp?.remove() }

    // MARK: the fleet

    struct Project {
        var name: String
        var imports: [String]
        /// name==version of every distribution the rebuilt venv must hold (and no others).
        var expected: [String]
    }

    /// The projects whose sources are pinned, and what each must end with.
    let pinned: [Project] = [
        Project(name: "p-req", imports: ["alpha", "beta"], expected: ["alpha==1.0", "beta==2.0"]),
        Project(name: "p-uvlock", imports: ["gamma", "zeta"], expected: ["alpha==1.0", "gamma==0.3", "zeta==1.0"]),
        Project(name: "p-pylock", imports: ["delta", "epsilon"], expected: ["delta==4.0", "epsilon==5.0"]),
        Project(name: "p-distinfo", imports: ["alpha", "gamma"], expected: ["alpha==1.1", "gamma==0.3"]),
        Project(name: "p-editable", imports: ["myagent"], expected: ["alpha==1.0", "myagent==0.1"]),
    ]

    func venv(_ project: String) -> String { root + "/" + project + "/.venv" }

    func wheelHash(_ name: String, _ version: String) -> String { Self.hashes["\(name)-\(version)-py3-none-any.whl"] ?? "" }

    /// Installs into a venv for the setup, offline, with uv when there is one.
    func install(_ packages: [String], into venv: String) {
        guard !packages.isEmpty else { return }
        let env = environment(offline)
        let r: SubprocessResult
        if let uv = InstallerMode.uvPath {
            r = TestSupport.run(uv, ["pip", "install", "--quiet", "--python", venv + "/bin/python", "--find-links", Self.wheelhouse] + packages, environment: env)
        } else {
            r = TestSupport.run(testPython, ["-m", "pip", "--python", venv + "/bin/python", "install", "--quiet", "--find-links", Self.wheelhouse] + packages,
                                environment: env)
        }
        XCTAssertEqual(r.termination, .exited(0), "setup install: \(r.errorText)")
    }

    var offline: [String: String?] {
        ["PIP_NO_INDEX": "1", "UV_OFFLINE": "1", "UV_NO_INDEX": "1", "UV_CACHE_DIR": tmp.file("uv-cache"), "UV_LINK_MODE": "copy",
         "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_FIND_LINKS": nil, "UV_FIND_LINKS": nil, "ENABLE_AUTO_REPAIR": nil, "GUARDED_RUN_TEST_KILL_AT": nil, "GUARDED_RUN_TEST_PAUSE_AT": nil]
    }

    func env(_ mode: InstallerMode) -> [String] {
        var changes = offline
        if mode == .uv, let uv = InstallerMode.uvPath {
            let bin = tmp.file("uvbin")
            try? makeDirectories(bin)
            try? makeSymbolicLink(bin + "/uv", pointingTo: uv)
            changes["PATH"] = bin + ":/usr/bin:/bin"
        } else {
            changes["PATH"] = "/usr/bin:/bin"
        }
        return environment(changes)
    }

    /// The projects, their venvs made from the Cellar interpreter, their sources written beside them.
    func buildFleet() throws {
        for p in pinned + [Project(name: "p-pyproject", imports: [], expected: [])] {
            makeVenv(venv(p.name), python: cellarPython)
            try tmp.write("root/\(p.name)/agent.py", """
                import sys
                for m in sys.argv[1:]:
                    __import__(m)
                print("agent ok", sys.prefix)
                """)
        }
        install(["alpha==1.0", "beta==2.0"], into: venv("p-req"))
        try tmp.write("root/p-req/requirements.txt", "# pinned by pip-compile\nalpha==1.0\nbeta==2.0 \\\n    --hash=sha256:\(wheelHash("beta", "2.0"))\n")
        // Not fully pinned (no hash on alpha) is fine: hashes are allowed, not required.
        try tmp.write("root/p-req/requirements-dev.txt", "delta\n")

        install(["gamma==0.3", "zeta==1.0", "alpha==1.0"], into: venv("p-uvlock"))
        try tmp.write("root/p-uvlock/uv.lock", """
            version = 1
            revision = 3
            requires-python = ">=3.11"

            [[package]]
            name = "alpha"
            version = "1.0"
            source = { registry = "https://pypi.org/simple" }
            wheels = [
                { url = "https://files.pythonhosted.org/packages/alpha-1.0-py3-none-any.whl", hash = "sha256:\(wheelHash("alpha", "1.0"))", size = 1000, upload-time = "2025-01-01T00:00:00.000Z" },
            ]

            [[package]]
            name = "delta"
            version = "4.0"
            source = { registry = "https://pypi.org/simple" }
            wheels = [
                { url = "https://files.pythonhosted.org/packages/delta-4.0-py3-none-any.whl", hash = "sha256:\(wheelHash("delta", "4.0"))", size = 1000 },
            ]

            [[package]]
            name = "gamma"
            version = "0.3"
            source = { registry = "https://pypi.org/simple" }
            wheels = [
                { url = "https://files.pythonhosted.org/packages/gamma-0.3-py3-none-any.whl", hash = "sha256:\(wheelHash("gamma", "0.3"))", size = 1000 },
            ]

            [[package]]
            name = "p-uvlock"
            version = "0.1.0"
            source = { virtual = "." }
            dependencies = [
                { name = "gamma" },
                { name = "zeta" },
            ]

            [package.dev-dependencies]
            dev = [
                { name = "delta" },
            ]

            [package.metadata]
            requires-dist = [
                { name = "gamma", specifier = ">=0.3" },
                { name = "zeta" },
            ]

            [package.metadata.requires-dev]
            dev = [{ name = "delta" }]

            [[package]]
            name = "zeta"
            version = "1.0"
            source = { registry = "https://pypi.org/simple" }
            dependencies = [
                { name = "alpha" },
            ]
            wheels = [
                { url = "https://files.pythonhosted.org/packages/zeta-1.0-py3-none-any.whl", hash = "sha256:\(wheelHash("zeta", "1.0"))", size = 1000 },
            ]

            """)

        install(["delta==4.0", "epsilon==5.0"], into: venv("p-pylock"))
        try tmp.write("root/p-pylock/pylock.toml", """
            lock-version = "1.0"
            requires-python = ">=3.11"
            created-by = "hand"

            [[packages]]
            name = "delta"
            version = "4.0"
            index = "https://pypi.org/simple"
            wheels = [{ name = "delta-4.0-py3-none-any.whl", upload-time = 2025-01-01T00:00:00Z, url = "https://files.example/delta-4.0-py3-none-any.whl", size = 1000, hashes = { sha256 = "\(wheelHash("delta", "4.0"))" } }]

            [[packages]]
            name = "epsilon"
            version = "5.0"
            marker = "python_version >= '3.8'"
            index = "https://pypi.org/simple"
            wheels = [{ name = "epsilon-5.0-py3-none-any.whl", url = "https://files.example/epsilon-5.0-py3-none-any.whl", size = 1000, hashes = { sha256 = "\(wheelHash("epsilon", "5.0"))" } }]

            """)

        install(["alpha==1.1", "gamma==0.3"], into: venv("p-distinfo"))

        // The agent's own project, installed editable (and alpha, which it needs). Its build
        // backend is in the tree: setuptools' editable builds need the `wheel` package before
        // setuptools 70.1, which no offline machine here is sure to have.
        try writeEditableProject(root + "/p-editable")
        install(["-e", root + "/p-editable"], into: venv("p-editable"))

        // pyproject only, and a venv whose packages are gone: nothing pinned to rebuild from.
        try tmp.write("root/p-pyproject/pyproject.toml", """
            [project]
            name = "p-pyproject"
            version = "0.1.0"
            dependencies = [
              "beta>=2",   # any
              "epsilon",
            ]
            """)

        // Homebrew upgrades Python: the Cellar directory every venv's home names is gone.
        try removeTree(tmp.file("Cellar"))
    }

    /// A project with an in-tree PEP 517 backend (no build requirements: offline with build isolation)
    /// whose editable wheel is a `.pth` pointing at `src/`.
    func writeEditableProject(_ dir: String) throws {
        let rel = String(dir.dropFirst(tmp.path.count + 1))
        try tmp.write(rel + "/pyproject.toml", """
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["_build"]

            [project]
            name = "myagent"
            version = "0.1"
            dependencies = ["alpha==1.0"]
            """)
        try tmp.write(rel + "/src/myagent/__init__.py", "import alpha\n")
        try tmp.write(rel + "/_build/backend.py", #"""
            import base64, hashlib, os, zipfile
            ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            NAME, VERSION = "myagent", "0.1"
            DIST = "%s-%s.dist-info" % (NAME, VERSION)
            METADATA = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Dist: alpha==1.0\n\n" % (NAME, VERSION)
            def _wheel(directory, files):
                files = dict(files)
                files[DIST + "/METADATA"] = METADATA
                files[DIST + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                record = []
                for p, text in files.items():
                    d = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
                    record.append("%s,sha256=%s,%d" % (p, d, len(text.encode())))
                files[DIST + "/RECORD"] = "\n".join(record + [DIST + "/RECORD,,"]) + "\n"
                name = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
                with zipfile.ZipFile(os.path.join(directory, name), "w") as z:
                    for p, text in files.items():
                        z.writestr(p, text)
                return name
            def get_requires_for_build_wheel(config_settings=None): return []
            def get_requires_for_build_editable(config_settings=None): return []
            def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
                src = os.path.join(ROOT, "src", NAME, "__init__.py")
                return _wheel(wheel_directory, {NAME + "/__init__.py": open(src).read()})
            def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
                return _wheel(wheel_directory, {"_%s_editable.pth" % NAME: os.path.join(ROOT, "src") + "\n"})
            """#)
    }

    func distributions(_ venv: String) -> [String] {
        let r = runGuarded(["check", "--venv", venv, "--json", "--state-dir", state], environment: env(.pip))
        guard let json = JSONValue.parse(r.outputText) else { XCTFail("check --json: \(r.outputText) \(r.errorText)"); return [] }
        return (json["distributions"]?.arrayValue ?? []).compactMap { d in
            guard let n = d["name"]?.stringValue, let v = d["version"]?.stringValue else { return nil }
            return "\(n)==\(v)"
        }.sorted()
    }

    func seedsMorning(_ mode: InstallerMode) throws {
        if mode == .uv, InstallerMode.uvPath == nil {
            if Environment.value("CI") == "true" { XCTFail("uv is not on PATH under CI=true: .ci/run installs it") }
            throw XCTSkip("uv is not on PATH (set GUARDED_RUN_TEST_UV or run .ci/run)")
        }
        try buildFleet()
        let venvs = { (args: [String]) in
            runGuarded(["venvs"] + args + ["--root", self.root, "--state-dir", self.state, "--find-links", Self.wheelhouse],
                       environment: self.env(mode), timeout: 600)
        }

        // The plan names each venv's source, its path and why it won.
        let plan = venvs(["repair"])
        XCTAssertEqual(plan.termination, .exited(78), plan.errorText)
        let text = plan.outputText
        XCTAssertTrue(text.contains("would repair 6 broken venvs"), text)
        XCTAssertTrue(text.contains("rebuild from: the broken venv's own dist-info in \(venv("p-editable"))/lib/python\(testPythonVersion)/site-packages (2 packages: alpha==1.0 -e \(root)/p-editable)"), text)
        XCTAssertTrue(text.contains("rebuild from: requirements.txt \(root)/p-req/requirements.txt (2 packages: alpha==1.0 beta==2.0)"), text)
        XCTAssertTrue(text.contains("why this source: the project's own fully pinned requirements.txt"), text)
        XCTAssertTrue(text.contains("rebuild from: uv.lock \(root)/p-uvlock/uv.lock (3 packages: alpha==1.0 gamma==0.3 zeta==1.0)"), text)
        XCTAssertTrue(text.contains("rebuild from: pylock.toml \(root)/p-pylock/pylock.toml (2 packages"), text)
        XCTAssertTrue(text.contains("rebuild from: the broken venv's own dist-info in \(venv("p-distinfo"))/lib/python\(testPythonVersion)/site-packages (2 packages: alpha==1.1 gamma==0.3)"), text)
        XCTAssertTrue(text.contains("passed over: \(root)/p-pyproject/pyproject.toml: unpinned: used only with --allow-unpinned"), text)
        XCTAssertFalse(text.contains("requirements-dev"), "never a -dev file: \(text)")

        // The repair: every pinned one, from its own source; the pyproject one is left broken.
        let snapshot = venvTree(venv("p-pyproject"))
        let r = venvs(["repair", "--force"])
        XCTAssertEqual(r.termination, .exited(78), "one venv (pyproject only) stays broken: " + r.outputText + r.errorText)
        for p in pinned {
            XCTAssertTrue(r.outputText.contains("repaired \(venv(p.name)): generation 1 built with"), "\(p.name): \(r.outputText)")
        }
        XCTAssertTrue(r.outputText.contains("from uv.lock \(root)/p-uvlock/uv.lock (3 packages: the project's own uv.lock)"), "the source and why: \(r.outputText)")
        XCTAssertTrue(r.outputText.contains("from dist-info \(venv("p-distinfo"))/lib/python\(testPythonVersion)/site-packages (2 packages: no known-good set and no pinned project file: the broken venv's own dist-info)"), r.outputText)
        XCTAssertFalse(r.outputText.contains("warning:"), "every reinstalled file matches its old RECORD: \(r.outputText)")
        XCTAssertTrue(r.outputText.contains("\(venv("p-pyproject")): FAILED: repair failed: nothing to rebuild from"), r.outputText)
        XCTAssertEqual(venvTree(venv("p-pyproject")), snapshot, "an unpinned-only venv is not touched")
        XCTAssertEqual(((try? directoryEntries(venv("p-pyproject") + ".generations")) ?? []).filter { !$0.hasPrefix(".") }, [],
                       "no generation was built")

        for p in pinned {
            XCTAssertEqual(distributions(venv(p.name)), p.expected, p.name)
            // Each agent starts through guarded-run with its imports.
            let start = runGuarded(["--agent", p.name, "--state-dir", state] + p.imports.flatMap { ["--import", $0] }
                                   + ["--", venv(p.name) + "/bin/python", root + "/\(p.name)/agent.py"] + p.imports,
                                   environment: env(mode))
            XCTAssertEqual(start.termination, .exited(0), "\(p.name): \(start.errorText)")
            XCTAssertTrue(start.outputText.hasPrefix("agent ok \(venv(p.name))"), start.outputText)
            let file = try readTextFile(venv(p.name) + "/guarded-run-requirements.txt")
            XCTAssertTrue(file.hasPrefix("# written by guarded-run"), file)
        }
        // The uv.lock's hashes went through (both installers check them); its dev group did not.
        let uvFile = try readTextFile(venv("p-uvlock") + "/guarded-run-requirements.txt")
        XCTAssertTrue(uvFile.contains("zeta==1.0 --hash=sha256:\(wheelHash("zeta", "1.0"))"), uvFile)
        XCTAssertFalse(uvFile.contains("delta"), uvFile)

        // pyproject only: by hand, with --allow-unpinned.
        let unpinned = venvs(["repair", "--force", "--allow-unpinned"])
        XCTAssertEqual(unpinned.termination, .exited(0), unpinned.outputText + unpinned.errorText)
        XCTAssertTrue(unpinned.outputText.contains("repaired \(venv("p-pyproject")): generation 1"), unpinned.outputText)
        XCTAssertEqual(distributions(venv("p-pyproject")), ["beta==2.0", "epsilon==5.0"])

        let check = runGuarded(["venvs", "check", "--root", root, "--state-dir", state], environment: env(mode))
        XCTAssertEqual(check.termination, .exited(0), check.outputText)
        XCTAssertTrue(check.outputText.hasSuffix("6 venvs: 0 broken, 0 degraded, 6 healthy\n"), check.outputText)

        // The agent's own project came back editable: a change to its source is seen at once.
        let direct = try readTextFile(venv("p-editable") + "/lib/python\(testPythonVersion)/site-packages/myagent-0.1.dist-info/direct_url.json")
        XCTAssertTrue(direct.contains("\"editable\": true") || direct.contains("\"editable\":true"), direct)
        try tmp.write("root/p-editable/src/myagent/__init__.py", "import alpha\nEDITED = True\n")
        XCTAssertEqual(TestSupport.run(venv("p-editable") + "/bin/python", ["-c", "import myagent; assert myagent.EDITED"],
                                       environment: env(mode)).termination, .exited(0))
    }

    func testSeedsMorningWithPip() throws { try seedsMorning(.pip) }
    func testSeedsMorningWithUV() throws { try seedsMorning(.uv) }

    // MARK: refusals

    /// A malformed lock, a malformed pyproject, a world-writable requirements file, one owned by
    /// another user: each refused with one line naming the file, and the venv untouched.
    func testUnsafeOrMalformedSourcesAreRefusedAndNothingChanges() throws {
        let cases: [(name: String, file: String, text: String, mode: mode_t, expect: String)] = [
            ("badlock", "uv.lock", "version = 1\n[[package]\nname = \"x\"\n", 0o644, "uv.lock: not valid TOML here: line 2: "),
            ("newlock", "uv.lock", "version = 7\n", 0o644, "uv.lock: lock version 7 is not one this reader knows"),
            ("badpylock", "pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nmarker = \"'dev' in dependency_groups\"\nversion = \"1\"\n", 0o644,
             "a marker on extras or dependency groups"),
            ("worldwritable", "requirements.txt", "alpha==1.0\n", 0o666, "it is group- or world-writable (mode 666)"),
            ("groupwritable", "requirements.lock", "alpha==1.0\n", 0o664, "it is group- or world-writable (mode 664)"),
            ("option", "requirements.txt", "alpha==1.0\n--trusted-host evil.example\n", 0o644, "the option --trusted-host is not passed on to a rebuild"),
        ]
        for c in cases {
            makeVenv(root + "/\(c.name)/.venv", python: cellarPython)
            try tmp.write("root/\(c.name)/\(c.file)", c.text, mode: c.mode)
        }
        makeVenv(root + "/badpyproject/.venv", python: cellarPython)
        try tmp.write("root/badpyproject/pyproject.toml", "[project\nname = 'x'\n")
        makeVenv(root + "/otheruser/.venv", python: cellarPython)
        try tmp.write("root/otheruser/requirements.txt", "alpha==1.0\n")
        XCTAssertEqual(lchown(root + "/otheruser/requirements.txt", 4242, 4242), 0)
        try removeTree(tmp.file("Cellar"))

        let before = venvTree(root)
        let r = runGuarded(["venvs", "repair", "--force", "--allow-unpinned", "--root", root, "--state-dir", state,
                            "--find-links", Self.wheelhouse], environment: env(.pip))
        XCTAssertEqual(r.termination, .exited(78), r.outputText + r.errorText)
        for c in cases {
            let line = r.outputText.split(separator: "\n").first { $0.hasPrefix(root + "/\(c.name)/.venv: FAILED: ") }
            XCTAssertTrue(line?.contains(c.expect) == true, "\(c.name): \(line ?? "no line") in \(r.outputText)")
            XCTAssertTrue(line?.contains(root + "/\(c.name)/\(c.file)") == true, "names the file: \(line ?? "")")
        }
        XCTAssertTrue(r.outputText.contains("\(root)/badpyproject/pyproject.toml: not valid TOML here: line 1: "), r.outputText)
        XCTAssertTrue(r.outputText.contains("refused \(root)/otheruser/requirements.txt: it is owned by uid 4242, not by the venv's owner (uid 0) or root"), r.outputText)
        let after = venvTree(root)
        let changed = Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }.sorted()
        XCTAssertEqual(changed, [], "no venv touched, nothing written beside them")

        // The dry run says the same: a plan never accepts what --force would refuse.
        let plan = runGuarded(["repair", "--venv", root + "/badlock/.venv", "--state-dir", state], environment: env(.pip))
        XCTAssertTrue(plan.outputText.contains("repair impossible: \(root)/badlock/uv.lock: not valid TOML here: line 2: "), plan.outputText)

        // A world-writable --find-links directory is refused too.
        try makeDirectories(tmp.file("open-wheels"))
        chmod(tmp.file("open-wheels"), 0o777)
        let wheels = runGuarded(["repair", "--venv", root + "/option/.venv", "--from", "dist-info", "--find-links", tmp.file("open-wheels"),
                                 "--force", "--state-dir", state], environment: env(.pip))
        XCTAssertEqual(wheels.termination, .exited(78))
        XCTAssertTrue(wheels.errorText.contains("refused \(tmp.file("open-wheels")): it is group- or world-writable"), wheels.errorText)
    }

    /// The launcher's own repair (nobody watching) never installs from an unpinned source: not a
    /// pyproject.toml or an unpinned requirements file beside the venv, not an unpinned
    /// `--requirements FILE`. The operator can, by hand, with --allow-unpinned.
    func testLauncherNeverRebuildsFromAnUnpinnedSource() throws {
        let v = venv("p-loose")
        makeVenv(v, python: cellarPython)
        try tmp.write("root/p-loose/requirements.txt", "alpha\nbeta==2.0\n")
        try tmp.write("root/p-loose/pyproject.toml", "[project]\nname = \"p-loose\"\ndependencies = [\"alpha\"]\n")
        try tmp.write("root/p-loose/agent.py", "import alpha\nprint('agent ok')\n")
        try removeTree(tmp.file("Cellar"))
        func start(_ extra: [String]) -> SubprocessResult {
            runGuarded(["--agent", "loose", "--state-dir", state, "--auto-repair", "--find-links", Self.wheelhouse, "--import", "alpha"] + extra
                       + ["--", v + "/bin/python", root + "/p-loose/agent.py"], environment: env(.pip), cwd: root + "/p-loose")
        }
        let before = venvTree(root + "/p-loose")
        let found = start([])
        XCTAssertEqual(found.termination, .exited(78), found.errorText)
        XCTAssertTrue(found.errorText.contains("nothing to rebuild from"), found.errorText)
        let explicit = start(["--requirements", root + "/p-loose/requirements.txt"])
        XCTAssertEqual(explicit.termination, .exited(78), explicit.errorText)
        XCTAssertTrue(explicit.errorText.contains("requirements.txt is not fully pinned (line 1: alpha): an unattended repair never installs whatever is newest"), explicit.errorText)
        XCTAssertEqual(explicit.errorText.split(separator: "\n").count, 1, explicit.errorText)
        XCTAssertEqual(venvTree(root + "/p-loose"), before, "nothing touched")

        let byHand = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", Self.wheelhouse, "--allow-unpinned", "--force"],
                                environment: env(.pip), timeout: 600)
        XCTAssertEqual(byHand.termination, .exited(0), byHand.errorText)
        XCTAssertTrue(byHand.outputText.contains("from pyproject.toml \(root)/p-loose/pyproject.toml (1 packages: --allow-unpinned: the project's declared dependencies (newest versions that match))"), byHand.outputText)
        XCTAssertEqual(start([]).termination, .exited(0))
    }

    /// Offline settings written for one installer reach the other: pip's PIP_FIND_LINKS and
    /// PIP_NO_INDEX drive a uv rebuild, uv's UV_FIND_LINKS and UV_OFFLINE a pip rebuild.
    func testEachInstallerHonoursTheOthersOfflineSettings() throws {
        let modes: [InstallerMode] = InstallerMode.uvPath == nil ? [.pip] : [.pip, .uv]
        for mode in modes {
            let v = root + "/\(mode.rawValue)/.venv"
            makeVenv(v)
            try tmp.write("root/\(mode.rawValue)/requirements.txt", "alpha==1.1\n")
            var e = env(mode).filter { !$0.hasPrefix("PIP_NO_INDEX=") && !$0.hasPrefix("UV_OFFLINE=") && !$0.hasPrefix("UV_NO_INDEX=") }
            e += mode == .uv ? ["PIP_FIND_LINKS=" + Self.wheelhouse, "PIP_NO_INDEX=1"] : ["UV_FIND_LINKS=" + Self.wheelhouse, "UV_OFFLINE=1"]
            let r = runGuarded(["repair", "--venv", v, "--rebuild", "--force", "--state-dir", state, "--import", "alpha"], environment: e, timeout: 600)
            XCTAssertEqual(r.termination, .exited(0), "\(mode): \(r.outputText) \(r.errorText)")
            XCTAssertEqual(distributions(v), ["alpha==1.1"], "\(mode)")
        }
    }

    /// `repair --requirements pyproject.toml`: the dry run and --force agree, and pip and uv both
    /// take it (it used to pass the TOML to pip as a requirements file: `Invalid requirement: '[project]'`).
    func testRequirementsPyprojectWorksWithPipAndUV() throws {
        let modes: [InstallerMode] = InstallerMode.uvPath == nil ? [.pip] : [.pip, .uv]
        for mode in modes {
            let v = root + "/\(mode.rawValue)/.venv"
            makeVenv(v)
            try tmp.write("root/\(mode.rawValue)/pyproject.toml", "[project]\nname = \"x\"\nversion = \"1\"\ndependencies = [\"alpha==1.0\", \"beta\"]\n")
            let args = ["repair", "--venv", v, "--requirements", root + "/\(mode.rawValue)/pyproject.toml", "--rebuild",
                        "--find-links", Self.wheelhouse, "--state-dir", state, "--import", "beta"]
            let plan = runGuarded(args, environment: env(mode))
            XCTAssertTrue(plan.outputText.contains("rebuild from: requirements \(root)/\(mode.rawValue)/pyproject.toml (2 packages: alpha==1.0 beta)"), plan.outputText)
            XCTAssertTrue(plan.outputText.contains("NOT pinned"), plan.outputText)
            let r = runGuarded(args + ["--force"], environment: env(mode), timeout: 600)
            XCTAssertEqual(r.termination, .exited(0), "\(mode): \(r.outputText) \(r.errorText)")
            XCTAssertEqual(distributions(v), ["alpha==1.0", "beta==2.0"], "\(mode)")
        }
    }

    // MARK: dist-info and RECORD

    /// A rebuild from dist-info against a wheelhouse whose alpha 1.0 is not the one that was
    /// installed (a same-named package from another index): every differing file is reported, in
    /// the --force output and in the launcher's health log.
    func testDistInfoRebuildReportsFilesThatDifferFromTheOldRecord() throws {
        let v = venv("p-record")
        makeVenv(v, python: cellarPython)
        install(["alpha==1.0", "gamma==0.3"], into: v)
        try tmp.write("root/p-record/agent.py", "import alpha, gamma\nprint('agent ok')\n")
        try removeTree(tmp.file("Cellar"))
        // Another alpha 1.0: same name, same version, other contents.
        try tmp.write("other.py", #"""
            import sys, zipfile, shutil, os
            src, out = sys.argv[1], sys.argv[2]
            os.makedirs(out)
            for name in os.listdir(src):
                if not name.startswith("alpha-1.0"):
                    shutil.copy(os.path.join(src, name), out)
            with zipfile.ZipFile(os.path.join(src, "alpha-1.0-py3-none-any.whl")) as z, \
                 zipfile.ZipFile(os.path.join(out, "alpha-1.0-py3-none-any.whl"), "w") as w:
                for item in z.namelist():
                    data = z.read(item)
                    if item == "alpha/__init__.py":
                        data += b"STOLEN = True\n"
                    w.writestr(item, data)
            """#)
        let made = TestSupport.run(testPython, [tmp.file("other.py"), Self.wheelhouse, tmp.file("other-wheels")])
        XCTAssertEqual(made.termination, .exited(0), made.errorText)

        let plan = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", tmp.file("other-wheels")], environment: env(.pip))
        XCTAssertTrue(plan.outputText.contains("rebuild from: the broken venv's own dist-info"), plan.outputText)
        XCTAssertTrue(plan.outputText.contains("after the build: the reinstalled files are compared with the 2 old RECORD files"), plan.outputText)

        // The launcher's own repair: the health log names the file.
        let start = runGuarded(["--agent", "rec", "--state-dir", state, "--auto-repair", "--find-links", tmp.file("other-wheels"),
                                "--import", "alpha", "--", v + "/bin/python", root + "/p-record/agent.py"], environment: env(.pip), timeout: 600)
        XCTAssertEqual(start.termination, .exited(0), start.errorText)
        let record = HealthLog.read(state: StateDirectory(path: state), agent: "rec").records.last
        XCTAssertEqual(record?["decision"]?.stringValue, "repaired")
        let mismatches = record?["repair"]?["record_mismatches"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(mismatches.count, 1, "\(String(describing: record))")
        XCTAssertTrue(mismatches.first?.hasPrefix("alpha 1.0: alpha/__init__.py differs from the old RECORD (sha256=") == true, "\(mismatches)")

        // By hand: the same warning in the output.
        let again = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", tmp.file("other-wheels"), "--rebuild",
                                "--from", "dist-info", "--force"], environment: env(.pip), timeout: 600)
        XCTAssertEqual(again.termination, .exited(0), again.errorText)
        XCTAssertTrue(again.outputText.contains("\nwarning: alpha 1.0: alpha/__init__.py differs from the old RECORD"), again.outputText)
        // And with the right wheelhouse, nothing to report.
        let clean = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", Self.wheelhouse, "--rebuild",
                                "--from", "dist-info", "--force"], environment: env(.pip), timeout: 600)
        XCTAssertEqual(clean.termination, .exited(0), clean.errorText)
        XCTAssertFalse(clean.outputText.contains("warning"), clean.outputText)
    }

    // MARK: root on a user's venv

    /// Root's `repair --force` on a venv that belongs to `nobody`: the venv is created and the
    /// installer runs as nobody (seen at the `create` step), and afterwards no file in or beside
    /// the venv is root's.
    func testRootBuildsAUsersVenvAsThatUser() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root") }
        let nobody: UInt32 = 65534
        chmod(tmp.path, 0o755)
        let project = root + "/p-user"
        let v = project + "/.venv"
        makeVenv(v, python: cellarPython)
        install(["alpha==1.0"], into: v)
        try tmp.write("root/p-user/requirements.txt", "alpha==1.0\n")
        try tmp.write("root/p-user/agent.py", "import alpha\nprint('agent ok')\n")
        XCTAssertEqual(TestSupport.run("/bin/chown", ["-R", "\(nobody):\(nobody)", project]).termination, .exited(0))
        chmod(root, 0o755)
        try removeTree(tmp.file("Cellar"))

        let plan = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", Self.wheelhouse], environment: env(.pip))
        XCTAssertTrue(plan.outputText.contains(", run as uid \(nobody) (the venv's owner)"), plan.outputText)

        // Stopped at the create step: the build directory the installer made is nobody's.
        let marker = tmp.file("paused")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: guardedRunBinary)
        p.arguments = ["repair", "--venv", v, "--state-dir", state, "--find-links", Self.wheelhouse, "--force"]
        var dict: [String: String] = [:]
        for entry in env(.pip) + ["GUARDED_RUN_TEST_PAUSE_AT=create:" + marker] {
            let name = String(entry.prefix(while: { $0 != "=" }))
            dict[name] = String(entry.dropFirst(name.count + 1))
        }
        p.environment = dict
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !fileExists(marker) && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(fileExists(marker), "the repair reached the create step")
        let builds = ((try? directoryEntries(v + ".generations")) ?? []).filter { $0.hasPrefix(".build-") }
        XCTAssertEqual(builds.count, 1)
        for b in builds {
            XCTAssertEqual(fileStatusIfPresent(v + ".generations/" + b)?.uid, nobody, "python -m venv ran as nobody")
            XCTAssertEqual(fileStatusIfPresent(v + ".generations/" + b + "/pyvenv.cfg")?.uid, nobody)
        }
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 75)

        let r = runGuarded(["repair", "--venv", v, "--state-dir", state, "--find-links", Self.wheelhouse, "--force"], environment: env(.pip), timeout: 600)
        XCTAssertEqual(r.termination, .exited(0), r.outputText + r.errorText)
        XCTAssertTrue(r.outputText.contains("from requirements.txt \(project)/requirements.txt"), r.outputText)
        var rootOwned: [String] = []
        for (path, st) in treeSnapshot(project) where st.uid != nobody || st.gid != nobody { rootOwned.append(path) }
        XCTAssertEqual(rootOwned, [], "nothing of root's left in or beside nobody's venv")
        let start = runGuarded(["--agent", "user", "--state-dir", state, "--import", "alpha", "--", v + "/bin/python", project + "/agent.py"],
                               environment: env(.pip))
        XCTAssertEqual(start.termination, .exited(0), start.errorText)
    }
}

/// The tree under `root` as `treeSnapshot` gives it, without what a refused repair legitimately
/// leaves beside each venv: the check's invalidation marker (`<venv>.generations/.check-invalidated`,
/// written by every check that finds a venv broken) and the repair's own lock and backoff record
/// (`<venv>.generations/.repair/`, docs/auto-repair.md): what "the venv and its project untouched" means.
/// A directory's own times, link count and size are left out (its entries are all listed, so a
/// change inside it still shows), since making the marker's directory changes the project directory's.
func venvTree(_ root: String) -> [String: FileStatus] {
    var tree = treeSnapshot(root).filter { path, st in
        !path.hasSuffix("/.check-invalidated") && !path.contains(".generations/.repair")
            && !(path.hasSuffix(".generations") && st.isDirectory)
    }
    for (path, st) in tree where st.isDirectory {
        var s = st
        s.mtimeNs = 0
        s.ctimeNs = 0
        s.linkCount = 0
        s.size = 0
        tree[path] = s
    }
    return tree
}
