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
    /// How the agent starts (a launcher's start, `check --agent`): the `--import` checks mirror it
    /// and it is part of the cache key. nil for an ad-hoc check.
    public var context: AgentContext?
    /// Where the probe's import checks run (from `context`, or merged from several agents').
    public var start: AgentStart?
    public var checks: [CheckResult] = []
    public var distributions: [Distribution] = []
    public var pythonVersion: String?
    public var interpreter: InterpreterChain?
    public var home: String?
    /// Paths whose identity and times make up the fingerprint (when the check passes).
    public var watchPaths: [String] = []
    /// The installed files were verified against each RECORD (`check --deep`).
    public var deep = false
    /// Where the compiled probe may be kept (`ProbeCache`): the state directory, or nil.
    public var probeCache: StateDirectory? = nil
    /// The check could not finish for a reason that may pass (the probe timed out): exit 75, not 78.
    public var transient = false
    public var durationNanoseconds: Int64 = 0
    public var checkedAt: String = Clock.nowRFC3339()
    /// CLOCK_REALTIME (ns) when the check began: an entry whose times are later than this (less
    /// the timestamp granularity) may have changed under the probe, and is not cached.
    public var startedWallNs: Int64 = Clock.wallNanoseconds()
    /// The entries known before the probe ran, as lstat saw them just before it (absent when
    /// missing): they must be unchanged when the fingerprint is taken.
    public var baseline: [WatchEntry] = []
    /// What ran this check, for the known-good set's history: `launcher`, `check`, `repair`, `venvs check`.
    public var origin = "check"
    /// What `saveCache` did with the known-good set (nil: it did not get that far).
    public var knownGood: KnownGood.Outcome?
    /// A repair's verification, moved to the venv path after the swap: the venv path and
    /// everything below it were written only by that repair, under the venv's lock, since the check
    /// began (built in a private `.build-*`, renamed into place, the link swapped). Changes there
    /// are the repair's own, not someone else's the probe may have missed: they only need to be
    /// older than the timestamp granularity when the fingerprint is taken, not older than the
    /// check's start, so the live venv needs no second probe (docs/auto-repair.md).
    public var writtenByRepair = false

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
        // Every reason passes the redaction before it can reach a log, the cache or an output.
        checks.append(CheckResult(name: name, ok: ok, reason: ok ? "" : Redaction.apply(reason), severity: severity))
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
            ("deep", .bool(deep)),
            ("duration_ms", .number(Double(durationNanoseconds / 1_000_000))),
            ("checked", .string(checkedAt)),
            ("known_good", knownGoodJSON()),
        ])
    }

    /// Which known-good set a repair would use after this check, and whether this check recorded it.
    func knownGoodJSON() -> JSONValue {
        guard let outcome = knownGood else { return .null }
        return .object([("recorded", .bool(outcome.recorded)),
                        ("in_effect", outcome.inEffect.map { .object([("checked", .string($0.checkedAt)),
                                                                      ("recorded_by", .string($0.recordedBy)),
                                                                      ("imports", .array($0.imports.map { .string($0) })),
                                                                      ("packages", .number(Double($0.distributions.count)))]) } ?? .null),
                        ("note", .optional(outcome.note))])
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
    /// The launcher's refusal; its hint, `check --agent NAME`, checks as this start did (the
    /// agent's profile) and so reproduces the verdict. `stateDir`: the launcher's `--state-dir`.
    public func failClosedLine(agent: String, stateDir: String? = nil) -> String {
        let rs = reasons
        let hint = "\(programName) check --agent \(agent)" + (stateDir.map { " --state-dir \($0)" } ?? "")
        let more = rs.count > 1 ? " (+\(rs.count - 1) more; see \(hint))" : " (see \(hint))"
        return Diagnostics.line("venv \(venv) is broken: \(rs.first ?? "unknown")" + more, agent: agent)
    }

    // MARK: cache

    /// Why a passing check's fingerprint was not written.
    public enum CacheRefusal: Error, Sendable, Equatable {
        /// Broken or transient: there is nothing to cache.
        case notPassing
        /// A watched path is gone since the probe looked at it.
        case vanished(String)
        /// A watched entry changed while the check ran, or too close to its start to tell
        /// (`settledAtWallNs`: when that change will be older than the timestamp granularity).
        case changed(path: String, settledAtWallNs: Int64)

        /// For the health log: why this start was not cached.
        public var note: String? {
            switch self {
            case .notPassing: return nil
            case .vanished(let path): return "not cached: \(path) vanished during the check"
            case .changed(let path, _): return "not cached: \(path) changed during the check"
            }
        }
    }

    /// The fingerprint to cache: the watch list as lstat sees it now, plus the invalidation marker
    /// beside the venv (`BesideVenv`; recorded absent when there is none). Refused, so the next
    /// start checks again, unless every entry's ctime (and mtime, unless set into the future by
    /// hand) is older than the check's start less the filesystem's timestamp granularity, and the
    /// entries known before the probe are unchanged: stat'ing after the probe cannot tell a change
    /// the probe saw from one it missed, and only the probe knows some paths (import files, shared
    /// objects), so they have no "before".
    public func cacheableFingerprint() -> Result<Fingerprint, CacheRefusal> {
        guard status != .broken, !transient else { return .failure(.notPassing) }
        let now = Clock.wallNanoseconds()
        var before: [String: FileStatus] = [:]
        for entry in baseline where before[entry.path] == nil { before[entry.path] = entry.status }
        let marker = BesideVenv.shared(venv: venv).invalidationMarker
        var entries: [WatchEntry] = []
        var seen = Set<String>()
        var latest: (path: String, settles: Int64)? = nil
        func changed(_ path: String, settles: Int64) {
            if latest == nil || settles > latest!.settles { latest = (path, settles) }
        }
        // The repair's own changes (`writtenByRepair`): reported only when nothing else changed,
        // so that `FullCheck.cache` can wait them out without a probe.
        var latestOwn: (path: String, settles: Int64)? = nil
        for path in watchPaths + [marker] where seen.insert(path).inserted {
            let st: FileStatus
            if let present = fileStatusIfPresent(path) {
                st = present
            } else if path == marker {
                // Absent is recorded as such; a marker that cannot be looked at (EACCES) is not watched.
                guard pathIsAbsent(path) else { continue }
                st = .absent
            } else {
                return .failure(.vanished(path))
            }
            let margin = CheckReport.timestampGranularity(st)
            if writtenByRepair && isWrittenByRepair(path) {
                if !st.isAbsent, let settles = CheckReport.changeTime(st, since: now, now: now, margin: margin),
                   latestOwn == nil || settles > latestOwn!.settles {
                    latestOwn = (path, settles)
                }
                entries.append(WatchEntry(path: path, status: st))
                continue
            }
            if let old = before[path], old.isAbsent ? !st.isAbsent : !old.sameIdentityAndTimes(as: st) {
                changed(path, settles: now.addingReportingOverflow(margin).partialValue)
            }
            if !st.isAbsent, let settles = CheckReport.changeTime(st, since: startedWallNs, now: now, margin: margin) {
                changed(path, settles: settles)
            }
            entries.append(WatchEntry(path: path, status: st))
        }
        if let latest { return .failure(.changed(path: latest.path, settledAtWallNs: latest.settles)) }
        if let latestOwn { return .failure(.changed(path: latestOwn.path, settledAtWallNs: latestOwn.settles)) }
        var fingerprint = Fingerprint(venv: venv, imports: imports, status: status.rawValue, checkedAt: checkedAt,
                                      reasons: reasons, entries: CheckReport.withoutCoveredLinks(entries))
        fingerprint.context = context
        return .success(fingerprint)
    }

    /// The entries the launcher must lstat: all but a symbolic link whose own directory is watched
    /// (by the same path prefix, and a directory, not a link to one). A link's target cannot be
    /// changed in place; it can only be replaced (unlink and symlink, or rename over it), and that
    /// changes its directory's mtime and ctime, which that directory's entry already compares. Each
    /// lstat is about 2 µs of a cached start (docs/performance.md); a Debian venv has three such links.
    /// A timestamp-only change to the link itself (`touch -h`, `chown -h`) moves nothing it resolves to.
    static func withoutCoveredLinks(_ entries: [WatchEntry]) -> [WatchEntry] {
        let directories = Set(entries.lazy.filter { $0.status.isDirectory }.map(\.path))
        return entries.filter { entry in
            guard entry.status.isSymbolicLink, let slash = entry.path.lastIndex(of: "/"),
                  slash != entry.path.startIndex else { return true }
            return !directories.contains(String(entry.path[..<slash]))
        }
    }

    /// The venv path or a path below it: what a repair's swap put there (`writtenByRepair`).
    public func isWrittenByRepair(_ path: String) -> Bool {
        path == venv || path.hasPrefix(venv + "/")
    }

    /// How coarse this entry's timestamps may be. Linux stamps inodes from its coarse clock, up to
    /// one tick (10 ms at HZ=100) behind the clock the check's start was read from; filesystems
    /// with whole-second times (ext4 with 128-byte inodes, HFS+, FAT's 2 s) show a zero nanosecond
    /// part, and then 2 s plus that tick is assumed (FAT truncates a lagging stamp to 2-s steps).
    static func timestampGranularity(_ st: FileStatus) -> Int64 {
        st.mtimeNs % 1_000_000_000 == 0 && st.ctimeNs % 1_000_000_000 == 0 ? 2_020_000_000 : 20_000_000
    }

    /// When an entry changed at or after `start - margin` will be older than the margin; nil when
    /// it is older already. A mtime in the future was set by hand (touch -d): its ctime says when.
    static func changeTime(_ st: FileStatus, since start: Int64, now: Int64, margin: Int64) -> Int64? {
        let cutoff = start.subtractingReportingOverflow(margin).partialValue
        var newest: Int64? = nil
        if st.ctimeNs >= cutoff { newest = st.ctimeNs }
        if st.mtimeNs >= cutoff, st.mtimeNs <= now { newest = max(newest ?? st.mtimeNs, st.mtimeNs) }
        guard let newest else { return nil }
        let (settles, overflow) = newest.addingReportingOverflow(margin)
        return overflow ? Int64.max : settles
    }

    /// `cacheableFingerprint`, nil when refused.
    public func fingerprint() -> Fingerprint? {
        try? cacheableFingerprint().get()
    }

    /// Writes the fingerprint and the known-good set after a passing check whose watch list held
    /// still (`cacheableFingerprint`); returns why nothing was written otherwise. `FullCheck.cache`
    /// adds the bounded second check.
    @discardableResult
    public mutating func saveCache(state: StateDirectory) throws(SystemError) -> CacheRefusal? {
        let fp: Fingerprint
        switch cacheableFingerprint() {
        case .success(let f): fp = f
        case .failure(let refusal): return refusal
        }
        try fp.save(state: state)
        knownGood = try KnownGood.record(self, state: state)
        return nil
    }
}

