import GuardedCheck
import GuardedCore
import GuardedSystem

/// The repairs, rollbacks and restores an operator runs from the CLI: the same work as the
/// launcher's, then one `ActionRecord` in the health logs of the agents on that venv, so `status`,
/// `log`, `metrics` and `venvs report` see what was done by hand (docs/guarded-run.md).
extension Repairer {
    /// `repair --force`, `venvs repair --force`.
    public func repairByHand(venv: String, options: RepairOptions) -> RepairAttempt {
        let attempt = attempt(venv: venv, options: options)
        let done = attempt.details.first { $0.0 == "repair" }?.1
        var record = ActionRecord(venv: venv, action: .repair, result: "failed", reasons: attempt.reasons)
        switch attempt.result {
        case .repaired:
            record.result = "repaired"
            record.generation = done?["generation"]?.intValue
            record.fromGeneration = done?["previous_generation"]?.intValue
            record.source = done?["source"]?.stringValue
            record.reasons = done?["record_mismatches"]?.arrayValue?.compactMap(\.stringValue) ?? []
        case .rolledBack:
            record.result = "rolled-back"
            record.generation = done?["generation"]?.intValue
            record.fromGeneration = done?["from_generation"]?.intValue
            record.reasons = done?["repair_failure"]?.stringValue.map { [$0] } ?? []
        case .healthy:
            record.result = "healthy"
            record.generation = GenerationLayout(venv: venv).currentGeneration
        case .transient:
            record.result = "busy"
        case .failed, .backoff:
            break
        }
        record.append(state: state)
        return attempt
    }

    /// `rollback --force`: a target newer than the current generation is a roll forward, recorded
    /// and worded as one.
    public func rollbackByHand(venv: String, to target: Int?, options: RepairOptions) -> RepairOutcome {
        let from = GenerationLayout(venv: venv).currentGeneration
        let outcome = rollback(venv: venv, to: target, options: options)
        var record = ActionRecord(venv: venv, action: .rollback, result: "failed", fromGeneration: from)
        switch outcome {
        case .repaired(_, let details), .rolledBack(_, let details):
            let done = details.first { $0.0 == "repair" }?.1
            record.generation = done?["generation"]?.intValue
            record.fromGeneration = done?["from_generation"]?.intValue ?? from
            record.result = done?["result"]?.stringValue ?? "rolled-back"
        case .failed(let error, let reasons):
            record.result = error.isTransient ? "busy" : "failed"
            record.reasons = reasons
        }
        record.append(state: state)
        return outcome
    }

    /// `generations --restore-plain --force`: the current generation goes back to the venv path.
    public func restorePlainByHand(venv: String, waitSeconds: Double) -> Result<Int, RepairError> {
        let result = restorePlain(venv: venv, waitSeconds: waitSeconds)
        var record = ActionRecord(venv: venv, action: .restore, result: "restored")
        switch result {
        case .success(let n): record.fromGeneration = n
        case .failure(let error):
            record.result = error.isTransient ? "busy" : "failed"
            record.reasons = [error.description]
        }
        record.append(state: state)
        return result
    }
}

/// What `rollback --force` would do, found by checking the candidates the way it would.
public struct RollbackPreview: Sendable {
    /// The generation `--force` would point the venv at, and its check's status; nil: none passes.
    public var generation: Int?
    public var status: String?
    /// Candidates that would be passed over (newest first), each with why.
    public var skipped: [String] = []
}

extension Repairer {
    /// The rollback's dry run: each candidate (newest first, as `--force` takes them) gets the full
    /// check at its own path until one passes. Nothing is locked or changed: a repair running
    /// meanwhile can make the preview stale, which `--force` (under the lock) checks again.
    public func previewRollback(venv: String, candidates: [Int], imports: [String]) -> RollbackPreview {
        let layout = GenerationLayout(venv: venv)
        var preview = RollbackPreview()
        for n in candidates {
            let path = layout.path(of: n)
            guard isDirectory(path) else { preview.skipped.append("generation \(n): \(Errno.noSuchFileOrDirectory)"); continue }
            let check = FullCheck.run(venv: path, imports: imports)
            if check.status == .broken || check.transient {
                preview.skipped.append("generation \(n) is broken: \(check.reasons.first ?? "unknown")")
                continue
            }
            preview.generation = n
            preview.status = check.status.rawValue
            return preview
        }
        return preview
    }
}
