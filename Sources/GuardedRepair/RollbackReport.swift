import GuardedCore
import GuardedSystem

/// What `rollback` prints (docs/rollback.md): with `--json` one object whatever the outcome,
/// else the dry run's lines or the done rollback's summary.
public struct RollbackReport: Sendable {
    public var venv: String
    public var dryRun: Bool
    public var from: Int?
    /// Dry run: the generation `--force` would pick (checked just now; nil: none passes); done: the generation now current.
    public var to: Int?
    /// The generations `--force` tries (dry run) or tried (done), in that order.
    public var candidates: [Int] = []
    /// "dry-run", "rolled-back", "rolled-forward" (`--to` a newer generation), "failed" or "busy" (exit 75: try again).
    public var result: String
    /// One sentence: what --force will do, or what it did.
    public var action = ""
    /// The candidates the dry run passed over, each with why (also among the warnings).
    public var skipped: [String] = []
    public var warnings: [String] = []
    public var errors: [String] = []

    /// `to`: the generation `--to` asked for, if any.
    public init(venv: String, dryRun: Bool, to: Int?) {
        self.venv = venv
        self.dryRun = dryRun
        self.to = to
        result = dryRun ? "dry-run" : "failed"
    }

    /// The dry run's verdict: which candidate `--force` would pick, checked just now.
    public mutating func record(_ preview: RollbackPreview, current: Int) {
        skipped = preview.skipped
        warnings += preview.skipped
        to = preview.generation
        if let n = preview.generation {
            let direction = n > current ? "forward to newer generation" : n == current ? "at generation" : "back to generation"
            action = n == current ? "would only check generation \(n) (already current; it is \(preview.status ?? "healthy"))"
                : "would point \(venv) \(direction) \(n) (checked just now: \(preview.status ?? "healthy"))"
        } else {
            action = candidates.isEmpty ? "would fail: no earlier generation"
                : "would fail: no candidate passes the full check; nothing would change"
        }
    }

    /// What `rollbackByHand` did; a failure also goes into `errors` (see `failed`).
    public mutating func record(_ outcome: RepairOutcome) {
        switch outcome {
        case .repaired(let summary, let details), .rolledBack(let summary, let details):
            let done = details.first { $0.0 == "repair" }?.1
            result = done?["result"]?.stringValue ?? "rolled-back"
            to = done?["generation"]?.intValue
            warnings += done?["skipped"]?.arrayValue?.compactMap(\.stringValue) ?? []
            action = summary
        case .failed(_, let reasons):
            action = "nothing changed"
            failed(reasons.joined(separator: "; "), exitCode: outcome.exitCode)
        }
    }

    /// A failure: `busy` when it may pass by itself (exit 75), else `failed`.
    public mutating func failed(_ message: String, exitCode: Int32) {
        result = exitCode == ExitCode.temporaryFailure ? "busy" : "failed"
        to = nil
        errors.append(message)
    }

    /// The dry run: the venv's current generation, the candidates passed over, what --force would do;
    /// done: what it did.
    public func text() -> String {
        guard dryRun else { return action + "\n" }
        return "venv \(venv) -> generation \(from.map(String.init) ?? "?")\n" + skipped.map { "  \($0)\n" }.joined() + action + "\n"
    }

    public func json() -> JSONValue {
        .object([
            ("venv", JSONValue(venv)), ("dry_run", JSONValue(dryRun)), ("result", JSONValue(result)),
            ("from_generation", .integerOrNull(from)), ("to_generation", .integerOrNull(to)),
            ("candidates", .array(candidates.map { .number(Double($0)) })),
            ("action", JSONValue(action)), ("warnings", JSONValue(warnings)), ("errors", JSONValue(errors)),
        ])
    }
}
