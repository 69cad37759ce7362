import GuardedCore
import GuardedSystem

/// The fleet's configuration file: `<state>/fleet.conf`, or the file `GUARDED_RUN_CONFIG` names.
///
/// ```
/// # one root per line; blank lines and lines starting with # are ignored
/// root = /srv/agents
/// root = /home/me/venvs
/// # the fleet's own configs: units, drop-ins, plists, MCP configs, or directories of them
/// config = /etc/systemd/system
/// config = /home/me/Library/Application Support/Claude/claude_desktop_config.json
/// # more state directories for root's status, metrics and venvs report; DIR/* is each one below DIR
/// state = /srv/mail/state
/// state = /var/lib/guarded-run-agents/*
/// ```
/// A line that is not `root = /absolute/path`, `config = /absolute/path` or `state = /absolute/path`
/// is reported (with its line number) and ignored: a typo must not stop the morning check.
public struct FleetConfig: Sendable, Equatable {
    public var roots: [String] = []
    /// `config =` lines: where `venvs --from-config` looks when none is given.
    public var configs: [String] = []
    /// `state =` lines, as written (`/*` kept).
    public var states: [String] = []
    /// `line N: <what is wrong>` for every line that was ignored.
    public var problems: [String] = []
    /// The file read, or nil when there was none.
    public var path: String?

    public init(roots: [String] = [], problems: [String] = [], path: String? = nil) {
        self.roots = roots
        self.problems = problems
        self.path = path
    }

    public init(text: String, path: String? = nil) {
        self.path = path
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            // Whole-line comments only: a `#` inside a path is part of the path.
            let line = raw.trimmedSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                problems.append("line \(number): expected 'root = /path'")
                continue
            }
            let key = line[..<eq].trimmedSpaces()
            let value = line[line.index(after: eq)...].trimmedSpaces()
            if key != "root" && key != "config" && key != "state" {
                problems.append("line \(number): unknown key '\(key)' (known: 'root', 'config', 'state')")
            } else if !value.hasPrefix("/") {
                problems.append("line \(number): \(key) must be an absolute path")
            } else if key == "state" {
                states.append(value.hasSuffix("/*") ? normalizedPath(String(value.dropLast(2))) + "/*" : normalizedPath(value))
            } else if key == "root" {
                roots.append(normalizedPath(value))
            } else {
                configs.append(normalizedPath(value))
            }
        }
    }

    /// The file `GUARDED_RUN_CONFIG` names, else `<state>/fleet.conf`.
    public static func path(state: StateDirectory?) -> String? {
        if let explicit = Environment.value("GUARDED_RUN_CONFIG"), !explicit.isEmpty {
            return absolutePath(explicit, relativeTo: currentDirectory())
        }
        return state.map { $0.path + "/fleet.conf" }
    }

    /// The configuration, or an empty one when the file is missing. A file that exists but cannot be
    /// read is a problem reported, not a crash.
    public static func load(state: StateDirectory?) -> FleetConfig {
        guard let path = path(state: state) else { return FleetConfig() }
        do {
            // The operator may keep the file elsewhere and link it; it is only read.
            return FleetConfig(text: try readTextFile(path, followSymlinks: true, limit: 1 << 20), path: path)
        } catch where error.errno == .noSuchFileOrDirectory {
            return FleetConfig()
        } catch {
            return FleetConfig(problems: ["\(error)"], path: path)
        }
    }
}

extension StateDirectory {
    /// Every state directory a fleet-wide reader (`status`, `metrics`, `log`, the `venvs` report)
    /// reads: this one; each `state =` line of fleet.conf (`DIR/*`: each directory below DIR); and,
    /// when this is root's default, each one below `StateDirectory.agentStatesRoot`, where `wrap`
    /// puts the agents that run as other users.
    /// Each is read as its owner's (files of that owner only), never written.
    public func fleet() -> [StateDirectory] {
        var patterns = FleetConfig.load(state: self).states
        if CurrentProcess.effectiveUserID == 0 && (source == .rootDefault || source == .home) { patterns.append(StateDirectory.agentStatesRoot + "/*") }
        var seen: Set<String> = [path]
        var out = [self]
        for pattern in patterns {
            var paths = [pattern]
            if pattern.hasSuffix("/*") {
                let dir = String(pattern.dropLast(2))
                paths = ((try? directoryEntries(dir)) ?? []).sorted().map { dir + "/" + $0 }
                    .filter { isDirectory($0) }
            }
            for p in paths where seen.insert(p).inserted { out.append(StateDirectory(path: p)) }
        }
        return out
    }
}

/// Where the venvs to check come from, in order of preference.
public enum VenvSource: Sendable, Equatable {
    /// `--root` on the command line.
    case roots([String])
    /// The config file's `root =` lines.
    case config(path: String, roots: [String])
    /// No roots anywhere: the venvs the agents' health logs name.
    case healthLogs([String])
}

extension VenvSource {
    /// `--root` options win, then the config file, then the venvs in the health logs.
    public static func choose(roots: [String], config: FleetConfig, state: StateDirectory?) -> VenvSource {
        if !roots.isEmpty { return .roots(roots) }
        if let path = config.path, !config.roots.isEmpty { return .config(path: path, roots: config.roots) }
        return .healthLogs(state.map(venvsInHealthLogs) ?? [])
    }

    /// The distinct venvs named in every agent's health log, sorted.
    public static func venvsInHealthLogs(state: StateDirectory) -> [String] {
        var venvs = Set<String>()
        for state in state.fleet() {
            for agent in HealthLog.agents(state: state) {
                for record in HealthLog.read(state: state, agent: agent).records {
                    if let v = record["venv"]?.stringValue, v.hasPrefix("/") { venvs.insert(v) }
                }
            }
        }
        return venvs.sorted()
    }

    /// The venvs to check (and the directories that could not be read on the way).
    public func discover(state: StateDirectory?) -> Discovery {
        switch self {
        case .roots(let roots), .config(_, let roots):
            return VenvDiscovery.discover(roots: roots, state: state)
        case .healthLogs(let venvs):
            var d = Discovery()
            d.venvs = venvs
            return d
        }
    }
}

extension Substring {
    func trimmedSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
