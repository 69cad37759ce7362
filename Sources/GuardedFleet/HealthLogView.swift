import GuardedCore
import GuardedSystem

/// `guarded-run log AGENT`: an agent's health log, newest last, for a person to read.
public struct HealthLogView: Sendable {
    public var agent: String
    public var records: [JSONValue]
    public var malformed: Int

    /// The fields every record has (docs/guarded-run.md) and the columns already shown.
    static let standardFields: Set<String> = ["time", "agent", "venv", "status", "decision", "reasons", "check_us",
                                               "version", "pid", "probe_ms", "observe"]

    /// The last `limit` records of the agent's log (both files).
    public init(state: StateDirectory, agent: String, limit: Int) {
        let log = HealthLog.read(state: state, agent: agent)
        self.agent = agent
        records = Array(log.records.suffix(limit))
        malformed = log.malformed
    }

    /// True when the agent has a log (current or rotated) at all.
    public static func exists(state: StateDirectory, agent: String) -> Bool {
        let path = state.healthLogPath(for: agent)
        return fileStatusIfPresent(path)?.isRegularFile == true || fileStatusIfPresent(path + ".1")?.isRegularFile == true
    }

    /// One line per start (time, decision, status, time spent deciding, venv), its reasons below it.
    ///
    ///     2026-11-25 15:08:30Z  failed-closed  broken   84 ms   /srv/mail/.venv
    ///         interpreter-missing: bin/python -> /opt/py/bin/python3.11: No such file or directory
    public func text() -> String {
        var rows: [[String]] = []
        var reasons: [[String]] = []
        for r in records {
            if ActionRecord.isAction(r) {
                // A CLI action (ActionRecord): what was done and how it ended, in place of a decision.
                rows.append([
                    r["time"]?.stringValue.map(shortTime) ?? "?",
                    "cli \(r["action"]?.stringValue ?? "?")", r["result"]?.stringValue ?? "?", "-", r["venv"]?.stringValue ?? "?",
                ])
                var lines: [String] = []
                if let g = r["generation"]?.intValue {
                    lines.append("generation: " + (r["from_generation"]?.intValue.map { "\($0) -> " } ?? "") + String(g))
                }
                if let source = r["source"]?.stringValue { lines.append("source: \(source)") }
                lines += (r["reasons"]?.arrayValue ?? []).compactMap(\.stringValue)
                reasons.append(lines)
                continue
            }
            rows.append([
                r["time"]?.stringValue.map(shortTime) ?? "?",
                (r["decision"]?.stringValue ?? "?") + (r["observe"] == .bool(true) ? " [observe]" : ""),
                r["status"]?.stringValue ?? "?",
                r["check_us"]?.intValue.map(formatMicroseconds) ?? "?",
                r["venv"]?.stringValue ?? "?",
            ])
            var lines = (r["reasons"]?.arrayValue ?? []).compactMap(\.stringValue)
            // Every other field (the repair and rollback details, backoffs, notes) by name: an
            // object's fields indented below it.
            for (key, value) in r.objectValue ?? [] where !HealthLogView.standardFields.contains(key) {
                lines += HealthLogView.describe(key, value)
            }
            reasons.append(lines)
        }
        let table = formatColumns(rows).split(separator: "\n", omittingEmptySubsequences: false)
        var out = ""
        for (i, line) in table.enumerated() where i < rows.count {
            out += line + "\n"
            for reason in reasons[i] { out += "    " + reason + "\n" }
        }
        if records.isEmpty { out += "(no starts recorded for \(agent))\n" }
        return out
    }

    /// One field for a person: `name: value`; `_ms` durations formatted; a list of scalars joined
    /// by `; `; an object as its `result` (if any) on the first line and its other fields indented
    /// below (depth-bounded: a record is outside input).
    static func describe(_ key: String, _ value: JSONValue, depth: Int = 0) -> [String] {
        let name = key.replacingUnderscores()
        switch value {
        case .null: return []
        case .string(let s): return ["\(name): \(s)"]
        case .bool(let b): return ["\(name): \(b ? "yes" : "no")"]
        case .number(let n):
            if key.hasSuffix("_ms"), let ms = value.intValue, ms >= 0, ms < Int.max / 1000 {
                return ["\(String(key.dropLast(3)).replacingUnderscores()): \(formatMicroseconds(ms * 1000))"]
            }
            return ["\(name): \(JSONValue.formatNumber(n))"]
        case .array(let items):
            guard !items.isEmpty else { return [] }
            let scalars = items.compactMap { item -> String? in
                switch item {
                case .string(let s): return s
                case .number(let n): return JSONValue.formatNumber(n)
                case .bool(let b): return b ? "yes" : "no"
                default: return nil
                }
            }
            if scalars.count == items.count { return ["\(name): \(scalars.joined(separator: "; "))"] }
            return ["\(name): \(items.count) item\(items.count == 1 ? "" : "s")"]
        case .object(let fields):
            guard depth < 3 else { return ["\(name): ..."] }
            var lines = [name + ":" + (value["result"]?.stringValue.map { " " + $0 } ?? "")]
            for (k, v) in fields where k != "result" {
                lines += describe(k, v, depth: depth + 1).map { "    " + $0 }
            }
            return lines
        }
    }

    public func json() -> JSONValue {
        .object([("agent", .string(agent)), ("records", .array(records)), ("malformed_lines", JSONValue(malformed))])
    }
}

/// `31 µs`, `4.2 ms`, `1.3 s`.
public func formatMicroseconds(_ us: Int) -> String {
    if us < 1000 { return "\(us) µs" }
    if us < 1_000_000 { return oneDecimal(Double(us) / 1000) + " ms" }
    return oneDecimal(Double(us) / 1_000_000) + " s"
}

func oneDecimal(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}
