import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// No environment value in any reason: an --import module that fails with a secret in its exception
/// text, or prints one and dies, leaves no trace of it in the health log, stderr, `status`, `log`,
/// `metrics` or `check --json`.
final class SecretRedactionTests: XCTestCase {
    var fx: AgentFixture!
    override func setUpWithError() throws { fx = try AgentFixture() }
    override func tearDown() { fx.remove() }

    let token = "tok-8f3a91c2e7d4"
    let databaseURL = "postgres://agent:hunter2hunter2@db.internal/mail"
    var secretEnv: [String: String?] { ["API_TOKEN": token, "DATABASE_URL": databaseURL] }

    /// Every place a reason can surface, as text, after one failed start.
    func everyOutput(start: SubprocessResult, module: String) throws -> [(String, String)] {
        let admin = { (args: [String]) -> String in
            let r = runGuarded(args + ["--state-dir", self.fx.state], environment: environment(self.secretEnv))
            return r.outputText + r.errorText
        }
        return [
            ("launcher stderr", start.errorText),
            ("health.jsonl", try readTextFile(fx.state + "/agents/demo/health.jsonl")),
            ("status", admin(["status"])), ("status --json", admin(["status", "--json"])),
            ("log", admin(["log", "demo"])), ("log --json", admin(["log", "demo", "--json"])),
            ("metrics", admin(["metrics"])),
            ("check --json", admin(["check", "--venv", fx.venv, "--import", module, "--json"])),
            ("check", admin(["check", "--venv", fx.venv, "--import", module])),
        ]
    }

    func assertNoSecret(_ outputs: [(String, String)], file: StaticString = #filePath, line: UInt = #line) {
        for (place, text) in outputs {
            XCTAssertFalse(text.contains(token), "\(place) holds the token: \(text)", file: file, line: line)
            XCTAssertFalse(text.contains("hunter2"), "\(place) holds the password: \(text)", file: file, line: line)
        }
    }

    /// The reproduced case: `int(os.environ["API_TOKEN"])` in an --import module. The reason is the
    /// exception type and the failing file:line, not the message that quoted the value.
    func testImportFailureIsReportedByTypeAndLocation() throws {
        try fx.writeModule("agentmod", "import os\nPORT = 8080\nLIMIT = int(os.environ[\"API_TOKEN\"])\n")
        let start = fx.start(["--import", "agentmod"], env: secretEnv)
        XCTAssertEqual(start.termination, .exited(78), start.errorText)
        let reason = "import-failed: agentmod: ValueError at \(fx.sitePackages)/agentmod.py:3"
        XCTAssertEqual(fx.lastRecord().reasonList, [reason])
        XCTAssertTrue(start.errorText.contains("is broken: \(reason) (see"), start.errorText)
        let outputs = try everyOutput(start: start, module: "agentmod")
        assertNoSecret(outputs)
        XCTAssertTrue(outputs.first { $0.0 == "check --json" }?.1.contains(reason) == true)
        XCTAssertTrue(outputs.first { $0.0 == "log" }?.1.contains(reason) == true)
    }

    /// The innermost frame in the venv, not the standard library's frame that raised.
    func testLocationIsTheVenvFrameNotTheStandardLibrary() throws {
        try fx.writeModule("agentmod", "import json\n\nCONFIG = json.loads('{oops')\n")
        let r = runGuarded(["check", "--venv", fx.venv, "--import", "agentmod", "--json"])
        let reasons = JSONValue.parse(r.outputText)?["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(reasons, ["import-failed: agentmod: JSONDecodeError at \(fx.sitePackages)/agentmod.py:3"], r.outputText)
    }

    /// ImportError and SyntaxError keep their message (it names modules and files); a value from the
    /// environment in it is redacted by the second layer.
    func testImportErrorMessageKeptAndRedacted() throws {
        try fx.writeModule("agentmod", "import os\nraise ImportError('no backend for ' + os.environ['DATABASE_URL'] + ' with ' + os.environ['API_TOKEN'])\n")
        let start = fx.start(["--import", "agentmod"], env: secretEnv)
        XCTAssertEqual(start.termination, .exited(78), start.errorText)
        XCTAssertEqual(fx.lastRecord().reasonList, ["import-failed: agentmod: ImportError: no backend for [redacted] with [redacted]"])
        assertNoSecret(try everyOutput(start: start, module: "agentmod"))

        try fx.writeModule("agentmod", "VALUE = (1,\n")
        let syntax = runGuarded(["check", "--venv", fx.venv, "--import", "agentmod"], environment: environment(secretEnv))
        XCTAssertTrue(syntax.outputText.contains("import-failed: agentmod: SyntaxError: '(' was never closed (agentmod.py, line 1)"),
                      syntax.outputText)
    }

    /// A module that prints the secret and kills the probe: the reason quotes the probe's last stderr
    /// line, so only guarded-run's own redaction stands between the value and the log.
    func testProbeDeathQuotingASecretIsRedactedByGuardedRun() throws {
        try fx.writeModule("agentmod", "import os, sys\nsys.stderr.write('token is ' + os.environ['API_TOKEN'] + '\\n')\nos._exit(3)\n")
        let start = fx.start(["--import", "agentmod"], env: secretEnv)
        XCTAssertEqual(start.termination, .exited(78), start.errorText)
        XCTAssertEqual(fx.lastRecord().reasonList, ["interpreter-failed: bin/python exited with 3: token is [redacted]"])
        assertNoSecret(try everyOutput(start: start, module: "agentmod"))
    }
}
