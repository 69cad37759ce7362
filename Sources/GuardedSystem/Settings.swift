/// The numeric `GUARDED_RUN_*` settings, each with its documented default and range (docs/guarded-run.md,
/// "Settings"). One reader for all of them, so an out-of-range value (`1e300`, `inf`, `nan`, `-1`) is
/// treated the same everywhere: the launcher falls back to the default and says so on stderr; admin
/// commands refuse to run (exit 64). No value is ever echoed, only the variable's name.
public struct Setting: Sendable {
    public let name: String
    public let defaultValue: Double
    public let range: ClosedRange<Double>
    public let wholeNumber: Bool
    public let unit: String

    public static let checkTimeout = Setting("GUARDED_RUN_CHECK_TIMEOUT", default: 30, 0.001...86_400, unit: "seconds")
    public static let repairWait = Setting("GUARDED_RUN_REPAIR_WAIT", default: 300, 0...86_400, unit: "seconds")
    public static let repairTimeout = Setting("GUARDED_RUN_REPAIR_TIMEOUT", default: 900, 0.001...86_400, unit: "seconds")
    public static let repairBackoff = Setting("GUARDED_RUN_REPAIR_BACKOFF", default: 60, 0...604_800, unit: "seconds")
    public static let repairBackoffMax = Setting("GUARDED_RUN_REPAIR_BACKOFF_MAX", default: 3600, 0...604_800, unit: "seconds")
    /// The launcher's fast path reads this one byte by byte (`HealthLog.maxBytes`), within the same range.
    public static let logMaxBytes = Setting("GUARDED_RUN_LOG_MAX_BYTES", default: Double(LaunchFormat.logMaxBytesDefault), 1...Double(LaunchFormat.logMaxBytesLimit),
                                            whole: true, unit: "bytes")
    public static let keepGenerations = Setting("GUARDED_RUN_KEEP_GENERATIONS", default: 2, 0...1000, whole: true, unit: "")


    public static let all: [Setting] = [checkTimeout, repairWait, repairTimeout, repairBackoff, repairBackoffMax,
                                        logMaxBytes, keepGenerations]

    init(_ name: String, default value: Double, _ range: ClosedRange<Double>, whole: Bool = false, unit: String) {
        self.name = name; self.defaultValue = value; self.range = range; self.wholeNumber = whole; self.unit = unit
    }

    /// The value when set and valid; nil when unset or empty.
    public enum Reading: Equatable, Sendable { case unset, valid(Double), invalid }

    public func read() -> Reading {
        guard let text = Environment.value(name), !text.isEmpty else { return .unset }
        return Setting.parse(text, range: range, wholeNumber: wholeNumber).map { .valid($0) } ?? .invalid
    }

    /// `text` as a number inside `range` (a whole one when asked); nil for anything else, including
    /// `inf`, `nan` and numbers that only fit a Double.
    public static func parse(_ text: String, range: ClosedRange<Double>, wholeNumber: Bool) -> Double? {
        if wholeNumber {
            guard let n = Int64(text), let v = Double(exactly: n), range.contains(v) else { return nil }
            return v
        }
        guard let v = Double(text), v.isFinite, range.contains(v) else { return nil }
        return v
    }

    /// The value in use: the setting's when valid, else the default.
    public var value: Double {
        if case .valid(let v) = read() { return v }
        return defaultValue
    }

    /// `value` as a whole number (the ranges keep it far from Int's limits).
    public var intValue: Int { Int(value.rounded(.down)) }

    /// What is wrong with the setting, in one line without its value; nil when unset or valid.
    public var problem: String? {
        guard read() == .invalid else { return nil }
        let kind = wholeNumber ? "a whole number" : "a number"
        let unitText = unit.isEmpty ? "" : " (\(unit))"
        return "\(name) must be \(kind) from \(Setting.text(range.lowerBound)) to \(Setting.text(range.upperBound))\(unitText)"
    }

    /// Every set but invalid setting's problem, in table order.
    public static func problems() -> [String] { all.compactMap(\.problem) }

    public static func text(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
