import GuardedCore
import GuardedSystem

/// One generation as `generations` lists it.
public struct GenerationInfo: Sendable {
    public var generation: Int
    public var path: String
    public var current: Bool
    public var record: GenerationRecord?

    public func json() -> JSONValue {
        var pairs: [(String, JSONValue)] = [("generation", .number(Double(generation))), ("path", .string(path)),
                                            ("current", .bool(current))]
        if let r = record {
            pairs += [("created", .string(r.created)), ("source", .string(r.source)), ("interpreter", .string(r.interpreter)),
                      ("python_version", .string(r.pythonVersion)), ("installer", .string(r.installer)),
                      ("packages", .number(Double(r.packages)))]
        }
        return .object(pairs)
    }
}

extension Repairer {
    /// The venv's layout and generations, newest first.
    public func generations(venv: String) -> (layout: String, generations: [GenerationInfo]) {
        let layout = GenerationLayout(venv: venv)
        let state = layout.state()
        let describe: String
        switch state {
        case .missing: describe = "missing"
        case .plain: describe = "plain"
        case .generation: describe = "generations"
        case .foreign(let what): describe = what
        }
        let current = layout.currentGeneration
        let list = layout.generations().sorted(by: >).map { n in
            GenerationInfo(generation: n, path: layout.path(of: n), current: n == current,
                           record: GenerationRecord.load(state: self.state, venv: venv, generation: n))
        }
        return (describe, list)
    }
}
