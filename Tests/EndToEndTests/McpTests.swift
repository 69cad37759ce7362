import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// A real stdio MCP server (a stdlib-only JSON-RPC module installed in a real venv), started the
/// way a client starts it: from its config, before and after `wrap mcp`, and after its venv's base
/// interpreter is removed.
final class McpTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var state: String { tmp.file("state") }
    var venv: String { tmp.file("server/.venv") }
    var config: String { tmp.file("claude/claude_desktop_config.json") }

    /// Answers `initialize` and `tools/list`, one JSON object per line, as MCP's stdio transport does.
    static let server = #"""
    import json, sys

    def main():
        for line in sys.stdin:
            if not line.strip():
                continue
            msg = json.loads(line)
            if "id" not in msg:
                continue
            if msg["method"] == "initialize":
                result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                          "serverInfo": {"name": "tiny", "version": "1.0", "prefix": sys.prefix}}
            elif msg["method"] == "tools/list":
                result = {"tools": [{"name": "echo", "description": "Echo the text back",
                                     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}]}
            else:
                result = None
            reply = {"jsonrpc": "2.0", "id": msg["id"]}
            if result is None:
                reply["error"] = {"code": -32601, "message": "Method not found"}
            else:
                reply["result"] = result
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    if __name__ == "__main__":
        main()
    """#

    /// A client: reads the entry from the config with Python's json, starts it with the entry's
    /// env over pipes, sends the two requests and an `initialized` notification, and prints what
    /// came back.
    static let client = #"""
    import json, os, subprocess, sys
    config, key = sys.argv[1], sys.argv[2]
    entry = json.load(open(config))["mcpServers"][key]
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests).encode()
    env = dict(os.environ, **entry.get("env", {}))
    p = subprocess.run([entry["command"]] + entry.get("args", []), input=stdin, capture_output=True, env=env, timeout=60)
    print(json.dumps({"rc": p.returncode, "stdout": p.stdout.decode("latin-1"), "stderr": p.stderr.decode("latin-1")}))
    """#

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory("mcp")
        // A Homebrew-style base install (a link to the test Python) the venv is made from.
        try makeDirectories(tmp.file("Cellar/python/3.11/bin"))
        try makeSymbolicLink(tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"), pointingTo: testPython)
        makeVenv(venv, python: tmp.file("Cellar/python/3.11/bin/python\(testPythonVersion)"))
        try tmp.write("server/.venv/lib/python\(testPythonVersion)/site-packages/tinymcp.py", Self.server)
        try tmp.write("client.py", Self.client)
        try makeDirectories(tmp.file("claude"))
        try tmp.write("claude/claude_desktop_config.json", """
            {
              "mcpServers": {
                "tiny": {
                  "command": "\(venv)/bin/python",
                  "args": ["-m", "tinymcp"],
                  "env": {"PYTHONUNBUFFERED": "1"}
                },
                "remote": {"url": "https://mcp.example.com/sse"}
              }
            }

            """)
    }
    override func tearDown() { tmp.remove() }

    struct Answer { var rc: Int; var stdout: String; var stderr: String }

    func ask(_ key: String = "tiny", file: StaticString = #filePath, line: UInt = #line) throws -> Answer {
        // The client's own environment: guarded-run's state under the test's temp dir.
        let r = TestSupport.run(testPython, [tmp.file("client.py"), config, key], environment: environment(["GUARDED_RUN_STATE_DIR": state]))
        XCTAssertEqual(r.termination, .exited(0), r.errorText, file: file, line: line)
        let d = JSONValue.parse(r.outputText)
        XCTAssertNotNil(d, "client said \(r.outputText)", file: file, line: line)
        return Answer(rc: d?["rc"]?.intValue ?? -1, stdout: d?["stdout"]?.stringValue ?? "", stderr: d?["stderr"]?.stringValue ?? "")
    }

    func testTheWrappedServerAnswersByteForByteAndFailsClosedWithAnEmptyStdout() throws {
        let original = try readFile(config)
        let unwrapped = try ask()
        XCTAssertEqual(unwrapped.rc, 0, unwrapped.stderr)
        XCTAssertTrue(unwrapped.stdout.contains("\"id\": 1") && unwrapped.stdout.contains("\"echo\""), unwrapped.stdout)
        XCTAssertTrue(unwrapped.stdout.contains(venv), "the server ran in the venv: \(unwrapped.stdout)")

        let dry = runGuarded(["wrap", "mcp", config, "--state-dir", state])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        XCTAssertTrue(dry.outputText.contains("mcpServers.tiny (line 3): would wrap as agent claude-desktop-tiny (venv \(venv)):"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("mcpServers.remote (line 8): left alone: a remote server (url)"), dry.outputText)
        XCTAssertEqual(try readFile(config), original, "a dry run writes nothing")

        let wrap = runGuarded(["wrap", "mcp", config, "--import", "tinymcp", "--state-dir", state, "--force"])
        XCTAssertEqual(wrap.termination, .exited(0), wrap.errorText)
        XCTAssertTrue(wrap.outputText.contains("snapshot "), wrap.outputText)
        let entry = JSONValue.parse(String(decoding: try readFile(config), as: UTF8.self))?["mcpServers"]?["tiny"]
        XCTAssertEqual(entry?["command"]?.stringValue, try resolvedPath(guardedRunBinary))
        XCTAssertEqual(entry?["args"], JSONValue(["--agent", "claude-desktop-tiny", "--import", "tinymcp", "--", venv + "/bin/python", "-m", "tinymcp"]))
        XCTAssertEqual(entry?["env"], .object([("PYTHONUNBUFFERED", .string("1"))]))

        // The first start runs the full check, the second takes the fast path: the same bytes.
        for start in ["full check", "fast path"] {
            let wrapped = try ask()
            XCTAssertEqual(wrapped.rc, 0, "\(start): \(wrapped.stderr)")
            XCTAssertEqual(wrapped.stdout, unwrapped.stdout, start)
            XCTAssertEqual(wrapped.stderr, "", start)
        }
        let log = runGuarded(["log", "claude-desktop-tiny", "--state-dir", state, "--json"])
        XCTAssertTrue(log.outputText.contains("fast-ok"), log.outputText)

        // `status --from-config` shows the agent the config starts, and only that one.
        // (Another agent on the same venv: the wrapped entry names its agent, so only that one counts.)
        XCTAssertEqual(runGuarded(["--agent", "other", "--state-dir", state, "--", venv + "/bin/python", "-c", "pass"]).termination, .exited(0))
        XCTAssertTrue(runGuarded(["status", "--state-dir", state]).outputText.contains("\n2 agents"))
        let status = runGuarded(["status", "--from-config", config, "--state-dir", state])
        XCTAssertEqual(status.termination, .exited(0), status.outputText + status.errorText)
        XCTAssertTrue(status.outputText.contains("claude-desktop-tiny"), status.outputText)
        XCTAssertTrue(status.outputText.hasSuffix("1 agent\n") || status.outputText.contains("\n1 agent"), status.outputText)

        // Wrap again: nothing to do.
        let again = runGuarded(["wrap", "mcp", config, "--state-dir", state, "--force"])
        XCTAssertTrue(again.outputText.contains("unchanged (nothing to wrap)"), again.outputText)

        // The Homebrew upgrade: the base interpreter is gone.
        try removeTree(tmp.file("Cellar"))
        let broken = try ask()
        XCTAssertEqual(broken.rc, 78)
        XCTAssertEqual(broken.stdout, "", "nothing on the JSON-RPC stream")
        XCTAssertEqual(broken.stderr.split(separator: "\n").count, 1, broken.stderr)
        XCTAssertTrue(broken.stderr.hasPrefix("guarded-run: claude-desktop-tiny: venv \(venv) is broken: interpreter-missing"), broken.stderr)

        let unwrap = runGuarded(["unwrap", "mcp", config, "--state-dir", state, "--force"])
        XCTAssertEqual(unwrap.termination, .exited(0), unwrap.errorText)
        XCTAssertEqual(try readFile(config), original, "unwrap gives back the original bytes")
    }

    func testAFileThatDoesNotParseIsRefusedAndLeftUntouched() throws {
        try tmp.write("claude/claude_desktop_config.json", "{\"mcpServers\": {\"tiny\": {\"command\": \"\(venv)/bin/python\",}}}\n")
        let before = try readFile(config)
        let r = runGuarded(["wrap", "mcp", config, "--state-dir", state, "--force"])
        XCTAssertEqual(r.termination, .exited(1))
        XCTAssertEqual(r.outputText, "\(config): refused: not valid JSON\n")
        XCTAssertEqual(try readFile(config), before)
        XCTAssertFalse(fileExists(state + "/snapshots"), "no snapshot for a file that is not written")
    }

    func testAProjectConfigInAGitWorkTreeIsWarnedAbout() throws {
        try makeDirectories(tmp.file("proj/.git"))
        try tmp.write("proj/.mcp.json", "{\"mcpServers\": {\"tiny\": {\"command\": \"\(venv)/bin/python\", \"args\": [\"-m\", \"tinymcp\"]}}}\n")
        let r = runGuarded(["wrap", "mcp", tmp.file("proj/.mcp.json"), "--state-dir", state])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        XCTAssertTrue(r.outputText.contains("warning: a project-scope config inside the git work tree \(tmp.file("proj"))"), r.outputText)
        XCTAssertTrue(r.outputText.contains("as agent claude-code-proj-tiny"), r.outputText)
    }

    /// The seed's morning in one command: units, drop-ins, plists and MCP configs in one directory;
    /// every venv they start is checked and every path that is gone is named with where.
    func testVenvsCheckFromConfigFindsTheVenvsAndNamesTheDanglingPaths() throws {
        makeVenv(tmp.file("unit/.venv"))
        makeVenv(tmp.file("job/.venv"))
        let dir = tmp.file("configs")
        try makeDirectories(dir + "/mail.service.d")
        try tmp.write("configs/mail.service", "[Unit]\nDescription=mail\n\n[Service]\nExecStart=\(tmp.file("unit/.venv"))/bin/python -m mail\n")
        try tmp.write("configs/mail.service.d/guarded-run.conf", "[Service]\nExecStart=\nExecStart=/usr/local/bin/guarded-run --agent mail -- \(tmp.file("unit/.venv"))/bin/python -m mail\n")
        try tmp.write("configs/old.service", "[Service]\nType=simple\nExecStart=-\(tmp.file("gone/.venv"))/bin/python -m old\n")
        try tmp.write("configs/job.plist", """
            <?xml version="1.0" encoding="UTF-8"?>
            <plist version="1.0"><dict><key>Label</key><string>job</string>
            <key>ProgramArguments</key><array><string>\(tmp.file("job/.venv"))/bin/job-agent</string></array></dict></plist>
            """)
        try tmp.write("job/.venv/bin/job-agent", "#!/bin/sh\n", mode: 0o755)
        try copyFile(config, to: dir + "/claude_desktop_config.json")
        try tmp.write("configs/broken.json", "{\"mcpServers\": ")

        let r = runGuarded(["venvs", "check", "--from-config", dir, "--state-dir", state])
        let lines = r.outputText.split(separator: "\n").map(String.init)
        XCTAssertEqual(r.termination, .exited(78), r.outputText + r.errorText)
        XCTAssertEqual(lines.first, "missing: \(dir)/old.service: line 3 (ExecStart=): \(tmp.file("gone/.venv"))/bin/python does not exist", r.outputText)
        XCTAssertEqual(lines.filter { $0.hasPrefix("missing:") }.count, 1, r.outputText)
        for v in [venv, tmp.file("unit/.venv"), tmp.file("job/.venv")] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("healthy") && $0.hasSuffix(v) }, "\(v) checked: \(r.outputText)")
        }
        XCTAssertTrue(r.errorText.contains("cannot read \(dir)/broken.json: not valid JSON"), r.errorText)

        // The same through fleet.conf, and with the MCP server's venv broken.
        try removeTree(tmp.file("Cellar"))
        try tmp.write("fleet.conf", "config = \(dir)\n")
        let viaConf = runGuarded(["venvs", "check", "--json", "--state-dir", state], environment: environment(["GUARDED_RUN_CONFIG": tmp.file("fleet.conf")]))
        XCTAssertEqual(viaConf.termination, .exited(78), viaConf.errorText)
        let report = JSONValue.parse(viaConf.outputText)
        XCTAssertEqual(report?["missing"]?.arrayValue?.first?["place"]?.stringValue, "line 3 (ExecStart=)")
        XCTAssertTrue(viaConf.outputText.contains("interpreter-missing"), viaConf.outputText)
    }
}

func copyFile(_ from: String, to: String) throws {
    try writeFileAtomically(to, try readFile(from), mode: 0o644)
}
