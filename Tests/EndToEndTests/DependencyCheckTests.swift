import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Tiny distributions made here (no network): as wheels that the base pip installs, or written
/// straight into site-packages the way an installer leaves them (METADATA, RECORD with real sha256
/// hashes, INSTALLER, REQUESTED when asked for, top_level.txt), for shapes pip would refuse to install.
struct TinyDist {
    var name: String
    var version = "1.0"
    var requires: [String] = []
    var requested = false
    var source: String? = nil

    var spec: JSONValue {
        .object([("name", .string(name)), ("version", .string(version)), ("requires", JSONValue(requires)),
                 ("requested", .bool(requested)), ("source", .string(source ?? "VALUE = \(JSONValue.quoted(name))\n"))])
    }

    static let script = #"""
        import sys, os, json, zipfile, hashlib, base64
        mode, target, specs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        for s in specs:
            name, version = s["name"], s["version"]
            dist = "%s-%s.dist-info" % (name, version)
            files = {"%s/__init__.py" % name: s["source"],
                     dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s\nA description.\n"
                         % (name, version, "".join("Requires-Dist: %s\n" % r for r in s["requires"])),
                     dist + "/WHEEL": "Wheel-Version: 1.0\nGenerator: guarded-run-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                     dist + "/top_level.txt": name + "\n"}
            if mode == "install":
                files[dist + "/INSTALLER"] = "guarded-run-tests\n"
                if s["requested"]:
                    files[dist + "/REQUESTED"] = ""
            record = []
            for p, text in files.items():
                data = text.encode()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                record.append("%s,sha256=%s,%d" % (p, digest, len(data)))
            record.append("%s/__pycache__/__init__.cpython-311.pyc,," % name)
            record.append(dist + "/RECORD,,")
            files[dist + "/RECORD"] = "\n".join(record) + "\n"
            if mode == "wheel":
                os.makedirs(target, exist_ok=True)
                with zipfile.ZipFile(os.path.join(target, "%s-%s-py3-none-any.whl" % (name, version)), "w") as z:
                    for p, text in files.items():
                        z.writestr(p, text)
            else:
                for p, text in files.items():
                    os.makedirs(os.path.dirname(os.path.join(target, p)), exist_ok=True)
                    with open(os.path.join(target, p), "w") as fh:
                        fh.write(text)
        """#

    /// `mode`: "wheel" (into the directory `target`) or "install" (into the site-packages `target`).
    static func make(_ dists: [TinyDist], mode: String, target: String, tmp: TemporaryDirectory,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        try tmp.write("mkdist.py", script)
        let r = run(testPython, [tmp.file("mkdist.py"), mode, target, JSONValue.array(dists.map(\.spec)).serialized()])
        XCTAssertEqual(r.termination, .exited(0), r.errorText, file: file, line: line)
    }
}

/// The ordinary full check's dependency rule (what `pip check` reports) and `check --deep`.
final class DependencyCheckTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    func install(_ dists: [TinyDist]) throws {
        try TinyDist.make(dists, mode: "install", target: fx.sitePackages, tmp: fx.tmp)
    }

    func check(_ extra: [String] = []) -> (code: Int32?, json: JSONValue, text: String) {
        let r = runGuarded(["check", "--venv", fx.venv, "--json"] + extra)
        let code: Int32? = { if case .exited(let c) = r.termination { return c } else { return nil } }()
        return (code, JSONValue.parse(r.outputText) ?? .null, r.outputText + r.errorText)
    }

    func reasons(_ json: JSONValue) -> [String] { json["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    func failing(_ json: JSONValue, _ prefix: String) -> [JSONValue] {
        (json["checks"]?.arrayValue ?? []).filter { $0["ok"] == .bool(false) && ($0["reason"]?.stringValue ?? "").hasPrefix(prefix) }
    }

    // MARK: pip uninstall under a requirer

    /// The issue's `pip uninstall urllib3` under requests, with the same shape: `req` requires `dep`,
    /// both from wheels installed by pip (which marks `req` as REQUESTED), then `dep` uninstalled.
    func testUninstalledDependencyOfARequestedDistributionIsBroken() throws {
        let wheels = fx.tmp.file("wheels")
        try TinyDist.make([TinyDist(name: "req", requires: ["dep>=1.0"]), TinyDist(name: "dep", version: "1.2")],
                          mode: "wheel", target: wheels, tmp: fx.tmp)
        let pip = { (args: [String]) -> SubprocessResult in
            TestSupport.run(testPython, ["-m", "pip", "--python", self.fx.python, "--disable-pip-version-check", "--no-input"] + args,
                environment: environment(["PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": "/dev/null"]))
        }
        let installed = pip(["install", "--quiet", "--no-index", "--find-links", wheels, "req"])
        XCTAssertEqual(installed.termination, .exited(0), installed.errorText)
        XCTAssertTrue(fileExists(fx.sitePackages + "/req-1.0.dist-info/REQUESTED"), "pip records what was asked for")
        XCTAssertFalse(fileExists(fx.sitePackages + "/dep-1.2.dist-info/REQUESTED"))
        let before = check()
        XCTAssertEqual(before.code, 0, before.text)
        XCTAssertEqual(failing(before.json, "").count, 0, before.text)

        let removed = pip(["uninstall", "--yes", "--quiet", "dep"])
        XCTAssertEqual(removed.termination, .exited(0), removed.errorText)
        let after = check()
        XCTAssertEqual(after.code, 78, after.text)
        XCTAssertEqual(reasons(after.json).first, "dependency-missing: req 1.0 requires dep>=1.0, which is not installed")
        XCTAssertEqual(failing(after.json, "dependency-missing").first?["name"], .string("dependencies:req"))

        // The launcher agrees: it fails closed, with the same reason.
        let start = fx.start()
        XCTAssertEqual(start.termination, .exited(78), start.errorText)
        XCTAssertEqual(fx.agentRuns, 0)
        XCTAssertTrue(start.errorText.contains("is broken: dependency-missing: req 1.0 requires dep>=1.0"), start.errorText)

        // Not recorded as asked for, and not imported: the same gap is only degraded...
        try removeFile(fx.sitePackages + "/req-1.0.dist-info/REQUESTED")
        let unrequested = check()
        XCTAssertEqual(unrequested.code, 1, unrequested.text)
        XCTAssertEqual(failing(unrequested.json, "dependency-missing").first?["severity"], .string("degraded"))
        // ...and broken again once an --import module's distribution needs it.
        let imported = check(["--import", "req"])
        XCTAssertEqual(imported.code, 78, imported.text)
        XCTAssertEqual(reasons(imported.json).first, "dependency-missing: req 1.0 requires dep>=1.0, which is not installed")
    }

    // MARK: ~pkg leftovers

    /// `requests` renamed to `~equests` by an interrupted install: broken when the distribution it
    /// belongs to is in the closure, degraded elsewhere; a leftover whose package is still there is
    /// only the old `install-leftovers` note.
    func testLeftoverWhosePackageIsGone() throws {
        try install([TinyDist(name: "req", requires: ["dep"], requested: true), TinyDist(name: "dep"), TinyDist(name: "other")])
        XCTAssertEqual(check().code, 0)

        try renameItem(fx.sitePackages + "/dep", to: fx.sitePackages + "/~ep")
        let gone = check()
        XCTAssertEqual(gone.code, 78, gone.text)
        XCTAssertEqual(reasons(gone.json).first, "package-gone: dep 1.0: dep is missing and ~ep is left (an interrupted install)")

        try renameItem(fx.sitePackages + "/~ep", to: fx.sitePackages + "/dep")
        try renameItem(fx.sitePackages + "/other", to: fx.sitePackages + "/~ther")
        let outside = check()
        XCTAssertEqual(outside.code, 1, outside.text)
        XCTAssertEqual(failing(outside.json, "package-gone: other 1.0").first?["severity"], .string("degraded"))
        let imported = check(["--import", "other"])
        XCTAssertEqual(imported.code, 78, imported.text)
        XCTAssertTrue(reasons(imported.json).contains("package-gone: other 1.0: other is missing and ~ther is left (an interrupted install)"),
                      imported.text)
    }

    // MARK: markers, extras, conflicts

    func testMarkerThatDoesNotApplyIsNotADependency() throws {
        try install([TinyDist(name: "req", requires: ["dep; python_version < \"3\"", "legacy>=1 ; sys_platform == \"win32\""], requested: true)])
        let r = check()
        XCTAssertEqual(r.code, 0, r.text)
        XCTAssertEqual(failing(r.json, "").count, 0, r.text)
    }

    func testMarkerThatAppliesMakesADependency() throws {
        try install([TinyDist(name: "req", requires: ["dep; python_version >= \"3\" and os_name == \"posix\""], requested: true)])
        let r = check()
        XCTAssertEqual(r.code, 78, r.text)
        XCTAssertEqual(reasons(r.json), ["dependency-missing: req 1.0 requires dep, which is not installed"])
    }

    /// `req` asks for `dep[fast]`; `dep` requires `speedup` only with that extra and `slowdown` only
    /// with another one: `speedup` missing is broken, `slowdown` missing is no problem at all.
    func testExtraCountsOnlyWhenARequirerAskedForIt() throws {
        try install([TinyDist(name: "req", requires: ["dep[fast]"], requested: true),
                     TinyDist(name: "dep", requires: ["speedup>=2; extra == \"fast\"", "slowdown; extra == \"slow\""])])
        let r = check()
        XCTAssertEqual(r.code, 78, r.text)
        XCTAssertEqual(reasons(r.json), ["dependency-missing: dep 1.0 requires speedup>=2 (extra fast), which is not installed"])
    }

    func testVersionConflictIsDegraded() throws {
        try install([TinyDist(name: "req", requires: ["dep>=2,<3", "pinned==1.*", "tilde~=1.4"], requested: true),
                     TinyDist(name: "dep", version: "1.5"), TinyDist(name: "pinned", version: "1.9.2"),
                     TinyDist(name: "tilde", version: "1.4.7")])
        let r = check()
        XCTAssertEqual(r.code, 1, r.text)
        XCTAssertEqual(reasons(r.json), ["dependency-conflict: req 1.0 requires dep>=2,<3, but dep 1.5 is installed"])
        XCTAssertEqual(failing(r.json, "dependency-conflict").first?["severity"], .string("degraded"))
    }

    /// A marker the evaluator cannot parse: degraded, never broken, even for a requested
    /// distribution whose dependency is missing.
    func testUnparseableMarkerIsDegradedNeverBroken() throws {
        try install([TinyDist(name: "req", requires: ["dep; python_version ~~ \"3\"", "other (>=1.0)"], requested: true),
                     TinyDist(name: "other", version: "1.0")])
        let r = check()
        XCTAssertEqual(r.code, 1, r.text)
        XCTAssertEqual(reasons(r.json), ["requirement-unreadable: req 1.0: cannot evaluate the marker of dep (python_version ~~ \"3\")"])
        let bad = failing(r.json, "requirement-unreadable")
        XCTAssertEqual(bad.count, 1)
        XCTAssertEqual(bad.first?["severity"], .string("degraded"))
    }

    // MARK: --deep

    /// The in-place edit no fingerprint sees: a SyntaxError written into a module of an installed
    /// distribution passes the ordinary check; `--deep` finds it against RECORD.
    func testDeepFindsAFileThatDiffersFromRecord() throws {
        try install([TinyDist(name: "req", requires: ["dep"]), TinyDist(name: "dep"), TinyDist(name: "other")])
        let clean = check(["--deep"])
        XCTAssertEqual(clean.code, 0, clean.text)
        XCTAssertEqual(clean.json["deep"], .bool(true))

        try fx.tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/dep/__init__.py", "VALUE = (1,\n")
        try removeFile(fx.sitePackages + "/other/__init__.py")
        XCTAssertEqual(check().code, 0, "the ordinary check does not read the files")
        let deep = check(["--deep"])
        XCTAssertEqual(deep.code, 1, deep.text)
        XCTAssertEqual(reasons(deep.json).sorted(), ["record-mismatch: dep 1.0: dep/__init__.py modified",
                                                     "record-mismatch: other 1.0: other/__init__.py missing"])
        // In the closure of an --import module's distribution (req requires dep), it is broken.
        let imported = check(["--deep", "--import", "other"])
        XCTAssertEqual(imported.code, 78, imported.text)
        XCTAssertEqual(failing(imported.json, "record-mismatch: other").first?["severity"], .string("broken"))
        XCTAssertEqual(failing(imported.json, "record-mismatch: dep").first?["severity"], .string("degraded"))

        let fleet = runGuarded(["venvs", "check", "--deep", "--root", fx.tmp.file("agent"), "--json", "--state-dir", fx.state])
        XCTAssertEqual(fleet.termination, .exited(1), fleet.outputText + fleet.errorText)
        let venvs = JSONValue.parse(fleet.outputText)?["venvs"]?.arrayValue ?? []
        XCTAssertEqual(venvs.first?["deep"], .bool(true))
        XCTAssertEqual(reasons(venvs.first ?? .null).count, 2, fleet.outputText)
        let plain = runGuarded(["venvs", "check", "--root", fx.tmp.file("agent"), "--state-dir", fx.state])
        XCTAssertEqual(plain.termination, .exited(0), plain.outputText)
        XCTAssertEqual(runGuarded(["venvs", "repair", "--deep"]).termination, .exited(64))
    }
}
