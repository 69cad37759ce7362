import GuardedCheck
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The PEP 440 comparison and PEP 508 marker evaluator behind the dependency check, against an
/// independent oracle: the `packaging` that pip vendors, in a venv made with pip (no network).
final class RequirementsTests: XCTestCase {
    static let versions = ["0", "1", "1.0", "1.0.0", "1.0.1", "1.1", "1.1.0", "2", "2.0", "2.0.0rc1", "2.0a1", "2.0b2",
                           "2.0.dev3", "2.0a1.dev1", "2.0.post1", "2.0-1", "2.0+local.7", "2.0.1", "1!1.0", "1.9.99", "10.0",
                           "3.0.0", "0.9", "2.0rc2.post1.dev4", "1.0.0.0", "2.2", "2.2.1", "1.2.3.4", "v2.0", "2.0.POST2",
                           "2.0c1", "2.0+abc", "2.0+7", "2.0alpha3", "2.0.rev4", "2.0_dev5", "2026.10.19.post1"]
    static let specs = ["==2.0", "==2.0.*", "==2.*", "!=2.0", "!=2.0.*", ">=2.0", "<=2.0", ">2.0", "<2.0", "~=2.0", "~=2.2.0",
                        "~=1.0", "===2.0", "==2.0+local.7", ">=2.0a1", "<2.0rc1", ">1!0", "==1.0.*", "<3", ">1.0.0",
                        ">=1.0.post1", "<2.0.post1", ">2.0.dev3", "!=2.0.post1", "==2.0+abc", ">=2026.1"]
    static let markers = ["python_version < \"3\"", "python_version >= \"3.8\"", "python_version > \"3.11\" or os_name == \"nt\"",
                          "sys_platform == \"linux\" and (platform_machine == \"x86_64\" or platform_machine == \"aarch64\")",
                          "extra == \"socks\"", "extra == \"socks\" and python_version >= \"3\"", "\"linux\" in sys_platform",
                          "platform_system != \"Windows\"", "implementation_name == \"cpython\"", "python_full_version >= \"3.11.1\"",
                          "os.name == 'posix'", "platform_python_implementation == \"CPython\"", "python_version ~= \"3.10\"",
                          "python_version == \"3.11.*\"", "\"x\" not in extra", "python_version<\"3.12\"and os_name==\"posix\"",
                          "(extra == \"socks\") or (python_version < \"2.7\")", "((python_version >= \"3\"))"]

