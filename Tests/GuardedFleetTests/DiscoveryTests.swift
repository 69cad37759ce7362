import GuardedCore
import GuardedFleet
import GuardedSystem
import TestSupport
import XCTest

/// Discovery on real directory trees. A venv here is a directory with a pyvenv.cfg: discovery looks
/// no further (the checks themselves run against real venvs in the end-to-end tests).
final class DiscoveryTests: XCTestCase {
    var tmp: TemporaryDirectory!
    override func setUpWithError() throws { tmp = try TemporaryDirectory("discovery") }
    override func tearDown() { tmp.remove() }

    func venv(_ relative: String) throws { try tmp.write(relative + "/pyvenv.cfg", "home = /usr/bin\n") }

    func testFindsVenvsSkipsNoiseAndNeverDescendsLinks() throws {
        try venv("root/agents/mail/.venv")
        try venv("root/agents/cal/venv")
        try venv("root/venvs/shared")
        try venv("root/venvs/shared/lib/inner")           // inside a venv: not searched
        try venv("root/project/.git/hooks/venv")           // skipped: .git
        try venv("root/web/node_modules/pkg/venv")         // skipped: node_modules
        try venv("root/x/__pycache__/venv")                // skipped: __pycache__
        try venv("outside/elsewhere")                      // only reachable through a link to a directory
        try makeSymbolicLink(tmp.file("root/link-to-outside"), pointingTo: tmp.file("outside"))
        try makeSymbolicLink(tmp.file("root/loop"), pointingTo: tmp.file("root"))
        try makeSymbolicLink(tmp.file("root/agents/self"), pointingTo: ".")
        try makeSymbolicLink(tmp.file("root/dangling"), pointingTo: tmp.file("nowhere"))

        let found = VenvDiscovery.discover(roots: [tmp.file("root")], state: nil)
        XCTAssertEqual(found.venvs, [tmp.file("root/agents/cal/venv"), tmp.file("root/agents/mail/.venv"),
                                     tmp.file("root/venvs/shared")])
        XCTAssertEqual(found.unreadable, [])
    }

    func testGenerationLinkIsOneVenvUnderTheLinkPath() throws {
        // The repair layout: <venv> -> <venv>.generations/<N>, older generations kept beside.
        try venv("root/mail.generations/1")
        try venv("root/mail.generations/2")
        try makeSymbolicLink(tmp.file("root/mail"), pointingTo: "mail.generations/2")
        let found = VenvDiscovery.discover(roots: [tmp.file("root")], state: nil)
        XCTAssertEqual(found.venvs, [tmp.file("root/mail")])
    }

    func testAVenvReachedTwiceIsReportedOnceUnderItsRealPath() throws {
        try venv("root/b-real")
        try makeSymbolicLink(tmp.file("root/a-link"), pointingTo: tmp.file("root/b-real"))
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("root")], state: nil).venvs, [tmp.file("root/b-real")])
        // The same venv named by two roots, too.
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("root/b-real"), tmp.file("root")], state: nil).venvs,
                       [tmp.file("root/b-real")])
    }

    func testARootThatIsAVenvOrALinkToOne() throws {
        try venv("v")
        try makeSymbolicLink(tmp.file("v-link"), pointingTo: tmp.file("v"))
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("v")], state: nil).venvs, [tmp.file("v")])
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("v-link") + "/"], state: nil).venvs, [tmp.file("v-link")])
    }

    func testUnreadableRootsAreReportedNotFatal() throws {
        try venv("root/ok")
        try tmp.write("a-file", "x")
        let found = VenvDiscovery.discover(roots: [tmp.file("missing"), tmp.file("a-file"), tmp.file("root")], state: nil)
        XCTAssertEqual(found.venvs, [tmp.file("root/ok")])
        XCTAssertEqual(found.unreadable, [
            UnreadablePath(path: tmp.file("missing"), error: "No such file or directory"),
            UnreadablePath(path: tmp.file("a-file"), error: "Not a directory"),
        ])
    }

    func testUnreadableDirectoryInsideARootIsReported() throws {
        try XCTSkipIf(geteuid() == 0, "root reads every directory whatever its mode")
        try venv("root/ok")
        try makeDirectories(tmp.file("root/locked/inner"))
        chmod(tmp.file("root/locked"), 0)
        defer { chmod(tmp.file("root/locked"), 0o700) }
        let found = VenvDiscovery.discover(roots: [tmp.file("root")], state: nil)
        XCTAssertEqual(found.venvs, [tmp.file("root/ok")])
        XCTAssertEqual(found.unreadable, [UnreadablePath(path: tmp.file("root/locked"), error: "Permission denied")])
    }

    func testAVenvThatLostItsPyvenvCfgIsFoundWhenCheckedBefore() throws {
        try makeDirectories(tmp.file("root/lost/bin"))
        try makeDirectories(tmp.file("root/never-seen/bin"))
        let state = StateDirectory(path: tmp.file("state"))
        try state.prepare("venvs", StateDirectory.key(for: tmp.file("root/lost")))
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("root")], state: state).venvs, [tmp.file("root/lost")])
        XCTAssertEqual(VenvDiscovery.discover(roots: [tmp.file("root")], state: nil).venvs, [])
    }
}
