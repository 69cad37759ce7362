import GuardedCore
import GuardedSystem

/// What `generations` prints (docs/generations.md): the venv's layout and its generations, newest
/// first, the current one marked.
public struct GenerationsReport: Sendable {
    public var venv: String
    public var layout: String
    public var generations: [GenerationInfo]

    public init(venv: String, layout: String, generations: [GenerationInfo]) {
        self.venv = venv
        self.layout = layout
        self.generations = generations
    }

    public var current: GenerationInfo? { generations.first(where: \.current) }

    public func table() -> String {
        var lines = ["venv \(venv): " + (layout == "generations" ? "generations in \(venv).generations" : "layout: \(layout)")]
        for g in generations {
            var line = (g.current ? "* " : "  ") + String(g.generation).padded(to: 4)
            if let r = g.record {
                line += r.created.padded(to: 28) + r.source
                if !r.pythonVersion.isEmpty { line += ", Python \(r.pythonVersion)" }
                if !r.installer.isEmpty { line += ", \(r.installer)" }
                line += ", \(r.packages) packages"
            }
            lines.append(line)
        }
        if generations.isEmpty { lines.append("  (no generations: never repaired)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() -> JSONValue {
        .object([("venv", .string(venv)), ("layout", .string(layout)),
                 ("current", .integerOrNull(current?.generation)),
                 ("generations", .array(generations.map { $0.json() }))])
    }
}

extension Repairer {
    /// The venv's generations as `generations` prints them.
    public func generationsReport(venv: String) -> GenerationsReport {
        let listing = generations(venv: venv)
        return GenerationsReport(venv: venv, layout: listing.layout, generations: listing.generations)
    }
}
