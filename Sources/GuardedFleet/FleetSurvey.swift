import GuardedCheck
import GuardedCore
import GuardedSystem

/// What `venvs check|report|repair` looks at: where the venvs are looked for (the command line,
/// fleet.conf, else the health logs), what was found there, and the full check of each. The
/// command parses and prints; this decides, checks and records, and returns its warnings.
public struct FleetSurvey: Sendable {
    public let config: FleetConfig
    public let source: VenvSource
    /// Units, plists and MCP configs whose venvs join the walk's: `--from-config`, else (with no
    /// `--root` either) fleet.conf's `config =` lines. The caller resolves them (GuardedSupervisor
    /// reads them) and hands their venvs to `add`.
    public let configPaths: [String]
    public private(set) var discovery: Discovery

    /// `roots` and `configPaths` as the command line gave them; with neither, fleet.conf's.
    public init(roots: [String], configPaths given: [String], state: StateDirectory?) {
        config = FleetConfig.load(state: state)
        var roots = roots
        var configPaths = given
        if roots.isEmpty && given.isEmpty && !config.configs.isEmpty {
            roots = config.roots
            configPaths = config.configs
        }
        self.configPaths = configPaths
        // Configs alone name the fleet: no walk, and not the health logs' venvs either.
        source = configPaths.isEmpty || !roots.isEmpty ? VenvSource.choose(roots: roots, config: config, state: state) : .roots([])
        discovery = source.discover(state: state)
    }

    /// Venvs the configs start, after the walk's (each once).
    public mutating func add(_ venvs: [String]) {
        for v in venvs where !discovery.venvs.contains(v) { discovery.venvs.append(v) }
    }

    /// fleet.conf's problems, then the directories the walk could not read: one line each.
    public var warnings: [String] {
        config.problems.map { "\(config.path ?? "fleet.conf"): \($0)" }
            + discovery.unreadable.map { "cannot read \($0.path): \($0.error)" }
    }

    /// Why there is nothing to check, when there is nothing.
    public func nothingFound(state: StateDirectory?) -> String? {
        guard discovery.venvs.isEmpty else { return nil }
        if !configPaths.isEmpty { return "the configs start no venv" }
        if case .healthLogs = source {
            return "no venvs to check: no --root, no roots in \(FleetConfig.path(state: state) ?? "fleet.conf"), and no venv in the health logs"
        }
        return "no venvs found under the roots"
    }

    /// The full check of every venv found (`FleetCheck.run`), then, in `state`, the summary that
    /// `metrics` reads. The warnings: caches that could not be refreshed, a summary not recorded.
    public func check(state: StateDirectory?, workers: Int, deep: Bool,
                      progress: (@Sendable (Int, Int) -> Void)? = nil) -> (check: FleetCheck, warnings: [String]) {
        let check = FleetCheck.run(discovery, state: state, workers: workers, deep: deep, progress: progress)
        var warnings = check.entries.compactMap { e in e.cacheWarning.map { "\(e.venv): \($0)" } }
        if let state, !check.entries.isEmpty {
            do { try check.saveSummary(state: state) } catch { warnings.append("cannot record the check for metrics: \(error)") }
        }
        return (check, warnings)
    }
}
