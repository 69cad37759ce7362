import GuardedCore
import GuardedSystem

/// A failed repair, remembered so that a supervisor that restarts a failing job every 10 s does not
/// rebuild the venv every 10 s (docs/auto-repair.md, "No repair storms"). Stored beside the venv
/// as `<venv>.generations/.repair/failure.json` (atomic, 0600, owned like the venv), so every state
/// directory that starts or repairs this venv sees the same backoff. While it is in effect, a start with the flag on
/// fails closed after a few lstat calls, without the full check and without another attempt.
///
/// It stops being in effect when any of these happens:
/// - the backoff window passes: 60 s after the first failure, doubling with each further one,
///   at most 1 h (`GUARDED_RUN_REPAIR_BACKOFF` / `GUARDED_RUN_REPAIR_BACKOFF_MAX`, in seconds);
/// - anything in its watch list changes (the venv and its interpreter chain, what the failed check
///   watched, the requirements file, `--python`, the `--find-links` directories, the known-good
///   set, the PATH directories and the usual interpreter install places);
/// - the repair options differ (requirements, python, find-links, imports, installer);
/// - `guarded-run repair --force` runs, or a repair succeeds.
///
/// A repair that was killed or interrupted mid-build counts as a failed one: its `in-progress.json`
/// (RepairPlace) is turned into this record by the next holder of the lock (`interrupted`).
public struct RepairFailure: Sendable {
    public var venv: String
    public var optionsKey: String
    public var failedAt: String
    public var attempts: Int
    /// Epoch seconds before which nothing is retried unless something changed.
    public var retryAfter: Double
    public var reasons: [String]
    /// What was tried (one line each), for the operator.
    public var tried: [String]
    /// The watch list as it was right after the failed attempt; nil status: the path was absent.
    var watch: [(path: String, status: FileStatus?)]

    static let fileName = "failure.json"
    static func path(venv: String) -> String { RepairPlace(venv: venv).file(fileName) }

    public static var baseSeconds: Double { Setting.repairBackoff.value }

    public static var maxSeconds: Double { Setting.repairBackoffMax.value }

    /// The delay after the `attempts`-th consecutive failure: base, 2 base, 4 base, ..., capped.
    public static func delay(afterAttempts attempts: Int) -> Double {
        var d = baseSeconds
        for _ in 1..<max(1, min(attempts, 40)) { d *= 2 }
        return min(d, maxSeconds)
    }

    static func now() -> Double {
        let t = Clock.wallTime()
        return Double(t.seconds) + Double(t.nanoseconds) / 1e9
    }

    /// The record, when one is in effect for this venv and these options; nil otherwise (also for a
    /// missing or damaged file).
    public static func inEffect(venv: String, optionsKey: String) -> RepairFailure? {
        guard let record = load(venv: venv), record.venv == venv, record.optionsKey == optionsKey,
              now() < record.retryAfter else { return nil }
        for (path, status) in record.watch {
            let current = fileStatusIfPresent(path)
            if let status {
                guard let current, current.device == status.device, current.inode == status.inode,
                      current.mode == status.mode, current.size == status.size,
                      current.mtimeNs == status.mtimeNs, current.ctimeNs == status.ctimeNs else { return nil }
            } else if current != nil {
                return nil
            }
        }
        return record
    }

    /// Records a failed attempt (the count goes on from an earlier record) with the watch list as
    /// lstat sees it now; `warning`: the record could not be written (for the caller to print).
    static func record(venv: String, optionsKey: String, reasons: [String], tried: [String],
                       watchPaths: [String]) -> (record: RepairFailure, warning: String?) {
        let attempts = min((load(venv: venv)?.attempts ?? 0), 1_000_000) + 1
        var seen = Set<String>()
        let watch = watchPaths.filter { seen.insert($0).inserted }.map { (path: $0, status: fileStatusIfPresent($0)) }
        let record = RepairFailure(venv: venv, optionsKey: optionsKey, failedAt: Clock.nowRFC3339(), attempts: attempts,
                                   retryAfter: now() + delay(afterAttempts: attempts), reasons: reasons, tried: tried,
                                   watch: watch)
        do {
            try RepairPlace(venv: venv).write(fileName, record.json().serialized(pretty: true) + "\n")
            return (record, nil)
        } catch {
            return (record, "cannot record the failed repair: \(error)")
        }
    }

    static func clear(venv: String) {
        RepairPlace(venv: venv).remove(fileName)
    }

    /// The latest `retry_after` a record may hold: the window is at most a week past a failure (the
    /// settings' range), so anything beyond year 5000 is damage.
    static let latestRetryAfter = 1e11

    public var retryAfterText: String {
        Clock.rfc3339(seconds: Int64(min(max(retryAfter.isFinite ? retryAfter : 0, 0), RepairFailure.latestRetryAfter)))
    }

    func json() -> JSONValue {
        .object([
            ("venv", .string(venv)), ("options", .string(optionsKey)), ("failed", .string(failedAt)),
            ("attempts", .number(Double(attempts))), ("retry_after", .number(retryAfter)),
            ("retry_after_time", .string(retryAfterText)), ("reasons", JSONValue(reasons)), ("tried", JSONValue(tried)),
            ("watch", .array(watch.map { entry in
                guard let s = entry.status else { return .array([.string(entry.path), .null]) }
                // Numbers as text: inodes and nanosecond times do not fit a JSON double exactly.
                return .array([.string(entry.path), .string("\(s.device) \(s.inode) \(s.mode) \(s.size) \(s.mtimeNs) \(s.ctimeNs)")])
            })),
        ])
    }

    public static func load(venv: String) -> RepairFailure? {
        guard let bytes = RepairPlace(venv: venv).read(fileName, limit: 4 << 20),
              let j = JSONValue.parse(bytes: bytes), let v = j["venv"]?.stringValue,
              let options = j["options"]?.stringValue, let attempts = j["attempts"]?.intValue,
              let retry = j["retry_after"]?.doubleValue, let list = j["watch"]?.arrayValue else { return nil }
        // Outside input: a count or a time no record of ours could hold is a damaged file.
        guard attempts >= 0, attempts <= 1_000_000, retry.isFinite, retry >= 0, retry <= latestRetryAfter else { return nil }
        var watch: [(path: String, status: FileStatus?)] = []
        for item in list {
            guard let pair = item.arrayValue, pair.count == 2, let p = pair[0].stringValue else { return nil }
            if pair[1] == .null { watch.append((p, nil)); continue }
            guard let fields = pair[1].stringValue?.split(separator: " "), fields.count == 6,
                  let dev = UInt64(fields[0]), let ino = UInt64(fields[1]), let mode = UInt32(fields[2]),
                  let size = Int64(fields[3]), let m = Int64(fields[4]), let c = Int64(fields[5]) else { return nil }
            watch.append((p, FileStatus(device: dev, inode: ino, mode: mode, linkCount: 0, uid: 0, gid: 0,
                                        size: size, mtimeNs: m, ctimeNs: c)))
        }
        return RepairFailure(venv: v, optionsKey: options, failedAt: j["failed"]?.stringValue ?? "", attempts: attempts,
                             retryAfter: retry, reasons: j["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                             tried: j["tried"]?.arrayValue?.compactMap(\.stringValue) ?? [], watch: watch)
    }
}
