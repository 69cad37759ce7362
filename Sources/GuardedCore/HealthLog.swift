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
            ("version", .string(guardedRunVersion)), ("pid", .number(Double(CurrentProcess.id))),
        ]
        pairs.append(contentsOf: extra)
        return JSONValue.object(pairs).serialized() + "\n"
    }
}

/// The per-agent health log: `<state>/agents/<agent>/health.jsonl`, one JSON object per start,
/// appended with a single write(2) on an O_APPEND descriptor (concurrent launchers' lines never
/// interleave), rotated to `health.jsonl.1` past `maxBytes` (one rotated file kept).
public enum HealthLog {
    /// 1 MiB by default; GUARDED_RUN_LOG_MAX_BYTES (a whole number from 1 to 2^40, `Setting.logMaxBytes`)
    /// overrides (tests use a small cap); out of range, the default.
    public static var maxBytes: Int64 { maxBytesSetting ?? Int64(Setting.logMaxBytes.defaultValue) }

    /// GUARDED_RUN_LOG_MAX_BYTES when unset (the default) or valid; nil when set but out of range
    /// (`FastPath.logMaxBytesSetting`, which the fast path reads too).
    static var maxBytesSetting: Int64? { FastPath.logMaxBytesSetting() }
    public static func append(_ record: HealthRecord, state: StateDirectory) throws(SystemError) {
        try append(line: record.jsonLine(), state: state, agent: record.agent)
    }

    /// Appends one JSON line to an agent's health log or, with `agent` nil, to the log of CLI
    /// actions on venvs no agent's log names (`<state>/venvs/actions.jsonl`, `ActionRecord`).
    static func append(line text: String, state: StateDirectory, agent: String?) throws(SystemError) {
        let components = agent.map { ["agents", $0] } ?? ["venvs"]
        let name = agent == nil ? ActionRecord.unattachedLogName : "health.jsonl"
        let path = state.path + "/" + (components + [name]).joined(separator: "/")
        var line = Array(text.utf8)
        // agents/<agent> is reached without following a link (a planted one would carry our
        // writes out of the state directory) and must be ours alone.
        let dir = try state.openDirectory(components, create: true)
        var fd = try openForAppend(dir, name, path)
        var st = try fd.status()
        if st.size > 0 && st.size + Int64(line.count) > maxBytes {
            // One rotator at a time: the flock on the old file. A launcher that loses the race
            // writes into the file being rotated, which becomes health.jsonl.1: nothing is lost.
            if try fd.lock(nonBlocking: true, path: path),
               let current = try? fileStatus(in: dir.rawValue, name), current.inode == st.inode {
                if let agent { carryCounts(rotatedOut: path + ".1", state: state, agent: agent) }
                try dir.renameEntry(name, to: name + ".1", path: path)
                fd = try openForAppend(dir, name, path)
                st = try fd.status()
            }
        }
        if !endsWithNewline(fd, size: st.size) { line.insert(UInt8(ascii: "\n"), at: 0) }
        try fd.writeAll(line, path: path)
    }

    /// False when the file's last byte is not a newline: an earlier append was cut short (a full
    /// disk), and this record must start on a line of its own so the fragment stays a line that
    /// readers skip instead of fusing with this one. Appenders cannot truncate the fragment away:
    /// another launcher may be appending at the same moment.
    public static func endsWithNewline(_ fd: borrowing FileDescriptor, size: Int64) -> Bool {
        guard size > 0 else { return true }
        var last: UInt8 = UInt8(ascii: "\n")
        return (try? withUnsafeMutableBytes(of: &last) { (byte) throws(SystemError) in try fd.readBytes(into: byte, at: size - 1) }) != 1 || last == UInt8(ascii: "\n")
    }

    private static func openForAppend(_ dir: borrowing FileDescriptor, _ name: String, _ path: String) throws(SystemError) -> FileDescriptor {
        // O_NOFOLLOW: a symlink planted at the log's name is refused, never written through;
        // O_NONBLOCK: a FIFO planted there cannot hang the start (it is then refused as not a file).
        // O_RDWR: `endsWithNewline` reads the last byte.
        let fd = try dir.openAt(name, [.readWrite, .append, .create, .noFollow, .nonBlocking], mode: 0o600)
        let st = try fd.status()
        guard st.isRegularFile, st.isPrivate(owner: CurrentProcess.effectiveUserID) else {
            throw SystemError("open", path: path, errno: .permissionDenied)
        }
        return fd
    }

    /// Reads an agent's log (the rotated file first, so oldest first). Lines that are not JSON
    /// objects are skipped and counted, never fatal.
    public static func read(state: StateDirectory, agent: String) -> (records: [JSONValue], malformed: Int) {
        read(state: state, components: ["agents", agent], name: "health.jsonl")
    }

    /// The records of the log of CLI actions on venvs no agent's log names (`ActionRecord`).
    public static func readUnattachedActions(state: StateDirectory) -> [JSONValue] {
        read(state: state, components: ["venvs"], name: ActionRecord.unattachedLogName).records
    }

    static func read(state: StateDirectory, components: [String], name file: String) -> (records: [JSONValue], malformed: Int) {
        var records: [JSONValue] = []
        var malformed = 0
        let owner = state.owner
        guard let dir = try? state.openDirectory(components, owner: owner) else { return ([], 0) }
        let path = state.path + "/" + (components + [file]).joined(separator: "/")
        for name in [file + ".1", file] {
            guard let bytes = try? dir.readPrivateFile(name, owner: owner, limit: 64 << 20, path: path) else { continue }
            let parsed = parseLines(bytes)
            records += parsed.records
            malformed += parsed.malformed
        }
        return (records, malformed)
    }

    /// The JSON objects of one log file; other lines (a record cut short by a full disk is a line
    /// of its own, see `append`) are counted as malformed.
    static func parseLines(_ bytes: [UInt8]) -> (records: [JSONValue], malformed: Int) {
        var records: [JSONValue] = []
        var malformed = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
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
            Diagnostics.warning("cannot save the health-log counts before rotation (the metrics counters will drop once): \(error)", agent: agent)
        }
    }

    /// Agents that have a health log, sorted.
    public static func agents(state: StateDirectory) -> [String] {
        guard let dir = try? state.openDirectory(["agents"], owner: state.owner) else { return [] }
        return ((try? directoryEntries(in: dir.rawValue, path: state.agentsPath)) ?? []).filter(isValidAgentName).sorted()
    }
}
