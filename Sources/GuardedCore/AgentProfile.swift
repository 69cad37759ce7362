import GuardedSystem

/// An agent's effective launcher options, recorded by the launcher's slow path in
/// `agents/<agent>/profile.json` (atomic, 0600), so `check`, `repair`, `rollback`, `generations`
/// and `venvs` can act as the launcher would (`--agent NAME`). Rewritten only when something but
/// `updated` changes. It holds the agent's working directory, PYTHONPATH and argv: a state file,
/// never printed in a log line, reason or message.
public struct AgentProfile: Sendable, Equatable {
    public var agent: String
    public var venv: String
    public var imports: [String]
    public var requirements: String?
    public var findLinks: [String]
    public var python: String?
    public var giveUpAfter: Int?
    public var context: AgentContext
    /// When the launcher last wrote it (RFC 3339); not compared.
    public var updated: String

    public static let fileName = "profile.json"
    /// Bounds on what is read back: a profile is a few hundred bytes.
    static let sizeLimit = 1 << 20
    static let listLimit = 4096

    public init(agent: String, venv: String, imports: [String], requirements: String?, findLinks: [String], python: String?,
                giveUpAfter: Int?, context: AgentContext, updated: String = Clock.nowRFC3339()) {
        self.agent = agent
        self.venv = venv
        self.imports = Array(Set(imports)).sorted()
        self.requirements = requirements
        self.findLinks = findLinks
        self.python = python
        self.giveUpAfter = giveUpAfter
        self.context = context
        self.updated = updated
    }

    /// The launcher's start as a profile: relative paths made absolute against its working directory.
    public init(agent: String, venv: String, request: LaunchRequest, context: AgentContext) {
        let cwd = context.workingDirectory
        func absolute(_ p: String) -> String { normalizedPath(absolutePath(p, relativeTo: cwd)) }
        self.init(agent: agent, venv: venv, imports: request.imports, requirements: request.requirements.map(absolute),
                  findLinks: request.findLinks.map(absolute), python: request.python.map(absolute),
                  giveUpAfter: request.giveUpAfter, context: context)
    }

    /// Equal in everything the launcher decides from (all but `updated`).
    public func sameOptions(as other: AgentProfile) -> Bool {
        var a = self
        a.updated = other.updated
        return a == other
    }

    public func json() -> JSONValue {
        .object([
            ("agent", .string(agent)), ("venv", .string(venv)),
            ("imports", .array(imports.map { .string($0) })),
            ("requirements", .optional(requirements)),
            ("find_links", .array(findLinks.map { .string($0) })),
            ("python", .optional(python)),
            ("working_directory", .string(context.workingDirectory)),
            ("pythonpath", .optional(context.pythonPath)),
            ("command", .array(context.command.map { .string($0) })),
            ("give_up_after", giveUpAfter.map { .number(Double($0)) } ?? .null),
            ("updated", .string(updated)),
        ])
    }

    /// Nil for anything that is not a profile as `json()` writes it (a wrong type, a module name
    /// or agent name that does not pass the launcher's own rules, a relative path, oversized lists).
    public static func decode(_ bytes: [UInt8]) -> AgentProfile? {
        guard let json = JSONValue.parse(bytes: bytes),
              let agent = json["agent"]?.stringValue, isValidAgentName(agent),
              let venv = json["venv"]?.stringValue, venv.hasPrefix("/"),
              let cwd = json["working_directory"]?.stringValue, cwd.hasPrefix("/"),
              let imports = strings(json["imports"]), imports.allSatisfy(isValidModuleName),
              let findLinks = strings(json["find_links"]),
              let command = strings(json["command"]), !command.isEmpty else { return nil }
        func optionalString(_ key: String) -> String?? {
            guard let v = json[key] else { return .some(nil) }
            if v == .null { return .some(nil) }
            return v.stringValue.map { .some($0) }
        }
        guard let requirements = optionalString("requirements"), let python = optionalString("python"),
              let pythonPath = optionalString("pythonpath") else { return nil }
        var giveUp: Int? = nil
        if let v = json["give_up_after"], v != .null {
            guard let n = v.intValue, n >= 1, n < 1_000_000_000 else { return nil }
            giveUp = n
        }
        return AgentProfile(agent: agent, venv: venv, imports: imports, requirements: requirements, findLinks: findLinks,
                            python: python, giveUpAfter: giveUp,
                            context: AgentContext(workingDirectory: cwd, pythonPath: pythonPath, command: command),
                            updated: json["updated"]?.stringValue ?? "")
    }

    static func strings(_ value: JSONValue?) -> [String]? {
        guard let items = value?.arrayValue, items.count <= listLimit else { return nil }
        var out: [String] = []
        for item in items {
            guard let s = item.stringValue else { return nil }
            out.append(s)
        }
        return out
    }

    /// The recorded profile of `agent`, nil when there is none (or it is garbage, a link, not ours).
    public static func load(state: StateDirectory, agent: String) -> AgentProfile? {
        guard isValidAgentName(agent),
              let bytes = state.readFile(["agents", agent], fileName, limit: sizeLimit, owner: state.owner) else { return nil }
        return decode(bytes)
    }

    /// Writes the profile unless the recorded one already says the same; true when it wrote.
    @discardableResult
    public func record(state: StateDirectory) throws(SystemError) -> Bool {
        if let old = AgentProfile.load(state: state, agent: agent), old.sameOptions(as: self) { return false }
        try state.writeFile(["agents", agent], AgentProfile.fileName, Array((json().serialized(pretty: true) + "\n").utf8))
        return true
    }

    /// Every readable profile in the state directory (agents whose directory holds one), by name.
    public static func all(state: StateDirectory) -> [AgentProfile] {
        HealthLog.agents(state: state).prefix(listLimit).compactMap { load(state: state, agent: $0) }
    }

    /// The union of the `--import` modules of every profile on `venv` (the known-good rule).
    public static func importsUnion(state: StateDirectory, venv: String) -> [String] {
        Array(Set(all(state: state).filter { $0.venv == venv }.flatMap(\.imports))).sorted()
    }
}