    static let oracle = #"""
        import sys, json
        from pip._vendor.packaging.specifiers import SpecifierSet
        from pip._vendor.packaging.markers import Marker, default_environment
        q = json.loads(sys.argv[1])
        out = {"specs": [[SpecifierSet(s).contains(v, prereleases=True) for s in q["specs"]] for v in q["versions"]],
               "markers": [[Marker(m).evaluate({"extra": e}) for e in ("", "socks")] for m in q["markers"]],
               "environment": default_environment()}
        print(json.dumps(out))
        """#

    func testVersionsAndMarkersAgreeWithPackaging() throws {
        let tmp = try TemporaryDirectory("requirements")
        defer { tmp.remove() }
        makeVenv(tmp.file("venv"), withPip: true)
        let query = JSONValue.object([("versions", JSONValue(Self.versions)), ("specs", JSONValue(Self.specs)),
                                      ("markers", JSONValue(Self.markers))]).serialized()
        let r = TestSupport.run(tmp.file("venv/bin/python"), ["-I", "-c", Self.oracle, query])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        let answer = try XCTUnwrap(JSONValue.parse(r.outputText))
        var environment: [String: String] = [:]
        for (k, v) in answer["environment"]?.objectValue ?? [] { environment[k] = v.stringValue }
        XCTAssertEqual(environment["python_version"], testPythonVersion)
        var checked = 0
        for (i, v) in Self.versions.enumerated() {
            for (j, s) in Self.specs.enumerated() {
                let op = VersionSpecifier.operators.first { s.hasPrefix($0) }!
                let want = answer["specs"]?.arrayValue?[i].arrayValue?[j].boolValue
                XCTAssertEqual(VersionSpecifier.contains(op, String(s.dropFirst(op.count)), installed: v), want, "\(v) \(s)")
                checked += 1
            }
        }
        for (i, m) in Self.markers.enumerated() {
            for (j, extra) in ["", "socks"].enumerated() {
                let want = answer["markers"]?.arrayValue?[i].arrayValue?[j].boolValue
                XCTAssertEqual(Marker.evaluate(m, extra: extra, environment: environment), want, "\(m) extra '\(extra)'")
                checked += 1
            }
        }
        XCTAssertEqual(checked, Self.versions.count * Self.specs.count + Self.markers.count * 2)
    }

    func testWhatCannotBeParsedIsNilNeverATrap() {
        for m in ["python_version ~ \"3\"", "python_version <", "foo == \"x\"", "(python_version < \"3\"", "python_version < \"3\" and",
                  "python_version < \"3\" python_version", "\"unterminated", "", "not in", "platform_release >= \"5.x-weird\"",
                  String(repeating: "(", count: 5000) + "python_version < \"3\"" + String(repeating: ")", count: 5000)] {
            XCTAssertNil(Marker.evaluate(m, extra: "", environment: ["python_version": "3.11", "platform_release": "6.1.0-amd64"]), m)
        }
        for v in ["", "abc", "1..0", "1.0.", "1.0+", "1.0+a..b", "99999999999999999999999", "1.0a99999999999999999999", "1.0 2"] {
            XCTAssertNil(PackageVersion(v), v)
        }
        XCTAssertNil(VersionSpecifier.contains(">=", "1.0", installed: "not-a-version"))
        XCTAssertNil(VersionSpecifier.contains("~=", "1", installed: "1.0"))
        XCTAssertEqual(VersionSpecifier.contains("===", "local-build", installed: "Local-Build"), true)
    }

    func testRequirementParsing() {
        let r = Requirement("Req_X[Fast, slow] (>=1.0, <2) ; extra == 'x'")
        XCTAssertEqual(r?.name, "Req_X")
        XCTAssertEqual(r?.extras, ["fast", "slow"])
        XCTAssertEqual(r?.shown, "Req_X>=1.0,<2")
        XCTAssertEqual(r?.marker, "extra == 'x'")
        let url = Requirement("pkg @ https://user:secret@example.org/p.whl ; python_version >= '3'")
        XCTAssertEqual(url?.shown, "pkg", "a direct URL never reaches a reason")
        XCTAssertEqual(url?.marker, "python_version >= '3'")
        XCTAssertNil(Requirement("-bad"))
        XCTAssertNil(Requirement("pkg >= 1 2"))
        XCTAssertNil(Requirement("pkg[x"))
        // Read byte by byte since the parser stopped walking Characters (the same answers for ASCII,
        // checked on 300,000 random requirements against the Character version).
        XCTAssertEqual(Requirement(" a.b-c [ X , ,y ] ( == 1.0 , != 1.1 ) ;  ")?.shown, "a.b-c==1.0,!=1.1")
        XCTAssertEqual(Requirement(" a.b-c [ X , ,y ] ( == 1.0 , != 1.1 ) ;  ")?.extras, ["x", "y"])
        XCTAssertNil(Requirement(" a.b-c [ X , ,y ] ( == 1.0 , != 1.1 ) ;  ")?.marker, "an empty marker")
        XCTAssertEqual(Requirement("pkg===1.0;extra=='a;b'")?.marker, "extra=='a;b'", "the first ';' starts the marker")
        XCTAssertNil(Requirement("pkg\t>=1"), "only spaces are trimmed")
        XCTAssertNil(Requirement("pkg>="))
        XCTAssertNil(Requirement("pkg.>=1"), "a name ends in a letter or digit")
        XCTAssertEqual(Requirement("pkg ; é")?.marker, "é")
        XCTAssertEqual(normalizedName("Foo__Bar.-baz"), "foo-bar-baz")
    }
}
