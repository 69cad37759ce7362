// TEMPORARY: replaced by the repair branch at merge
// The repair module's public API as the fleet view codes against it; every call answers "not available".
import GuardedCore

public struct RepairOptions {
    public var requirements: String?
    public var python: String?
    public var findLinks: [String]
    public var imports: [String]

    public init(requirements: String? = nil, python: String? = nil, findLinks: [String] = [], imports: [String] = []) {
        self.requirements = requirements
        self.python = python
        self.findLinks = findLinks
        self.imports = imports
    }
}

public enum RepairOutcome {
    case repaired(summary: String, details: [(String, JSONValue)])
    case rolledBack(summary: String, details: [(String, JSONValue)])
    case failed(reasons: [String])
}

public struct Repairer {
    let state: StateDirectory

    public init(state: StateDirectory) { self.state = state }

    public func plan(venv: String, options: RepairOptions) -> [String] {
        ["repair is not available in this build"]
    }

    public func repair(venv: String, options: RepairOptions) -> RepairOutcome {
        .failed(reasons: ["repair is not available in this build"])
    }
}
