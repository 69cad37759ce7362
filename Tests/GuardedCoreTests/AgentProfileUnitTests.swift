@testable import GuardedCheck
@testable import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// Where the probe looks for the agent's modules (`AgentStart`), and profiles read back from garbage.
final class AgentProfileUnitTests: XCTestCase {
    func start(_ command: [String], pythonPath: String? = nil, cwd: String = "/srv/mail") -> AgentStart {
        AgentStart(AgentContext(workingDirectory: cwd, pythonPath: pythonPath, command: command))
    }

    func testSearchPathHeadMirrorsHowCommandStartsPython() throws {
        let tmp = try TemporaryDirectory("agentstart")
        defer { tmp.remove() }
        try tmp.write("proj/run.py", "")
        try tmp.write("venv/bin/agent", "#!/usr/bin/env python3\n")
        try makeSymbolicLink(tmp.file("link.py"), pointingTo: tmp.file("proj/run.py"))
        let py = tmp.file("venv/bin/python")
        XCTAssertEqual(start([py, "-m", "mail_agent"]).pathHead, ["/srv/mail"])
        XCTAssertEqual(start([py, "-u", "-X", "dev", "-W", "ignore", "-m", "mail_agent"]).pathHead, ["/srv/mail"])
        XCTAssertEqual(start([py, "-c", "pass"]).pathHead, ["/srv/mail"])
        XCTAssertEqual(start([py, tmp.file("proj/run.py")]).pathHead, [tmp.file("proj")])
        XCTAssertEqual(start([py, "run.py"], cwd: tmp.file("proj")).pathHead, [tmp.file("proj")])
        XCTAssertEqual(start([py, tmp.file("link.py")]).pathHead, [tmp.file("proj")], "the script's link is resolved, as Python does")
        XCTAssertEqual(start([tmp.file("venv/bin/agent")]).pathHead, [tmp.file("venv/bin")])
        XCTAssertEqual(start([py, "-P", "-m", "m"]).pathHead, [])
        XCTAssertEqual(start([py, "-Im", "m"], pythonPath: "/x").pathHead, [], "-I: no cwd, no PYTHONPATH")
        XCTAssertEqual(start([py, "-E", "-m", "m"], pythonPath: "/x").pathHead, ["/srv/mail"])
        XCTAssertEqual(start([py, "-m", "m"], pythonPath: "/x::lib").pathHead, ["/srv/mail", "/x", "/srv/mail/lib"])
        XCTAssertEqual(start([]).pathHead, [])
        XCTAssertEqual(start([py, "-m", "m"]).workingDirectory, "/srv/mail")
        let merged = AgentStart.merged([start([py, "-m", "a"], cwd: "/a"), start([py, "-m", "b"], cwd: "/b"), start([py, "-m", "a"], cwd: "/a")])
        XCTAssertEqual(merged?.workingDirectory, "/a")
        XCTAssertEqual(merged?.pathHead, ["/a", "/b"])
        XCTAssertNil(AgentStart.merged([]))
    }

    func testProfileRoundTripsAndGarbageReadsAsNone() {
        let context = AgentContext(workingDirectory: "/srv/mail", pythonPath: "/x", command: ["/v/bin/python", "-m", "mail_agent"])
        let profile = AgentProfile(agent: "mail", venv: "/v", imports: ["b", "a", "b"], requirements: "/r.txt", findLinks: ["/w"],
                                   python: nil, giveUpAfter: 3, context: context, updated: "2026-01-01T00:00:00Z")
        XCTAssertEqual(profile.imports, ["a", "b"])
        XCTAssertEqual(AgentProfile.decode(Array(profile.json().serialized().utf8)), profile)
        var later = profile
        later.updated = "2027-01-01T00:00:00Z"
        XCTAssertTrue(later.sameOptions(as: profile))
        later.context.workingDirectory = "/elsewhere"
        XCTAssertFalse(later.sameOptions(as: profile))
        for garbage in ["", "[]", "{}", "{\"agent\":\"mail\"}", String(repeating: "[", count: 100_000),
                        profile.json().serialized().replacingOccurrences(of: "\"mail\"", with: "\"../x\""),
                        profile.json().serialized().replacingOccurrences(of: "\"a\"", with: "\"a;rm\""),
                        profile.json().serialized().replacingOccurrences(of: "\"give_up_after\":3", with: "\"give_up_after\":1e300"),
                        profile.json().serialized().replacingOccurrences(of: "\"/srv/mail\"", with: "\"relative\"")] {
            XCTAssertNil(AgentProfile.decode(Array(garbage.utf8)), garbage.prefix(80).description)
        }
    }
}
