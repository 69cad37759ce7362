@testable import GuardedRepair
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The source readers on files written here (the end-to-end tests cover them with real installers).
final class SourceReaderTests: XCTestCase {
    func testDistInfoReadsNameVersionDirectURLAndRecord() throws {
        let tmp = try TemporaryDirectory("distinfo")
        defer { tmp.remove() }
        let site = "venv/lib/python3.11/site-packages"
        try tmp.write("\(site)/alpha-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: Alpha_Pkg\nVersion: 1.0\n\nName: ignored\n")
        try tmp.write("\(site)/alpha-1.0.dist-info/RECORD", "../../../bin/alpha-tool,sha256=aQxo,209\nalpha-1.0.dist-info/METADATA,sha256=lu5S,48\nalpha-1.0.dist-info/RECORD,,\r\nalpha/__init__.py,sha256=rR7N,83\r\nalpha/__pycache__/__init__.cpython-311.pyc,,\r\n")
        try tmp.write("\(site)/mine-0.1.dist-info/METADATA", "Name: mine\nVersion: 0.1\n")
        try tmp.write("\(site)/mine-0.1.dist-info/direct_url.json", #"{"url": "file:///srv/my%20agent", "dir_info": {"editable": true}}"#)
        try tmp.write("\(site)/lib-2.0.dist-info/METADATA", "Name: lib\nVersion: 2.0\n")
        try tmp.write("\(site)/lib-2.0.dist-info/direct_url.json", #"{"url": "https://github.com/o/lib", "vcs_info": {"vcs": "git", "commit_id": "0123456789abcdef0123"}}"#)
        try tmp.write("\(site)/bad-1.dist-info/METADATA", "Name: --index-url\nVersion: 1\n")
        var options = RepairOptions()
        options.allowUnpinned = false
        let finder = SourceFinder(venv: tmp.file("venv"), state: StateDirectory(path: tmp.file("state")), options: options)
        guard case .failure(let blank) = finder.distInfo(why: "test") else { return XCTFail("a path with a blank is refused") }
        XCTAssertTrue(blank.description.hasSuffix("mine-0.1.dist-info/direct_url.json: a path with blanks or special characters (/srv/my agent)"), blank.description)
        try tmp.write("my_agent/pyproject.toml", "[project]\nname = 'mine'\n")
        try tmp.write("\(site)/mine-0.1.dist-info/direct_url.json", #"{"url": "file://"# + tmp.path + #"/my%5Fagent", "dir_info": {"editable": true}}"#)
        guard case .success(let s) = finder.distInfo(why: "test") else { return XCTFail() }
        XCTAssertEqual(s.requirements.map { $0.line(withHashes: false) },
                       ["Alpha_Pkg==1.0", "lib @ git+https://github.com/o/lib@0123456789abcdef0123", "-e " + tmp.file("my_agent")],
                       "a bad name is skipped")
        XCTAssertEqual(s.records.map(\.name), ["alpha-pkg"])
        XCTAssertEqual(s.records.first?.files.map(\.path), ["alpha/__init__.py"])
    }

    func testRequirementsFileWithCRLFIncludesAndOptions() throws {
        let tmp = try TemporaryDirectory("reqs")
        defer { tmp.remove() }
        try tmp.write("p/requirements.txt", "-r base.txt\r\nbeta==2.0 ; python_version >= \"3.8\" \\\r\n    --hash=sha256:\(String(repeating: "a", count: 64))\r\n-e ./src\r\n--find-links ./wheels\r\n# comment\r\n")
        try tmp.write("p/base.txt", "alpha==1.0  # pinned\nGamma_X[extra]>=0.3\n")
        var file = SourceReaders.RequirementsFile()
        XCTAssertNil(SourceReaders.requirements(tmp.file("p/requirements.txt"), into: &file, check: { _ in nil }))
        XCTAssertEqual(file.requirements.map { $0.line(withHashes: true) },
                       ["alpha==1.0", "Gamma_X[extra]>=0.3", "beta==2.0 ; python_version >= \"3.8\" --hash=sha256:\(String(repeating: "a", count: 64))",
                        "-e \(tmp.file("p/src"))"])
        XCTAssertEqual(file.options, ["--find-links", tmp.file("p/wheels")])
        XCTAssertEqual(file.firstUnpinned, "line 2: Gamma_X[extra]>=0.3")
        XCTAssertEqual(file.files, [tmp.file("p/requirements.txt"), tmp.file("p/base.txt")])
        // An include loop ends at the depth bound, with one line.
        try tmp.write("p/loop.txt", "-r loop.txt\n")
        var loop = SourceReaders.RequirementsFile()
        XCTAssertTrue(SourceReaders.requirements(tmp.file("p/loop.txt"), into: &loop, check: { _ in nil })?.description.contains("nested deeper than 4") == true)
    }
}

/// uv.lock and pylock.toml shapes the end-to-end tests do not reach: workspaces, extras, markers
/// carried down the graph, git and path sources, an editable root installed or not.
final class LockReaderTests: XCTestCase {
    func testUVLockWalksRuntimeDependenciesWithMarkersAndExtras() throws {
        let tmp = try TemporaryDirectory("uvlock")
        defer { tmp.remove() }
        try tmp.write("p/uv.lock", """
            version = 1
            revision = 2

            [[package]]
            name = "app"
            version = "1.0"
            source = { editable = "." }
            dependencies = [
                { name = "web", extra = ["fast"] },
                { name = "winonly", marker = "sys_platform == 'win32'" },
                { name = "lib" },
            ]

            [package.dev-dependencies]
            dev = [{ name = "pytest" }]

            [[package]]
            name = "web"
            version = "2.0"
            source = { registry = "https://pypi.org/simple" }

            [package.optional-dependencies]
            fast = [{ name = "speedups" }]

            [[package]]
            name = "speedups"
            version = "0.5"
            source = { registry = "https://pypi.org/simple" }

            [[package]]
            name = "winonly"
            version = "3.0"
            source = { registry = "https://pypi.org/simple" }
            dependencies = [{ name = "colorama", marker = "python_version >= '3.8'" }]

            [[package]]
            name = "colorama"
            version = "0.4.6"
            source = { registry = "https://pypi.org/simple" }

            [[package]]
            name = "lib"
            version = "0.1"
            source = { git = "https://github.com/o/lib?rev=main#0123456789abcdef0123456789abcdef01234567" }

            [[package]]
            name = "pytest"
            version = "8.0"
            source = { registry = "https://pypi.org/simple" }
            """)
        func read(installed: Bool) throws -> [String] {
            guard case .success(let list) = SourceReaders.uvLock(tmp.file("p/uv.lock"), installed: { _ in installed }) else {
                XCTFail("refused"); return []
            }
            return list.map { $0.line(withHashes: false) }
        }
        XCTAssertEqual(try read(installed: false), [
            "colorama==0.4.6 ; (sys_platform == 'win32') and (python_version >= '3.8')",
            "lib @ git+https://github.com/o/lib@0123456789abcdef0123456789abcdef01234567",
            "speedups==0.5", "web==2.0", "winonly==3.0 ; sys_platform == 'win32'",
        ], "run-time dependencies only (no pytest), extras followed, markers carried down")
        XCTAssertTrue(try read(installed: true).contains("-e " + tmp.file("p")), "the project itself, editable, when the venv had it")

        try tmp.write("p/uv.lock", "version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { virtual = \".\" }\ndependencies = [{ name = \"missing\" }]\n")
        guard case .failure(let e) = SourceReaders.uvLock(tmp.file("p/uv.lock"), installed: { _ in false }) else { return XCTFail() }
        XCTAssertTrue(e.description.hasSuffix("uv.lock: a needs missing, which the lock does not list"), e.description)
        try tmp.write("p/uv.lock", "version = 1\n[[package]]\nname = \"--index-url\"\nversion = \"1\"\n")
        guard case .failure = SourceReaders.uvLock(tmp.file("p/uv.lock"), installed: { _ in false }) else { return XCTFail("a name that is an option") }
    }

    func testPylockSources() throws {
        let tmp = try TemporaryDirectory("pylock")
        defer { tmp.remove() }
        let hash = String(repeating: "b", count: 64)
        try tmp.write("p/pylock.toml", """
            lock-version = "1.0"
            created-by = "x"

            [[packages]]
            name = "Attrs"
            version = "25.1.0"
            wheels = [{ url = "https://x/attrs.whl", hashes = { sha256 = "\(hash)" } }]

            [[packages]]
            name = "local"
            directory = { path = "src/local", editable = true }

            [[packages]]
            name = "viavcs"
            vcs = { type = "git", url = "https://github.com/o/r", commit-id = "0123456789abcdef" }

            [[packages]]
            name = "arch"
            archive = { url = "https://x/arch-1.tar.gz", hashes = { sha256 = "\(hash)" } }
            """)
        guard case .success(let list) = SourceReaders.pylock(tmp.file("p/pylock.toml")) else { return XCTFail() }
        XCTAssertEqual(list.map { $0.line(withHashes: true) }, [
            "attrs==25.1.0 --hash=sha256:\(hash)", "-e \(tmp.file("p/src/local"))",
            "viavcs @ git+https://github.com/o/r@0123456789abcdef", "arch @ https://x/arch-1.tar.gz --hash=sha256:\(hash)",
        ])
        XCTAssertFalse(pinnedRequirementsText(list).contains("--hash"), "an editable line: no hash mode")
    }

    func testPipfileLockDefaultSectionOnly() throws {
        let tmp = try TemporaryDirectory("pipfile")
        defer { tmp.remove() }
        let hash = String(repeating: "c", count: 64)
        try tmp.write("p/Pipfile.lock", """
            {"_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6, "requires": {"python_version": "3.11"}, "sources": []},
             "default": {
               "requests": {"hashes": ["sha256:\(hash)"], "index": "pypi", "markers": "python_version >= '3.7'", "version": "==2.31.0"},
               "urllib3": {"extras": ["socks"], "version": "==2.2.1"},
               "lib": {"git": "https://github.com/o/lib.git", "ref": "0123456789abcdef"},
               "p": {"editable": true, "path": "."}
             },
             "develop": {"pytest": {"version": "==8.0.0"}}}
            """)
        guard case .success(let list) = SourceReaders.pipfileLock(tmp.file("p/Pipfile.lock"), installed: { $0 == "p" }) else { return XCTFail() }
        XCTAssertEqual(list.map { $0.line(withHashes: false) }, [
            "requests==2.31.0 ; python_version >= '3.7'", "urllib3[socks]==2.2.1",
            "lib @ git+https://github.com/o/lib.git@0123456789abcdef", "-e " + tmp.file("p"),
        ])
        guard case .success(let without) = SourceReaders.pipfileLock(tmp.file("p/Pipfile.lock"), installed: { _ in false }) else { return XCTFail() }
        XCTAssertEqual(without.count, 3, "the project itself only when the venv had it")
        try tmp.write("p/Pipfile.lock", #"{"_meta": {"pipfile-spec": 6}, "default": {"x": {"version": ">=1"}}}"#)
        guard case .failure(let e) = SourceReaders.pipfileLock(tmp.file("p/Pipfile.lock"), installed: { _ in false }) else { return XCTFail() }
        XCTAssertTrue(e.description.hasSuffix("x: version >=1 is not an exact pin"), e.description)
    }
}
