import GuardedCheck
import GuardedCore
import GuardedSystem

/// One venv's full check as the fleet view saw it.
public struct FleetEntry: Sendable {
    public var report: CheckReport
    /// Why a passing check's cache could not be refreshed, when it could not.
    public var cacheWarning: String?

    public init(report: CheckReport, cacheWarning: String? = nil) {
        self.report = report
        self.cacheWarning = cacheWarning
    }

    public var venv: String { report.venv }
    public var status: CheckReport.Status { report.status }
}

/// `venvs check`: the full check of many venvs, in parallel, bounded by the core count.
public struct FleetCheck: Sendable {
    /// Worst first, then by path.
    public var entries: [FleetEntry]
    public var unreadable: [UnreadablePath]
    public var durationNanoseconds: Int64
    public var checkedAt: String

    public init(entries: [FleetEntry], unreadable: [UnreadablePath] = [], durationNanoseconds: Int64 = 0,
                checkedAt: String = Clock.nowRFC3339()) {
        self.entries = entries.sorted { a, b in
            let (ra, rb) = (FleetCheck.rank(a.status), FleetCheck.rank(b.status))
            return ra != rb ? ra < rb : a.venv < b.venv
        }
        self.unreadable = unreadable
        self.durationNanoseconds = durationNanoseconds
        self.checkedAt = checkedAt
    }

    static func rank(_ status: CheckReport.Status) -> Int {
        switch status {
        case .broken: return 0
        case .degraded: return 1
        case .healthy: return 2
        }
    }

    /// Checks every venv of `discovery` on up to `workers` threads, with the `--import` modules of
    /// the agent profiles on it (`AgentProfile`). A check that passes (healthy or
    /// degraded) refreshes that venv's fingerprint cache in `state`, as `guarded-run check` does.
    public static func run(_ discovery: Discovery, state: StateDirectory?, workers: Int = WorkerPool.processorCount,
                           deep: Bool = false, progress: (@Sendable (Int, Int) -> Void)? = nil) -> FleetCheck {
        let started = Clock.monotonicNanoseconds()
        // Each venv is checked with the imports of every agent profile on it, each looked for where
        // that agent would find it: the check that may record its known-good set (KnownGood.record).
        let profiles = state.map { $0.fleet().flatMap { AgentProfile.all(state: $0) } } ?? []
        let entries = WorkerPool.map(discovery.venvs, workers: workers, progress: progress) { venv -> FleetEntry in
            let using = profiles.filter { $0.venv == venv && !$0.imports.isEmpty }
            var report = FullCheck.run(venv: venv, imports: Array(Set(using.flatMap(\.imports))).sorted(),
                                       start: AgentStart.merged(using.map { AgentStart($0.context) }), deep: deep)
            report.origin = "venvs check"
            var warning: String? = nil
            if report.status != .broken, let state {
                // As `check` does: a venv that changed while it was checked (one made a moment ago)
                // is checked once more after the change settles, so its known-good set is recorded.
                let cached = FullCheck.cache(report, state: state)
                report = cached.report
                if let error = cached.error { warning = "cannot write the cache: \(error)" }
            }
            if let failed = report.invalidateCachedFingerprints() { warning = failed }
            return FleetEntry(report: report, cacheWarning: warning)
        }
        return FleetCheck(entries: entries, unreadable: discovery.unreadable,
                          durationNanoseconds: Clock.monotonicNanoseconds() - started)
    }

    public func count(_ status: CheckReport.Status) -> Int { entries.filter { $0.status == status }.count }
    public var broken: [FleetEntry] { entries.filter { $0.status == .broken } }
    public var degraded: [FleetEntry] { entries.filter { $0.status == .degraded } }

    /// 78 when a venv is broken, else 75 when a check could not finish (a probe timed out: try
    /// again), else 1 when one is degraded, else 0.
    public var exitCode: Int32 {
        if entries.contains(where: { $0.status == .broken && !$0.report.transient }) { return ExitCode.broken }
        if entries.contains(where: { $0.report.transient }) { return ExitCode.temporaryFailure }
        if entries.contains(where: { $0.status == .degraded }) { return ExitCode.degraded }
        return ExitCode.success
    }