/// What the last passing full check that covered every agent's imports saw: the interpreter and
/// the exact distributions. Repair rebuilds from it. Stored as `venvs/<key>/known-good.json`
/// (atomic, 0600), with the sets it replaced (`history`, newest first, `keptSets` in all).
public struct KnownGood: Sendable, Equatable {
    public var venv: String
    public var checkedAt: String
    public var pythonVersion: String
    public var interpreter: String
    public var home: String?
    public var distributions: [Distribution]
    /// What recorded it: `launcher`, `check`, `repair`, `venvs check`.
    public var recordedBy: String = ""
    /// The `--import` modules that check imported.
    public var imports: [String] = []
    /// The sets this one replaced, newest first (without their own history).
    public var history: [KnownGood] = []

    /// The current set and up to four it replaced.
    public static let keptSets = 5

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
        recordedBy = report.origin
        imports = Array(Set(report.imports)).sorted()
    }

    public static func path(state: StateDirectory, venv: String) -> String {
        state.venvDirectory(for: venv) + "/known-good.json"
    }

    /// `by launcher, --import a,b at <time>`: which set, for check --json and the repair plan.
    public var summary: String {
        "recorded at \(checkedAt) by \(recordedBy.isEmpty ? "an earlier version" : recordedBy)"
            + (imports.isEmpty ? " (no --import)" : " (--import \(imports.joined(separator: ",")))")
    }

    func entryJSON() -> [(String, JSONValue)] {
        [("venv", .string(venv)), ("checked", .string(checkedAt)), ("recorded_by", .string(recordedBy)),
         ("imports", .array(imports.map { .string($0) })), ("python_version", .string(pythonVersion)),
         ("interpreter", .string(interpreter)), ("home", .optional(home)),
         ("distributions", .array(distributions.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) }))]
    }

    public func json() -> JSONValue {
        .object(entryJSON() + [("history", .array(history.map { .object($0.entryJSON()) }))])
    }

    /// Durable (repair input: a power loss is when a venv is most likely half-written, and repair
    /// must then still find this set), so written only when the set changed: a check that saw the
    /// same set keeps the file, and `checked` stays when this set was first recorded.
    /// Returns whether it wrote.
    @discardableResult
    public func save(state: StateDirectory) throws(SystemError) -> Bool {
        if let old = KnownGood.load(state: state, venv: venv), old.isSameSet(as: self) { return false }
        try state.writeFile(["venvs", StateDirectory.key(for: venv)], "known-good.json", Array((json().serialized(pretty: true) + "\n").utf8))
        return true
    }

    /// What a passing check did with the known-good set: recorded it, or kept the one there.
    public struct Outcome: Sendable {
        public var recorded: Bool
        /// The set a repair would use now (nil: none recorded).
        public var inEffect: KnownGood?
        /// Why this check's set was not recorded.
        public var note: String?

        public init(recorded: Bool, inEffect: KnownGood?, note: String?) {
            self.recorded = recorded
            self.inEffect = inEffect
            self.note = note
        }
    }

    /// Records the report's set when the venv is healthy, unless the check missed a module some agent on this venv imports
    /// (the union of the profiles' `--import`s): a check with fewer imports never replaces the set
    /// (an agent's missing package would otherwise vanish from what repair rebuilds).
    static func record(_ report: CheckReport, state: StateDirectory) throws(SystemError) -> Outcome {
        let old = load(state: state, venv: report.venv)
        let covered = Set(report.imports)
        let missing = AgentProfile.importsUnion(state: state, venv: report.venv).filter { !covered.contains($0) }
        let what = old.map { "kept the known-good set \($0.summary)" } ?? "no known-good set recorded"
        if !missing.isEmpty {
            return Outcome(recorded: false, inEffect: old,
                           note: "\(what): this check did not import \(missing.joined(separator: ", ")), which an agent on this venv imports (check --agent NAME covers it)")
        }
        // A degraded venv (an interrupted install's leftovers, a dist-info without RECORD) runs,
        // but is not a set to rebuild from.
        if report.status != .healthy {
            return Outcome(recorded: false, inEffect: old, note: "\(what): this check found the venv \(report.status.rawValue)")
        }
        var new = KnownGood(report: report)
        if let old {
            var previous = old
            previous.history = []
            new.history = Array(([previous] + old.history.map { var h = $0; h.history = []; return h }).prefix(keptSets - 1))
        }
        // The same set as the file's is not rewritten (`save`): the file's, with its time, is in effect.
        let written = try new.save(state: state)
        return Outcome(recorded: true, inEffect: written ? new : old, note: nil)
    }

    /// The same interpreter, distributions and imports: everything but when and by what it was
    /// recorded, and the sets it replaced.
    func isSameSet(as other: KnownGood) -> Bool {
        var other = other
        other.checkedAt = checkedAt
        other.recordedBy = recordedBy
        other.history = history
        return self == other
    }

    /// Nil when missing or garbage.
    public static func load(state: StateDirectory, venv: String) -> KnownGood? {
        guard let bytes = state.readFile(["venvs", StateDirectory.key(for: venv)], "known-good.json", limit: 8 << 20),
              let json = JSONValue.parse(bytes: bytes), var current = entry(json) else { return nil }
        for h in (json["history"]?.arrayValue ?? []).prefix(keptSets - 1) {
            guard let old = entry(h) else { continue }
            current.history.append(old)
        }
        return current
    }

    static func entry(_ json: JSONValue) -> KnownGood? {
        guard let v = json["venv"]?.stringValue, let dists = json["distributions"]?.arrayValue else { return nil }
        var list: [Distribution] = []
        for d in dists {
            guard let n = d["name"]?.stringValue, let ver = d["version"]?.stringValue else { return nil }
            list.append(Distribution(name: n, version: ver))
        }
        var kg = KnownGood(venv: v, checkedAt: json["checked"]?.stringValue ?? "",
                           pythonVersion: json["python_version"]?.stringValue ?? "",
                           interpreter: json["interpreter"]?.stringValue ?? "",
                           home: json["home"]?.stringValue, distributions: list)
        kg.recordedBy = json["recorded_by"]?.stringValue ?? ""
        kg.imports = (json["imports"]?.arrayValue ?? []).compactMap(\.stringValue).filter(isValidModuleName)
        return kg
    }
}
