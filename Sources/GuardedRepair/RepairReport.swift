import GuardedCore
import GuardedSystem

/// What `repair --json` prints (docs/repair.md): one object whatever the outcome, with the plan
/// made just before.
public struct RepairReport: Sendable {
    public var venv: String
    public var plan: RepairPlan
    public var dryRun: Bool
    /// "dry-run", "repaired", "healthy" (nothing to do), "rolled-back", "failed" or "busy" (exit 75).
    public var result = "dry-run"
    public var summary = ""
    public var from: Int?
    public var to: Int?
    public var warnings: [String] = []
    public var errors: [String] = []
    public var exitCode = ExitCode.success

    /// The dry run: the plan alone.
    public init(venv: String, plan: RepairPlan) {
        self.venv = venv
        self.plan = plan
        dryRun = true
        from = plan.currentGeneration
        to = plan.newGeneration
        if let impossible = plan.impossible { warnings.append("repair impossible: \(impossible)") }
    }

    /// After `repairByHand`: what it did, from the attempt's details.
    public init(venv: String, plan: RepairPlan, attempt: RepairAttempt) {
        self.init(venv: venv, plan: plan)
        dryRun = false
        let done = attempt.details.first { $0.0 == "repair" }?.1
        summary = attempt.summary.split(separator: "\n").first.map(String.init) ?? ""
        exitCode = attempt.outcome.exitCode
        switch attempt.result {
        case .repaired:
            result = "repaired"
            from = done?["previous_generation"]?.intValue
            to = done?["generation"]?.intValue
            warnings = done?["record_mismatches"]?.arrayValue?.compactMap(\.stringValue) ?? []
        case .healthy:
            result = "healthy"
            to = nil
            warnings = []
        case .rolledBack:
            result = "rolled-back"
            from = done?["from_generation"]?.intValue
            to = done?["generation"]?.intValue
            warnings = done?["repair_failure"]?.stringValue.map { [$0] } ?? []
        case .failed, .backoff, .transient:
            result = attempt.result == .transient ? "busy" : "failed"
            to = nil
            errors = attempt.reasons
        }
    }

    public func json() -> JSONValue {
        .object([
            ("venv", .string(venv)), ("dry_run", .bool(dryRun)), ("result", .string(result)),
            ("from_generation", .integerOrNull(from)), ("to_generation", .integerOrNull(to)), ("summary", .string(summary)),
            ("plan", plan.json()), ("warnings", JSONValue(warnings)), ("errors", JSONValue(errors)),
            ("exit_code", .number(Double(exitCode))),
        ])
    }
}

extension JSONValue {
    /// A number (a generation), or null.
    static func integerOrNull(_ n: Int?) -> JSONValue { n.map { .number(Double($0)) } ?? .null }
}
