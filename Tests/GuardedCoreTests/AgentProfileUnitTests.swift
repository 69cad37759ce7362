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

    /// Only a healthy check that imported every profile's modules replaces the set; 5 are kept.
    func testKnownGoodNeedsCoveringHealthyCheckAndKeepsHistory() throws {
        let tmp = try TemporaryDirectory("knowngood")
        defer { tmp.remove() }
        let state = StateDirectory(path: tmp.file("state"))
        let context = AgentContext(workingDirectory: "/", pythonPath: nil, command: ["/v/bin/python", "-m", "agent"])
        try AgentProfile(agent: "a", venv: "/v", imports: ["attrs"], requirements: nil, findLinks: [], python: nil,
                         giveUpAfter: nil, context: context).record(state: state)
        func report(_ n: Int, imports: [String], degraded: Bool = false) -> CheckReport {
            var r = CheckReport(venv: "/v", imports: imports)
            r.checkedAt = "2026-01-0\(n)T00:00:00Z"
            r.distributions = [Distribution(name: "attrs", version: "\(n).0")]
            r.add("ssl", ok: true)
            if degraded { r.add("install-leftovers", ok: false, "install-leftovers: x", severity: .degraded) }
            return r
        }
        XCTAssertTrue(try KnownGood.record(report(1, imports: ["attrs"]), state: state).recorded)
        let smaller = try KnownGood.record(report(2, imports: []), state: state)
        XCTAssertFalse(smaller.recorded)
        XCTAssertEqual(smaller.inEffect?.checkedAt, "2026-01-01T00:00:00Z")
        XCTAssertTrue(smaller.note?.contains("did not import attrs") == true, smaller.note ?? "")
        XCTAssertFalse(try KnownGood.record(report(3, imports: ["attrs"], degraded: true), state: state).recorded)
        XCTAssertEqual(KnownGood.load(state: state, venv: "/v")?.checkedAt, "2026-01-01T00:00:00Z")
        for n in 4...9 { XCTAssertTrue(try KnownGood.record(report(n, imports: ["attrs", "more"]), state: state).recorded) }
        let kept = try XCTUnwrap(KnownGood.load(state: state, venv: "/v"))
        XCTAssertEqual(kept.checkedAt, "2026-01-09T00:00:00Z")
        XCTAssertEqual(kept.recordedBy, "check")
        XCTAssertEqual(kept.imports, ["attrs", "more"])
        XCTAssertEqual(kept.history.map(\.checkedAt), (5...8).reversed().map { "2026-01-0\($0)T00:00:00Z" })
    }
}
