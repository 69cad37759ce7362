import Foundation
import GuardedCore
import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// What a fleet's units, drop-ins, plists and MCP configs start, wrapped or not, read from real
/// files (the plists written by Python's plistlib, XML and binary).
final class ConfigSourcesTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("config-sources") }
    override func tearDown() { tmp.remove() }

    func plist(_ name: String, _ dict: String, binary: Bool = false) {
        let r = TestSupport.run(testPython, ["-c", "import plistlib, sys; plistlib.dump(\(dict), open(sys.argv[1], 'wb'), fmt=plistlib.\(binary ? "FMT_BINARY" : "FMT_XML"))", tmp.file(name)])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
    }

    func testEveryKindOfConfigWrappedOrNot() throws {
        try tmp.write("cfg/a.service", "[Unit]\nDescription=a\n# ExecStart=/not/this\n[Service]\nExecStartPre=/bin/true\nExecStart=-@/srv/a/.venv/bin/python argv0 -m a\n")
        try tmp.write("cfg/a.service.d/guarded-run.conf", "[Service]\nExecStart=\nExecStart=/usr/local/bin/guarded-run --agent a --venv=/srv/a/.venv -- /srv/a/.venv/bin/python -m a\n")
        try tmp.write("cfg/spec.service", "[Service]\nExecStart=%h/agents/x/bin/python\n")
        try tmp.write("cfg/fleet.conf", "root = /not/a/unit\n")
        plist("cfg/b.plist", "{'Label': 'b', 'ProgramArguments': ['/srv/b/.venv/bin/b-agent', '--fast']}")
        plist("cfg/c.plist", "{'Label': 'c', 'Program': '/usr/local/bin/guarded-run', 'ProgramArguments': ['c', '--agent', 'c', '--', '/srv/c/venv/bin/python', 'c.py']}", binary: true)
        plist("cfg/d.plist", "{'Label': 'd', 'Program': '/srv/d/.venv/bin/python'}")
        try tmp.write("cfg/claude_desktop_config.json", """
            {"mcpServers": {
              "x": {"command": "/srv/x/.venv/bin/python", "args": ["-m", "x"]},
              "y": {"command": "/opt/gr/guarded-run", "args": ["--agent", "claude-desktop-y", "--", "/srv/y/.venv/bin/python"]},
              "n": {"command": "npx", "args": ["-y", "z"]},
              "r": {"url": "https://example.com"}
            }}
            """)
        try tmp.write("cfg/.vscode/mcp.json", "{\"servers\": {\"w\": {\"command\": \"/srv/w/.venv/bin/python\"}}}")
        try tmp.write("cfg/broken.json", "{")
        let scan = ConfigSources.scan([tmp.file("cfg"), tmp.file("cfg/.vscode/mcp.json")])
        let started = scan.started.map { "\(baseName(of: $0.file)) \($0.place): \($0.command)" + ($0.venv.map { " venv=\($0)" } ?? "") + ($0.agent.map { " agent=\($0)" } ?? "") }
        XCTAssertEqual(started, [
            "a.service line 6 (ExecStart=): /srv/a/.venv/bin/python",
            "guarded-run.conf line 3 (ExecStart=): /srv/a/.venv/bin/python venv=/srv/a/.venv agent=a",
            "b.plist ProgramArguments[0]: /srv/b/.venv/bin/b-agent",
            "c.plist ProgramArguments[4]: /srv/c/venv/bin/python agent=c",
            "claude_desktop_config.json mcpServers.x.command (line 2): /srv/x/.venv/bin/python",
            "claude_desktop_config.json mcpServers.y.args[3] (line 3): /srv/y/.venv/bin/python agent=claude-desktop-y",
            "d.plist Program: /srv/d/.venv/bin/python",
            "mcp.json servers.w.command (line 1): /srv/w/.venv/bin/python",
        ])
        XCTAssertEqual(scan.unreadable.map { baseName(of: $0.path) + ": " + $0.reason }, ["broken.json: not valid JSON (with comments)"])
        XCTAssertEqual(scan.unresolved.map { baseName(of: $0.path) + ": " + $0.reason },
                       ["spec.service: line 2 (ExecStart=): '%h/agents/x/bin/python' names a path only the supervisor or client can resolve"])
    }

    func testResolvedVenvsAndMissingPaths() throws {
        makeVenv(tmp.file("here/.venv"))
        try tmp.write("here/.venv/bin/here-agent", "#!/bin/sh\n", mode: 0o755)
        try makeSymbolicLink(tmp.file("here/.venv/bin/dangling"), pointingTo: tmp.file("nowhere/python3"))
        try tmp.write("u.service", """
            [Service]
            ExecStart=\(tmp.file("here/.venv/bin/python")) -m here
            ExecStart=\(tmp.file("here/.venv/bin/here-agent"))
            ExecStart=\(tmp.file("here/.venv/bin/dangling"))
            ExecStart=\(tmp.file("gone/.venv/bin/python")) -m gone
            ExecStart=/usr/local/bin/guarded-run --venv \(tmp.file("gone2")) -- /usr/bin/python3 x.py
            ExecStart=/bin/sh -c true

            """)
        let resolved = ConfigSources.resolve(ConfigSources.scan([tmp.file("u.service")]), state: nil)
        XCTAssertEqual(resolved.venvs, [tmp.file("here/.venv")])
        XCTAssertEqual(resolved.missing.map { "\($0.place): \($0.command)" }, [
            "line 5 (ExecStart=): \(tmp.file("gone/.venv/bin/python"))",
            "line 6 (ExecStart=) (--venv): \(tmp.file("gone2"))",
        ])
    }
}
