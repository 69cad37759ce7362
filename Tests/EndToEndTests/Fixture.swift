import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// A real venv (made by `python -m venv`), a tiny agent that leaves a marker when it runs, and a
/// private state directory, all in one temp dir.
final class AgentFixture {
    let tmp: TemporaryDirectory
    let venv: String
    let state: String
    let marker: String
    let agentScript: String
    let agent = "demo"

    init(withPip: Bool = false, python: String = testPython) throws {
        tmp = try TemporaryDirectory("e2e")
        venv = tmp.file("agent/.venv")
        state = tmp.file("state")
        marker = tmp.file("agent-ran")
        agentScript = tmp.file("agent/agent.py")
        try makeDirectories(tmp.file("agent"))
        makeVenv(venv, python: python, withPip: withPip)
        try tmp.write("agent/agent.py", """
            import os, sys
            open(\(JSONValue.quoted(marker)), "a").write("ran %d\\n" % os.getpid())
            for m in sys.argv[1:]:
                if m.startswith("import:"):
                    __import__(m[7:])
            print("agent ok")
            """)
    }

    var sitePackages: String { venv + "/lib/python\(testPythonVersion)/site-packages" }
    var python: String { venv + "/bin/python" }

    /// Runs `guarded-run [options] -- <venv>/bin/python agent.py [agentArgs]`.
    @discardableResult
    func start(_ options: [String] = [], agentArgs: [String] = [], env: [String: String?] = [:],
               file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
        runGuarded(["--agent", agent, "--state-dir", state] + options + ["--", python, agentScript] + agentArgs,
                   environment: environment(env), file: file, line: line)
    }

    var agentRuns: Int {
        ((try? readTextFile(marker)) ?? "").split(separator: "\n").count
    }

    func records() -> [JSONValue] {
        HealthLog.read(state: StateDirectory(path: state), agent: agent).records
    }

    func lastRecord(file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        guard let r = records().last else { XCTFail("no health record", file: file, line: line); return .null }
        return r
    }

    func writeModule(_ name: String, _ source: String) throws {
        try tmp.write("agent/.venv/lib/python\(testPythonVersion)/site-packages/\(name).py", source)
    }

    func remove() { tmp.remove() }
}

extension JSONValue {
    var decision: String? { self["decision"]?.stringValue }
    var reasonList: [String] { self["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
}
