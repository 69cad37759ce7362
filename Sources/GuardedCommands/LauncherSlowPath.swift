import GuardedCheck
import GuardedCore
import GuardedSystem

/// The launcher's slow path, taken when the cached fingerprint is missing or no longer matches:
/// the full check; on success the cache is rewritten and the agent starts; on failure it fails
/// closed (78), or, behind ENABLE_AUTO_REPAIR, repair and rollback get their turn.
public func launcherSlowPath(_ context: LaunchContext) -> SlowPathOutcome {
    let report = FullCheck.run(venv: context.venv, imports: context.request.imports)
    let flag = autoRepairSetting(context.request)
    var extra: [(String, JSONValue)] = [("probe_ms", .number(Double(report.durationNanoseconds / 1_000_000)))]
    if let note = flag.note { extra.append(("auto_repair_note", .string(note))) }

    if report.status != .broken {
        do { try report.saveCache(state: context.state) } catch {
            writeStandardError("\(programName): \(context.agent): warning: cannot write the fingerprint cache: \(error)", priority: 4)
        }
        return .start(HealthRecord(agent: context.agent, venv: context.venv, status: report.status.rawValue,
                                   decision: .checkedOK, reasons: report.reasons,
                                   checkMicroseconds: context.elapsedMicroseconds, extra: extra))
    }
    if report.transient {
        let reason = report.reasons.first ?? "the check did not finish"
        return .refuse(HealthRecord(agent: context.agent, venv: context.venv, status: "unknown", decision: .transient,
                                    reasons: report.reasons, checkMicroseconds: context.elapsedMicroseconds, extra: extra),
                       exitCode: ExitCode.temporaryFailure,
                       message: "\(programName): \(context.agent): venv \(context.venv) could not be checked: \(reason); try again")
    }
    return .refuse(HealthRecord(agent: context.agent, venv: context.venv, status: "broken", decision: .failedClosed,
                                reasons: report.reasons, checkMicroseconds: context.elapsedMicroseconds, extra: extra),
                   exitCode: ExitCode.broken, message: report.failClosedLine(agent: context.agent))
}

/// `--auto-repair` / `--no-auto-repair` win over ENABLE_AUTO_REPAIR.
func autoRepairSetting(_ request: LaunchRequest) -> (enabled: Bool, note: String?) {
    if let explicit = request.autoRepair { return (explicit, nil) }
    return autoRepairFromEnvironment()
}
