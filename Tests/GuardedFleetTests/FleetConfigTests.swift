import GuardedCore
import GuardedFleet
import GuardedSystem
import TestSupport
import XCTest

final class FleetConfigTests: XCTestCase {
    func testParsesRootsAndReportsBadLines() {
        let config = FleetConfig(text: """
            # the machine's venvs
            root = /srv/agents
              root=/home/me/venvs/   \t

            root = relative/path
            roots = /x
            just words
            root = /srv/#odd
            """)
        XCTAssertEqual(config.roots, ["/srv/agents", "/home/me/venvs", "/srv/#odd"])
        XCTAssertEqual(config.problems, [
            "line 5: root must be an absolute path",
            "line 6: unknown key 'roots' (known: 'root', 'config', 'state')",
            "line 7: expected 'root = /path'",
        ])
    }

    func testConfigLinesNameTheFleetsConfigSources() {
        let config = FleetConfig(text: """
            root = /srv/agents
            config = /etc/systemd/system/
            config = /Users/me/Library/Application Support/Claude/claude_desktop_config.json
            config = LaunchAgents
            """)
        XCTAssertEqual(config.roots, ["/srv/agents"])
        XCTAssertEqual(config.configs, ["/etc/systemd/system", "/Users/me/Library/Application Support/Claude/claude_desktop_config.json"])
        XCTAssertEqual(config.problems, ["line 4: config must be an absolute path"])
    }

    func testLoadsFromTheStateDirectoryAndToleratesAbsence() throws {
        let tmp = try TemporaryDirectory("config")
        defer { tmp.remove() }
        let state = StateDirectory(path: tmp.path)
        XCTAssertEqual(FleetConfig.load(state: state), FleetConfig())
        try tmp.write("fleet.conf", "root = /a\n")
        XCTAssertEqual(FleetConfig.load(state: state).roots, ["/a"])
        XCTAssertEqual(FleetConfig.load(state: state).path, tmp.file("fleet.conf"))
        try tmp.write("fleet.conf", String(repeating: "\u{0}\u{ff}garbage", count: 100))
        XCTAssertEqual(FleetConfig.load(state: state).roots, [])
    }

    func testRootsWinThenConfigThenHealthLogs() throws {
        let tmp = try TemporaryDirectory("source")
        defer { tmp.remove() }
        let state = StateDirectory(path: tmp.path)
        try HealthLog.append(HealthRecord(agent: "a", venv: "/v/one", status: "healthy", decision: .fastOK, checkMicroseconds: 1), state: state)
        try HealthLog.append(HealthRecord(agent: "b", venv: "/v/two", status: "broken", decision: .failedClosed, checkMicroseconds: 1), state: state)
        try HealthLog.append(HealthRecord(agent: "b", venv: "/v/one", status: "healthy", decision: .checkedOK, checkMicroseconds: 1), state: state)
        let config = FleetConfig(roots: ["/c"], path: "/etc/x")
        XCTAssertEqual(VenvSource.choose(roots: ["/r"], config: config, state: state), .roots(["/r"]))
        XCTAssertEqual(VenvSource.choose(roots: [], config: config, state: state), .config(path: "/etc/x", roots: ["/c"]))
        XCTAssertEqual(VenvSource.choose(roots: [], config: FleetConfig(), state: state), .healthLogs(["/v/one", "/v/two"]))
    }
}
