import GuardedCore
import GuardedFleet
import GuardedSystem
import TestSupport
import XCTest

/// `venvs`' choice of where to look, on real directories and a real fleet.conf.
final class FleetSurveyTests: XCTestCase {
    func testTheCommandLineWinsThenFleetConfThenTheHealthLogs() throws {
        let tmp = try TemporaryDirectory("survey")
        defer { tmp.remove() }
        let state = StateDirectory(path: tmp.file("state"))
        try tmp.write("roots/a/pyvenv.cfg", "home = /usr/bin\n")
        try tmp.write("conf-roots/b/pyvenv.cfg", "home = /usr/bin\n")
        try tmp.write("state/fleet.conf", "root = \(tmp.file("conf-roots"))\nconfig = /etc/units\nbad line\n")

        // --root: that root only; fleet.conf's configs are not read then.
        let given = FleetSurvey(roots: [tmp.file("roots")], configPaths: [], state: state)
        XCTAssertEqual(given.discovery.venvs, [tmp.file("roots/a")])
        XCTAssertEqual(given.configPaths, [])
        XCTAssertEqual(given.warnings, ["\(tmp.file("state/fleet.conf")): line 3: expected 'root = /path'"])

        // Neither: fleet.conf's roots and its configs.
        let fromConf = FleetSurvey(roots: [], configPaths: [], state: state)
        XCTAssertEqual(fromConf.discovery.venvs, [tmp.file("conf-roots/b")])
        XCTAssertEqual(fromConf.configPaths, ["/etc/units"])

        // --from-config alone: the configs name the fleet, no walk; their venvs join once each.
        var configsOnly = FleetSurvey(roots: [], configPaths: ["/x.service"], state: state)
        XCTAssertEqual(configsOnly.discovery.venvs, [])
        XCTAssertEqual(configsOnly.nothingFound(state: state), "the configs start no venv")
        configsOnly.add(["/v/one", "/v/one", "/v/two"])
        XCTAssertEqual(configsOnly.discovery.venvs, ["/v/one", "/v/two"])
        XCTAssertNil(configsOnly.nothingFound(state: state))

        // Nothing anywhere: the health logs, and an empty list says where it looked.
        let bare = StateDirectory(path: tmp.file("bare"))
        let none = FleetSurvey(roots: [], configPaths: [], state: bare)
        XCTAssertEqual(none.source, .healthLogs([]))
        XCTAssertEqual(none.nothingFound(state: bare), "no venvs to check: no --root, no roots in \(tmp.file("bare/fleet.conf")), and no venv in the health logs")
        XCTAssertEqual(FleetSurvey(roots: [tmp.file("empty-root")], configPaths: [], state: bare).warnings.count, 1,
                       "a root that is not there is one warning")
    }
}
