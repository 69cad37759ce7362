import GuardedSupervisor
import GuardedSystem
import TestSupport
import XCTest

/// `wrap systemd` gives a unit that runs as another user (User=, DynamicUser=) its own state
/// directory, which systemd creates for that user, and names it on the command line; units that
/// run as root keep root's default. The drop-ins pass the real `systemd-analyze verify`.
final class StateLayoutWrapTests: XCTestCase {
    var temp: TemporaryDirectory!
    override func setUpWithError() throws { temp = try TemporaryDirectory("statelayout") }
    override func tearDown() { temp.remove() }

    func wrap(_ name: String, _ service: String) throws -> String {
        try temp.write(name, "[Unit]\nDescription=test\n[Service]\n" + service + "ExecStart=/bin/true\n")
        guard case .write(let dropIn) = try SystemdWrap.plan(unitPath: temp.file(name), options: .init(guardedRun: "/bin/true")) else {
            XCTFail("not written"); return ""
        }
        let content = dropIn.content
        try makeDirectories(temp.file(name + ".d"))
        try temp.write(name + ".d/guarded-run.conf", content)
        let r = TestSupport.run("/usr/bin/systemd-analyze", ["verify", "--man=no", temp.file(name)])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        return content
    }

    func testUserUnitGetsItsOwnStateDirectory() throws {
        let text = try wrap("mail.service", "User=mail\n")
        XCTAssertTrue(text.contains("\nStateDirectory=guarded-run-agents/mail\n"), text)
        XCTAssertTrue(text.contains("--agent mail --state-dir /var/lib/guarded-run-agents/mail -- /bin/true"), text)
    }

    func testDynamicUserTemplateGetsOneDirectoryPerInstance() throws {
        let text = try wrap("worker@.service", "DynamicUser=yes\n")
        XCTAssertTrue(text.contains("\nStateDirectory=guarded-run-agents/worker@%i\n"), text)
        XCTAssertTrue(text.contains("--agent worker@%i --state-dir /var/lib/guarded-run-agents/worker@%i -- "), text)
    }

    func testRootUnitsKeepTheDefault() throws {
        for (name, service) in [("plain.service", ""), ("root.service", "User=root\n"), ("zero.service", "User=0\nDynamicUser=no\n")] {
            let text = try wrap(name, service)
            XCTAssertFalse(text.contains("StateDirectory="), name)
            XCTAssertFalse(text.contains("--state-dir"), name)
        }
    }
}
