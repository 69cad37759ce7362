import GuardedSystem

/// What an agent's health-log lines add up to, for the `_total` counters and the fast-path
/// histogram of `guarded-run metrics`. Rotation drops the oldest file; before it does, its tally is
/// added to `agents/<agent>/health-counts` (written atomically), so every counter stays monotonic:
/// metrics = the carried counts + the tally of the lines still in the log.
///
/// Keys, one per series: `decision:<decision>`, `would:<decision>` (observe mode), `gave_up`,
/// `cli:<result>` (a CLI action's record, `ActionRecord`), `fast_le:<µs>`
/// (fast-ok starts decided within that bound, cumulative like a Prometheus bucket), `fast_count`,
/// `fast_sum_us`. Values saturate instead of overflowing.
public struct HealthCounts: Sendable, Equatable {
    /// Bucket bounds of the fast-path histogram, in microseconds (the metric's `le` labels). Up to
    /// 250 ms: on a loaded host the p99 was measured at 4.3 and 6.8 ms (docs/metrics.md), and an
    /// alert threshold of 10 times that (100 ms) must lie below the last finite bucket.
    public static let fastPathBucketMicroseconds = [10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 25000, 50000, 100000, 250000]
    static let header = "guarded-run health-counts 1"
    static let fileName = "health-counts"
    /// A sane key: lowercase letters, digits, `-`, `_`, `:`, at most 64 bytes.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 64 && key.utf8.allSatisfy { b in
            (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 45 || b == 95 || b == 58
        }
    }

    public var values: [String: Int] = [:]
    /// The rotated file whose lines are already in `values`: its identity when it was absorbed.
    /// Seen again (a crash between the counts write and the rename, or a reader in that window),
    /// its lines are not counted twice.
    var absorbed: FileStatus?

    public init() {}

    public subscript(key: String) -> Int { values[key] ?? 0 }

    public mutating func add(_ key: String, _ n: Int) {
        let (sum, overflow) = self[key].addingReportingOverflow(n)
        values[key] = overflow ? Int.max : sum
    }

    /// Repairs: starts the launcher repaired on, and CLI repairs that rebuilt the venv.
    public var repairs: Int { sum(["decision:" + Decision.repaired.rawValue, "cli:repaired"]) }
    /// Rollbacks: starts rolled back on, and CLI repairs or rollbacks that switched generation.
    public var rollbacks: Int { sum(["decision:" + Decision.rolledBack.rawValue, "cli:rolled-back", "cli:rolled-forward"]) }

    func sum(_ keys: [String]) -> Int {
        var total = HealthCounts()
        for k in keys { total.add("t", self[k]) }
        return total["t"]
    }

    public mutating func add(_ other: HealthCounts) {
        for (k, v) in other.values { add(k, v) }
    }

    /// The tally of some health-log records.
    public init(records: some Sequence<JSONValue>) {
        for record in records {
            // A CLI action is not a start: it counts under `cli:<result>` only.
            if ActionRecord.isAction(record) {
                if let result = record["result"]?.stringValue, HealthCounts.isValidKey(result) { add("cli:" + result, 1) }
                continue
            }
            let decision = record["decision"]?.stringValue ?? "unknown"
            guard HealthCounts.isValidKey(decision) else { continue }
            add("decision:" + decision, 1)
            if let would = record["would"]?.stringValue, HealthCounts.isValidKey(would) { add("would:" + would, 1) }
            if record["gave_up"] == .bool(true) { add("gave_up", 1) }
            if decision == Decision.fastOK.rawValue, let us = record["check_us"]?.intValue, us >= 0 {
                for bound in HealthCounts.fastPathBucketMicroseconds where us <= bound { add("fast_le:\(bound)", 1) }
                add("fast_count", 1)
                add("fast_sum_us", us)
            }
        }
    }

    static func path(state: StateDirectory, agent: String) -> String { state.agentDirectory(for: agent) + "/" + fileName }

    /// The carried counts; a missing, unreadable or garbage file is empty (never a crash), a bad
    /// line is skipped.
    public static func load(state: StateDirectory, agent: String) -> HealthCounts {
        var counts = HealthCounts()
        // Below the state directory without following a link, and only a file of its owner's.
        guard let bytes = state.readFile(["agents", agent], fileName, limit: 64 << 10, owner: state.owner) else { return counts }
        let lines = bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        guard lines.first == header else { return counts }
        for line in lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: false)
            if words.count == 6, words[0] == "absorbed" {
                let n = words.dropFirst().compactMap { Int64($0) }
                if n.count == 5, n.allSatisfy({ $0 >= 0 }) {
                    counts.absorbed = FileStatus(device: UInt64(n[0]), inode: UInt64(n[1]), mode: 0, linkCount: 0, uid: 0, gid: 0,
                                                 size: n[2], mtimeNs: n[3], ctimeNs: n[4])
                }
                continue
            }
            guard words.count == 2, isValidKey(String(words[0])), counts.values[String(words[0])] == nil,
                  let v = Int(words[1]), v >= 0 else { continue }
            counts.values[String(words[0])] = v
        }
        return counts
    }

    func serialized() -> String {
        var text = HealthCounts.header + "\n"
        if let a = absorbed {
            text += "absorbed \(Int64(bitPattern: a.device & 0x7fff_ffff_ffff_ffff)) \(Int64(bitPattern: a.inode & 0x7fff_ffff_ffff_ffff)) \(a.size) \(a.mtimeNs) \(a.ctimeNs)\n"
        }
        for k in values.keys.sorted() { text += "\(k) \(values[k]!)\n" }
        return text
    }

    /// True when `file` is the rotated file whose lines these counts already hold.
    func hasAbsorbed(_ file: FileStatus) -> Bool {
        guard let a = absorbed else { return false }
        return a.device & 0x7fff_ffff_ffff_ffff == file.device & 0x7fff_ffff_ffff_ffff
            && a.inode & 0x7fff_ffff_ffff_ffff == file.inode & 0x7fff_ffff_ffff_ffff
            && a.size == file.size && a.mtimeNs == file.mtimeNs && a.ctimeNs == file.ctimeNs
    }

    /// Called by the rotator (under the log's lock) just before `health.jsonl.1` is replaced: adds
    /// that file's tally to the carried counts and records its identity, in one atomic write.
    /// Written before the rename, so a crash in between counts nothing twice (the identity) and
    /// loses nothing.
    static func carry(rotatedOut path: String, state: StateDirectory, agent: String) throws(SystemError) {
        let dir = try state.openDirectory(["agents", agent])
        guard let status = try? fileStatus(in: dir.rawValue, baseName(of: path)), status.isRegularFile else { return }
        var counts = load(state: state, agent: agent)
        if counts.hasAbsorbed(status) { return }
        let bytes = try dir.readPrivateFile(baseName(of: path), owner: CurrentProcess.effectiveUserID, limit: 64 << 20, path: path)
        counts.add(HealthCounts(records: HealthLog.parseLines(bytes).records))
        counts.absorbed = status
        try state.writeFile(["agents", agent], fileName, Array(counts.serialized().utf8))
    }
}

