import GuardedCore
import GuardedSystem

/// One named check with its verdict.
public struct CheckResult: Sendable, Equatable {
    public enum Severity: String, Sendable { case broken, degraded }
    public var name: String
    public var ok: Bool
    public var reason: String
    public var severity: Severity

    public init(name: String, ok: Bool, reason: String = "", severity: Severity = .broken) {
        self.name = name
        self.ok = ok
        self.reason = reason
        self.severity = severity
    }
}

/// An installed distribution: part of the known-good set that repair rebuilds from.
public struct Distribution: Sendable, Equatable, Hashable {
    public var name: String
    public var version: String
    public init(name: String, version: String) { self.name = name; self.version = version }
}

/// The outcome of one full check of one venv.
public struct CheckReport: Sendable {
    public enum Status: String, Sendable { case healthy, degraded, broken }

    public var venv: String
    public var imports: [String]
    public var checks: [CheckResult] = []
    public var distributions: [Distribution] = []
    public var pythonVersion: String?
    public var interpreter: InterpreterChain?
    public var home: String?
    /// Paths whose identity and times make up the fingerprint (when the check passes).
    public var watchPaths: [String] = []
    /// The check could not finish for a reason that may pass (the probe timed out): exit 75, not 78.
    public var transient = false
    public var durationNanoseconds: Int64 = 0
    public var checkedAt: String = Clock.nowRFC3339()

    public init(venv: String, imports: [String]) {
        self.venv = venv
        self.imports = imports
    }

    public var status: Status {
        if checks.contains(where: { !$0.ok && $0.severity == .broken }) { return .broken }
        if checks.contains(where: { !$0.ok }) { return .degraded }
        return .healthy
    }

    /// Failed checks' reasons, broken ones first.
    public var reasons: [String] {
        checks.filter { !$0.ok && $0.severity == .broken }.map(\.reason)
            + checks.filter { !$0.ok && $0.severity == .degraded }.map(\.reason)
    }

    mutating func add(_ name: String, ok: Bool, _ reason: String = "", severity: CheckResult.Severity = .broken) {
        checks.append(CheckResult(name: name, ok: ok, reason: ok ? "" : reason, severity: severity))
    }

    // MARK: outputs

    /// `check --json` (docs/check.md), plus the known-good set and timing.
    public func json() -> JSONValue {
        .object([
            ("venv", .string(venv)),
            ("healthy", .bool(status == .healthy)),
            ("status", .string(status.rawValue)),
            ("checks", .array(checks.map { c in
                .object([("name", .string(c.name)), ("ok", .bool(c.ok)), ("reason", c.ok ? .null : .string(c.reason)),
                         ("severity", .string(c.severity.rawValue))])
            })),
            ("reasons", JSONValue(reasons)),
            ("python_version", .optional(pythonVersion)),
            ("interpreter", .optional(interpreter?.target)),
            ("distributions", .array(distributions.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })),
            ("transient", .bool(transient)),
            ("duration_ms", .number(Double(durationNanoseconds / 1_000_000))),
            ("checked", .string(checkedAt)),
        ])
    }

    /// The human table: one line per check, then the verdict.
    public func table() -> String {
        var lines = ["venv \(venv): \(status.rawValue)" + (pythonVersion.map { " (Python \($0))" } ?? "")]
        for c in checks {
            let mark = c.ok ? "ok  " : (c.severity == .broken ? "FAIL" : "WARN")
            lines.append("  \(mark)  \(c.name)" + (c.ok ? "" : ": \(c.reason)"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The one-line refusal the launcher prints when it fails closed.
    public func failClosedLine(agent: String) -> String {
        let rs = reasons
        let more = rs.count > 1 ? " (+\(rs.count - 1) more; see \(programName) check --venv \(venv))" : " (see \(programName) check --venv \(venv))"
        return "\(programName): \(agent): venv \(venv) is broken: \(rs.first ?? "unknown")" + more
    }

    // MARK: cache

    /// The fingerprint to cache: the watch list as lstat sees it now. Nil when the check failed or a
    /// watched path vanished meanwhile (then nothing is cached and the next start checks again).
    public func fingerprint() -> Fingerprint? {
        guard status != .broken, !transient else { return nil }
        var entries: [WatchEntry] = []
        var seen = Set<String>()
        for path in watchPaths where seen.insert(path).inserted {
            guard let st = fileStatusIfPresent(path) else { return nil }
            entries.append(WatchEntry(path: path, status: st))
        }
        return Fingerprint(venv: venv, imports: imports, status: status.rawValue, checkedAt: checkedAt,
                           reasons: reasons, entries: entries)
    }

    /// Writes the fingerprint and the known-good set after a passing check; no-op otherwise.
    public func saveCache(state: StateDirectory) throws(SystemError) {
        guard let fp = fingerprint() else { return }
        try fp.save(state: state)
        try KnownGood(report: self).save(state: state)
    }
}

/// What the last passing full check saw: the interpreter and the exact distributions. Repair
/// rebuilds from it. Stored as `venvs/<key>/known-good.json` (atomic, 0600).
public struct KnownGood: Sendable, Equatable {
    public var venv: String
    public var checkedAt: String
    public var pythonVersion: String
    public var interpreter: String
    public var home: String?
    public var distributions: [Distribution]

    public init(venv: String, checkedAt: String, pythonVersion: String, interpreter: String, home: String?, distributions: [Distribution]) {
        self.venv = venv
        self.checkedAt = checkedAt
        self.pythonVersion = pythonVersion
        self.interpreter = interpreter
        self.home = home
        self.distributions = distributions
    }

    init(report: CheckReport) {
        self.init(venv: report.venv, checkedAt: report.checkedAt, pythonVersion: report.pythonVersion ?? "",
                  interpreter: report.interpreter?.target ?? "", home: report.home,
                  distributions: report.distributions)
    }

    public static func path(state: StateDirectory, venv: String) -> String {
        state.venvDirectory(for: venv) + "/known-good.json"
    }

    public func json() -> JSONValue {
        .object([
            ("venv", .string(venv)), ("checked", .string(checkedAt)), ("python_version", .string(pythonVersion)),
            ("interpreter", .string(interpreter)), ("home", .optional(home)),
            ("distributions", .array(distributions.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })),
        ])
    }

    public func save(state: StateDirectory) throws(SystemError) {
        try state.prepare("venvs", StateDirectory.key(for: venv))
        try writeFileAtomically(KnownGood.path(state: state, venv: venv), json().serialized(pretty: true) + "\n")
    }

    /// Nil when missing or garbage.
    public static func load(state: StateDirectory, venv: String) -> KnownGood? {
        guard let bytes = try? readFile(path(state: state, venv: venv), limit: 8 << 20),
              let json = JSONValue.parse(bytes: bytes),
              let v = json["venv"]?.stringValue, let dists = json["distributions"]?.arrayValue else { return nil }
        var list: [Distribution] = []
        for d in dists {
            guard let n = d["name"]?.stringValue, let ver = d["version"]?.stringValue else { return nil }
            list.append(Distribution(name: n, version: ver))
        }
        return KnownGood(venv: v, checkedAt: json["checked"]?.stringValue ?? "",
                         pythonVersion: json["python_version"]?.stringValue ?? "",
                         interpreter: json["interpreter"]?.stringValue ?? "",
                         home: json["home"]?.stringValue, distributions: list)
    }
}