    /// `20 venvs: 5 broken, 3 degraded, 12 healthy`
    public var summaryLine: String {
        let n = entries.count
        return "\(n) venv\(n == 1 ? "" : "s"): \(count(.broken)) broken, \(count(.degraded)) degraded, \(count(.healthy)) healthy"
    }

    // MARK: outputs

    /// The table, worst first: one row per venv, its reasons indented below it; then the summary.
    public func table() -> String {
        var out = "STATUS    VENV\n"
        for e in entries {
            out += e.status.rawValue.padded(to: 10) + e.venv + "\n"
            for reason in e.report.reasons { out += "          " + reason + "\n" }
        }
        for u in unreadable { out += "unreadable \(u.path): \(u.error)\n" }
        return out + summaryLine + "\n"
    }

    /// `{"venvs": [<check --json object>...], "unreadable": [...], "summary": {...}}` (docs/venvs.md).
    public func json() -> JSONValue {
        .object([
            ("venvs", .array(entries.map { $0.report.json() })),
            ("unreadable", .array(unreadable.map { .object([("path", .string($0.path)), ("error", .string($0.error))]) })),
            ("summary", summaryJSON()),
            ("checked", .string(checkedAt)),
            ("duration_ms", .number(Double(durationNanoseconds / 1_000_000))),
        ])
    }

    func summaryJSON() -> JSONValue {
        .object([("total", JSONValue(entries.count)), ("healthy", JSONValue(count(.healthy))),
                 ("degraded", JSONValue(count(.degraded))), ("broken", JSONValue(count(.broken)))])
    }

    // MARK: the last fleet check, for metrics

    /// Records each venv's status in `<state>/fleet/last-check.json` (atomic, 0600), so `metrics`
    /// can show venvs no agent has started lately.
    public func saveSummary(state: StateDirectory) throws(SystemError) {
        try state.prepare("fleet")
        let json = JSONValue.object([
            ("checked", .string(checkedAt)),
            ("venvs", .array(entries.map {
                .object([("venv", .string($0.venv)), ("status", .string($0.report.transient ? "unknown" : $0.status.rawValue)),
                         ("reasons", JSONValue($0.report.reasons))])
            })),
        ])
        try writeFileAtomically(FleetCheck.summaryPath(state: state), json.serialized() + "\n")
    }

    public static func summaryPath(state: StateDirectory) -> String { state.path + "/fleet/last-check.json" }

    /// The last fleet check: (venv, status, time) for each venv; empty when missing or garbage.
    public static func loadSummary(state: StateDirectory) -> [(venv: String, status: String, time: String)] {
        guard let bytes = try? readFile(summaryPath(state: state), limit: 16 << 20),
              let json = JSONValue.parse(bytes: bytes), let time = json["checked"]?.stringValue,
              let venvs = json["venvs"]?.arrayValue else { return [] }
        return venvs.compactMap { v in
            guard let venv = v["venv"]?.stringValue, let status = v["status"]?.stringValue else { return nil }
            return (venv, status, time)
        }
    }
}

/// Progress on a terminal: `checked 7/20` rewritten in place on stderr, cleared at the end. Only when
/// stdout and stderr are both terminals (a pipe, a file or the journal gets no progress).
public struct ProgressLine: Sendable {
    public let enabled: Bool
    let label: String

    public init(label: String, enabled: Bool = Output.isTerminal(1) && Output.isTerminal(2)) {
        self.label = label
        self.enabled = enabled
    }

    public var callback: (@Sendable (Int, Int) -> Void)? {
        guard enabled else { return nil }
        let label = self.label
        return { done, total in Output.writeText(2, "\r\(label) \(done)/\(total)\u{1B}[K") }
    }

    public func finish() {
        if enabled { Output.writeText(2, "\r\u{1B}[K") }
    }
}
