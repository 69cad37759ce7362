@testable import GuardedCheck
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The compiled probe kept in the state directory (`ProbeCache`): used when there is one, and a
/// check that cannot use it runs the probe from source with the same verdict.
final class ProbeCacheTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("probe-cache") }
    override func tearDown() { tmp.remove() }

    func check(_ state: String, _ extra: [String] = []) -> SubprocessResult {
        runGuarded(["check", "--venv", tmp.file("venv"), "--state-dir", state] + extra)
    }

    func testTheProbeIsKeptCompiledInThePrivateStateDirectory() throws {
        makeVenv(tmp.file("venv"))
        let first = check(tmp.file("state"))
        XCTAssertEqual(first.termination, .exited(0), first.errorText)
        let probe = tmp.file("state/probe")
        let files = try directoryEntries(probe).filter { $0.hasSuffix(".py") }
        XCTAssertEqual(files.count, 1, "\(files)")
        XCTAssertEqual(try fileStatus(probe).permissions, 0o700)
        XCTAssertEqual(try fileStatus(probe + "/" + files[0]).permissions, 0o600)
        let compiled = try directoryEntries(probe + "/__pycache__")
        XCTAssertEqual(compiled.count, 1, "Python cached the probe's bytecode: \(compiled)")
        // The file is written only when it differs: a second check leaves it as it was.
        let before = try fileStatus(probe + "/" + files[0])
        XCTAssertEqual(check(tmp.file("state")).termination, .exited(0))
        XCTAssertTrue(try fileStatus(probe + "/" + files[0]).sameIdentityAndTimes(as: before))
        // Damaged bytes are replaced before the probe runs (no stale or planted source runs).
        try writeFileAtomically(probe + "/" + files[0], "import sys; sys.exit(3)\n", mode: 0o600)
        let again = check(tmp.file("state"))
        XCTAssertEqual(again.termination, .exited(0), again.errorText)
        XCTAssertNotEqual(try readTextFile(probe + "/" + files[0]), "import sys; sys.exit(3)\n")
    }

    /// Where no probe file can be kept (a file where its directory goes), and where the loader
    /// cannot load it, the verdict is the same as with it.
    func testWithoutACacheTheVerdictIsTheSame() throws {
        makeVenv(tmp.file("venv"))
        try makeDirectories(tmp.file("blocked"), mode: 0o700)
        try writeFileAtomically(tmp.file("blocked/probe"), "not a directory\n", mode: 0o600)
        let blocked = check(tmp.file("blocked"))
        XCTAssertEqual(blocked.termination, .exited(0), blocked.errorText)
        XCTAssertEqual(blocked.outputText, check(tmp.file("state")).outputText)
        // Broken for real: both ways say broken, with the same reasons.
        try removeFile(tmp.file("venv/pyvenv.cfg"))
        let withCache = check(tmp.file("state")), without = check(tmp.file("blocked"))
        XCTAssertEqual(withCache.termination, .exited(78))
        XCTAssertEqual(without.termination, .exited(78))
        XCTAssertEqual(withCache.outputText, without.outputText)
    }

    /// The loader on its own: a file it cannot load is exit 113 and nothing on stdout, which the
    /// check answers by running the source itself.
    func testTheLoaderSaysWhenItCannotLoad() throws {
        makeVenv(tmp.file("venv"))
        let loader = ProbeCache.loader
        let missing = TestSupport.run(tmp.file("venv/bin/python"), ["-I", "-c", loader], environment: environment(["GUARDED_RUN_PROBE_FILE": tmp.file("nothing.py")]))
        XCTAssertEqual(missing.termination, .exited(ProbeCache.loaderFailed))
        XCTAssertEqual(missing.outputText, "")
        try tmp.write("ok.py", "import os\nprint('ran', 'GUARDED_RUN_PROBE_FILE' in os.environ, __name__)\n")
        let ok = TestSupport.run(tmp.file("venv/bin/python"), ["-I", "-c", loader], environment: environment(["GUARDED_RUN_PROBE_FILE": tmp.file("ok.py")]))
        XCTAssertEqual(ok.outputText, "ran False __main__\n", "run as __main__, the variable gone: \(ok.errorText)")
    }
}
