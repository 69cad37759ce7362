import Foundation
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `venvs check --on-problem CMD` against real venvs, one broken for real: the hook is a real
/// `#!/bin/sh` script that writes its stdin to a file.
final class DoctorHookTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var root: String { tmp.file("root") }
    var state: String { tmp.file("state") }
    var hook: String { tmp.file("hook.sh") }
    var received: String { tmp.file("received.json") }

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory("doctor")
        makeVenv(root + "/healthy")
        try tmp.write("hook.sh", "#!/bin/sh\ncat > '\(received)'\n", mode: 0o755)
    }
    override func tearDown() { tmp.remove() }

    func venvs(_ args: [String]) -> SubprocessResult { runGuarded(["venvs"] + args + ["--root", root, "--state-dir", state]) }

    func breakOne() throws {
        makeVenv(root + "/broken")
        // The base interpreter's directory gone, as after a Homebrew upgrade.
        try tmp.write("root/broken/pyvenv.cfg", "home = \(tmp.file("removed-python/bin"))\ninclude-system-site-packages = false\nversion = 3.11.2\n")
    }

    func testTheHookGetsTheJSONReportOnStdin() throws {
        try breakOne()
        let json = venvs(["check", "--json", "--on-problem", hook])
        XCTAssertEqual(json.termination, .exited(78), json.errorText)
        XCTAssertEqual(json.errorText, "")
        XCTAssertEqual(try String(contentsOfFile: received, encoding: .utf8), json.outputText, "the same bytes as --json printed")

        // Without --json the table goes to stdout, and the hook still gets the JSON.
        try removeFile(received)
        let table = venvs(["check", "--on-problem", hook])
        XCTAssertEqual(table.termination, .exited(78), table.errorText)
        XCTAssertTrue(table.outputText.hasPrefix("STATUS    VENV\nbroken    \(root)/broken\n"), table.outputText)
        // Only the times differ between two runs: the report and each venv's check carry them.
        func timeless(_ v: JSONValue) -> JSONValue {
            switch v {
            case .object(let pairs): return .object(pairs.filter { $0.0 != "checked" && $0.0 != "duration_ms" }.map { ($0.0, timeless($0.1)) })
            case .array(let items): return .array(items.map(timeless))
            default: return v
            }
        }
        let hookReport = timeless(try XCTUnwrap(JSONValue.parse(try String(contentsOfFile: received, encoding: .utf8))))
        let printed = timeless(try XCTUnwrap(JSONValue.parse(venvs(["check", "--json"]).outputText)))
        XCTAssertEqual(hookReport, printed)
        XCTAssertEqual(hookReport["summary"]?["broken"]?.intValue, 1)
    }

    func testTheHookIsNotRunWhenEveryVenvIsHealthy() throws {
        let r = venvs(["check", "--on-problem", hook])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: received))
    }

    /// A failing hook is one warning line; the exit code still says what the venvs are.
    func testAFailingHookIsReportedAndLeavesTheExitCode() throws {
        try breakOne()
        try tmp.write("fail.sh", "#!/bin/sh\necho 'relay down' >&2\nexit 3\n", mode: 0o755)
        let r = venvs(["check", "--on-problem", tmp.file("fail.sh")])
        XCTAssertEqual(r.termination, .exited(78))
        XCTAssertEqual(r.errorText, "guarded-run: venvs: warning: the on-problem hook exited 3: relay down (the exit code still reflects the venvs)\n")

        // A hook that never reads its stdin is fine too.
        let ignoring = venvs(["check", "--on-problem", "exit 0"])
        XCTAssertEqual(ignoring.termination, .exited(78))
        XCTAssertEqual(ignoring.errorText, "")
    }

    func testOnProblemUsage() {
        for args in [["report", "--on-problem", "true"], ["repair", "--on-problem", "true"], ["check", "--on-problem", ""]] {
            let r = venvs(args)
            XCTAssertEqual(r.termination, .exited(64), "\(args): \(r.errorText)")
        }
    }
}