/// One agent's log as the metrics count it: every record (oldest first, for `status`), the
/// carried counts, and how many leading records the carried counts already hold.
public struct HealthLogSnapshot: Sendable {
    public var records: [JSONValue] = []
    public var malformed = 0
    public var carried = HealthCounts()
    /// Records at the front (from an already absorbed `health.jsonl.1`) that `carried` counts.
    public var alreadyCarried = 0

    /// Carried counts plus the tally of the records not yet carried: what the counters show.
    public var totals: HealthCounts {
        var t = carried
        t.add(HealthCounts(records: records.dropFirst(alreadyCarried)))
        return t
    }
}

extension HealthLog {
    /// The records and the carried counts as of one rotation: when a rotation happens while they
    /// are read (`health.jsonl.1` or the counts replaced), the read starts over, so a concurrent
    /// rotation is never seen half done. Rotations come every few thousand starts; the bound (50
    /// reads) is only for a log rotating at every start, as in the tests.
    public static func snapshot(state: StateDirectory, agent: String) -> HealthLogSnapshot {
        let path = state.healthLogPath(for: agent)
        var result = HealthLogSnapshot()
        func same(_ a: FileStatus?, _ b: FileStatus?) -> Bool {
            guard let a, let b else { return a == nil && b == nil }
            return a.sameIdentityAndTimes(as: b)
        }
        // Below the state directory without following a link; files of its owner's only.
        let owner = state.owner
        guard let dir = try? state.openDirectory(["agents", agent], owner: owner) else { return result }
        func status(_ name: String) -> FileStatus? { try? fileStatus(in: dir.rawValue, name) }
        func read(_ name: String) -> [UInt8]? { try? dir.readPrivateFile(name, owner: owner, limit: 64 << 20, path: path) }
        for _ in 0..<50 {
            result = HealthLogSnapshot()
            let countsBefore = status(HealthCounts.fileName)
            result.carried = HealthCounts.load(state: state, agent: agent)
            let before = status("health.jsonl.1")
            if let old = before, old.isRegularFile, let bytes = read("health.jsonl.1") {
                let parsed = parseLines(bytes)
                result.records = parsed.records
                result.malformed = parsed.malformed
                if result.carried.hasAbsorbed(old) { result.alreadyCarried = parsed.records.count }
            }
            if let bytes = read("health.jsonl") {
                let parsed = parseLines(bytes)
                result.records += parsed.records
                result.malformed += parsed.malformed
            }
            // A rotation writes the counts, then renames: either changed means one happened meanwhile.
            if same(before, status("health.jsonl.1")) && same(countsBefore, status(HealthCounts.fileName)) { break }
        }
        return result
    }
}
