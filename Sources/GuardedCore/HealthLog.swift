import GuardedSystem

/// What the launcher decided for one start.
public enum Decision: String, Sendable, CaseIterable {
    case fastOK = "fast-ok"
    case checkedOK = "checked-ok"
    case repaired = "repaired"
    case rolledBack = "rolled-back"
    case failedClosed = "failed-closed"
    case transient = "transient"
    /// Observe mode: the agent was started although an enforcing launcher would have refused it
    /// (the record's `would` says how: `failed-closed` or `transient`).
    case observed = "observed"
}

/// One line of an agent's health log (docs/guarded-run.md, "The health log").
/// No environment values and no agent arguments are ever recorded: they may hold secrets.
public struct HealthRecord: Sendable {
    public var time: String
    public var agent: String
    public var venv: String
    public var status: String
    public var decision: Decision
    public var reasons: [String]
    public var checkMicroseconds: Int64
    /// Extra fields (repair details, the interpreter used, ...), appended after the fixed ones.
    public var extra: [(String, JSONValue)]

    public init(agent: String, venv: String, status: String, decision: Decision, reasons: [String] = [],
                checkMicroseconds: Int64, extra: [(String, JSONValue)] = [], time: String = Clock.nowRFC3339()) {
        self.time = time
        self.agent = agent
        self.venv = venv
        self.status = status
        self.decision = decision
        self.reasons = reasons
        self.checkMicroseconds = checkMicroseconds
        self.extra = extra
    }

    /// The JSON object on one line, with its newline.
    public func jsonLine() -> String {
        var pairs: [(String, JSONValue)] = [
            ("time", .string(time)), ("agent", .string(agent)), ("venv", .string(venv)),
            ("status", .string(status)), ("decision", .string(decision.rawValue)),
            ("reasons", JSONValue(reasons.map(Redaction.apply))), ("check_us", .number(Double(checkMicroseconds))),
            ("version", .string(guardedRunVersion)), ("pid", .number(Double(getpid()))),
        ]
        pairs.append(contentsOf: extra)
        return JSONValue.object(pairs).serialized() + "\n"
    }
}

/// The per-agent health log: `<state>/agents/<agent>/health.jsonl`, one JSON object per start,
/// appended with a single write(2) on an O_APPEND descriptor (concurrent launchers' lines never
/// interleave), rotated to `health.jsonl.1` past `maxBytes` (one rotated file kept).
public enum HealthLog {
    /// 1 MiB by default; GUARDED_RUN_LOG_MAX_BYTES (a positive whole number) overrides (tests use a
    /// small cap). Read with getenv and a byte loop: the launcher's fast path calls this too.
    public static var maxBytes: Int64 {
        let fallback: Int64 = 1 << 20
        guard let text = getenv("GUARDED_RUN_LOG_MAX_BYTES"), text[0] != 0 else { return fallback }
        var n: Int64 = 0
        var i = 0
        while text[i] != 0 {
            let c = UInt8(bitPattern: text[i])
            guard c >= 48, c <= 57, i < 18 else { return fallback }
            n = n * 10 + Int64(c - 48)
            i += 1
        }
        return n > 0 ? n : fallback
    }

    public static func append(_ record: HealthRecord, state: StateDirectory) throws(SystemError) {
        let path = state.healthLogPath(for: record.agent)
        let line = Array(record.jsonLine().utf8)
        var fd: FileDescriptor
        do throws(SystemError) {
            fd = try openForAppend(path)
        } catch where error.errno == .noSuchFileOrDirectory {
            try state.prepare("agents", record.agent)
            fd = try openForAppend(path)
        }
        let size = try fd.status().size
        if size > 0 && size + Int64(line.count) > maxBytes {
            // One rotator at a time: the flock on the old file. A launcher that loses the race
            // writes into the file being rotated, which becomes health.jsonl.1: nothing is lost.
            if try fd.lock(nonBlocking: true, path: path),
               let current = fileStatusIfPresent(path), current.inode == (try fd.status()).inode {
                carryCounts(rotatedOut: path + ".1", state: state, agent: record.agent)
                try renameItem(path, to: path + ".1")
                fd = try openForAppend(path)
            }
        }
        try fd.writeAll(line, path: path)
    }

    private static func openForAppend(_ path: String) throws(SystemError) -> FileDescriptor {
        // O_NOFOLLOW: a symlink planted at the log's name is refused, never written through.
        try FileDescriptor.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode: 0o600)
    }

    /// Reads an agent's log (the rotated file first, so oldest first). Lines that are not JSON
    /// objects are skipped and counted, never fatal.
    public static func read(state: StateDirectory, agent: String) -> (records: [JSONValue], malformed: Int) {
        var records: [JSONValue] = []
        var malformed = 0
        let path = state.healthLogPath(for: agent)
        for file in [path + ".1", path] {
            guard let bytes = try? readFile(file) else { continue }
            let parsed = parseLines(bytes)
            records += parsed.records
            malformed += parsed.malformed
        }
        return (records, malformed)
    }

    /// The JSON objects of one log file; other lines are counted as malformed.
    static func parseLines(_ bytes: [UInt8]) -> (records: [JSONValue], malformed: Int) {
        var records: [JSONValue] = []
        var malformed = 0
        for line in bytes.split(separator: 0x0a) where !line.isEmpty {
            if let value = JSONValue.parse(bytes: Array(line)), value.objectValue != nil {
                records.append(value)
            } else {
                malformed += 1
            }
        }
        return (records, malformed)
    }

    /// Before the rotated file is replaced, its counts join the carried ones (HealthCounts). When
    /// they cannot be saved the log still rotates (its size bound matters more) and the counters
    /// of this agent drop once; it is said on stderr.
    static func carryCounts(rotatedOut path: String, state: StateDirectory, agent: String) {
        do throws(SystemError) {
            try HealthCounts.carry(rotatedOut: path, state: state, agent: agent)
        } catch {
            writeStandardError("\(programName): \(agent): warning: cannot save the health-log counts before rotation (the metrics counters will drop once): \(error)", priority: 4,
                               event: JournalEvent(.warning, agent: agent))
        }
    }

    /// Agents that have a health log, sorted.
    public static func agents(state: StateDirectory) -> [String] {
        ((try? directoryEntries(state.agentsPath)) ?? []).filter(isValidAgentName).sorted()
    }
}
