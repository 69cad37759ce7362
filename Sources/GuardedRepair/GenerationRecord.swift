import GuardedCore
import GuardedSystem

/// What guarded-run knows about one generation: how it was made. Kept in the state directory
/// (`venvs/<key>/generations/<N>.json`, atomic, 0600), never inside the venv; a missing or damaged
/// record only means `generations` shows less.
public struct GenerationRecord: Sendable, Equatable {
    public var generation: Int
    public var created: String
    /// `adopted` (the original venv), `known-good`, `requirements <file>`.
    public var source: String
    public var interpreter: String
    public var pythonVersion: String
    public var installer: String
    public var packages: Int

    public init(generation: Int, created: String = Clock.nowRFC3339(), source: String, interpreter: String,
                pythonVersion: String, installer: String, packages: Int) {
        self.generation = generation
        self.created = created
        self.source = source
        self.interpreter = interpreter
        self.pythonVersion = pythonVersion
        self.installer = installer
        self.packages = packages
    }

    static func directory(state: StateDirectory, venv: String) -> String { state.venvDirectory(for: venv) + "/generations" }

    public func json() -> JSONValue {
        .object([
            ("generation", .number(Double(generation))), ("created", .string(created)), ("source", .string(source)),
            ("interpreter", .string(interpreter)), ("python_version", .string(pythonVersion)),
            ("installer", .string(installer)), ("packages", .number(Double(packages))),
        ])
    }

    public func save(state: StateDirectory, venv: String) throws(SystemError) {
        try state.writeFile(["venvs", StateDirectory.key(for: venv), "generations"], "\(generation).json",
                            Array((json().serialized(pretty: true) + "\n").utf8))
    }

    public static func load(state: StateDirectory, venv: String, generation: Int) -> GenerationRecord? {
        guard let bytes = state.readFile(["venvs", StateDirectory.key(for: venv), "generations"], "\(generation).json", limit: 1 << 16),
              let j = JSONValue.parse(bytes: bytes), j["generation"]?.intValue == generation else { return nil }
        return GenerationRecord(generation: generation, created: j["created"]?.stringValue ?? "",
                                source: j["source"]?.stringValue ?? "", interpreter: j["interpreter"]?.stringValue ?? "",
                                pythonVersion: j["python_version"]?.stringValue ?? "",
                                installer: j["installer"]?.stringValue ?? "", packages: j["packages"]?.intValue ?? 0)
    }

    static func remove(state: StateDirectory, venv: String, generation: Int) {
        try? state.removeFile(["venvs", StateDirectory.key(for: venv), "generations"], "\(generation).json")
    }
}
