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
        XCTAssertTrue(blank.message.hasSuffix("mine-0.1.dist-info/direct_url.json: a path with blanks or special characters (/srv/my agent)"), blank.message)
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
        XCTAssertTrue(SourceReaders.requirements(tmp.file("p/loop.txt"), into: &loop, check: { _ in nil })?.message.contains("nested deeper than 4") == true)
    }
}
