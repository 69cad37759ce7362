import GuardedCheck
import GuardedCore
import GuardedRepair
import GuardedSystem

/// The launcher's slow path, taken when the cached fingerprint is missing or no longer matches:
/// the full check; on success the cache is rewritten and the agent starts; on failure it fails
/// closed (78), or, behind ENABLE_AUTO_REPAIR, repair and rollback get their turn.
public func launcherSlowPath(_ context: LaunchContext) -> SlowPathOutcome {
    var flag = autoRepairSetting(context.request)
    if let note = flag.note {
        Diagnostics.warning(note, agent: context.agent, venv: context.venv)
    }
    // Observe mode changes nothing: no repair, no rollback, whatever the flag says.
    if context.observe { flag.enabled = false }
    // Behind the flag only: a repair that failed recently, with nothing changed since, is not
    // re-run (nor is the full check): fail closed in a few lstat calls.
    var identity: FileStatus? = nil
    if flag.enabled {
        let repairer = Repairer(state: context.state)
        if let held = repairer.backoffInEffect(venv: context.venv, options: repairOptions(context)) {
            return refuseAfterRepair(context, held, extra: [])
        }
        identity = fileStatusIfPresent(context.venv)
    }
    var report = FullCheck.run(venv: context.venv, imports: context.request.imports, context: context.agentContext,
                               probeCache: context.stateUsable ? context.state : nil)
    report.origin = "launcher"
    // Cached only when nothing moved under the probe; else checked once more (FullCheck.cache).
    // Without a usable state directory nothing is cached (said once per boot by the launcher).
    var cacheNote: String? = nil
    if report.status != .broken, context.stateUsable {
        let cached = FullCheck.cache(report, state: context.state)
        report = cached.report
        cacheNote = cached.skipped
        if let error = cached.error {
            Diagnostics.warning("cannot write the fingerprint cache: \(error)", agent: context.agent, venv: context.venv)
        }
    }
    var extra: [(String, JSONValue)] = [("probe_ms", .number(Double(report.durationNanoseconds / 1_000_000)))]
    if let note = flag.note { extra.append(("auto_repair_note", .string(note))) }
    if let cacheNote { extra.append(("cache", .string(cacheNote))) }

    if report.status != .broken {
        if flag.enabled { Repairer(state: context.state).tidy(venv: context.venv) }
    }
    if report.status != .broken {
        return .start(context.record(report.status.rawValue, .checkedOK, reasons: report.reasons, extra: extra))
    }
    if report.transient {
        let reason = report.reasons.first ?? "the check did not finish"
        return .refuse(context.record("unknown", .transient, reasons: report.reasons, extra: extra),
                       exitCode: ExitCode.temporaryFailure,
                       message: Diagnostics.line("venv \(context.venv) could not be checked: \(reason); try again", agent: context.agent))
    }
    if flag.enabled {
        return repairAndStart(context, report: report, identity: identity, extra: extra)
    }
    return .refuse(context.record("broken", .failedClosed, reasons: report.reasons, extra: extra),
                   exitCode: ExitCode.broken, message: report.failClosedLine(agent: context.agent, stateDir: context.request.stateDir == nil ? nil : context.state.path))
}

/// The venv is broken and auto-repair is on: repair or roll back under the venv's lock, then start
/// the agent on the result; fail closed (78) with the chain of reasons when nothing works; 75 when
/// another repair outlasts the wait bound or a stop signal arrives.
func repairAndStart(_ context: LaunchContext, report: CheckReport, identity: FileStatus?,
                    extra: [(String, JSONValue)]) -> SlowPathOutcome {
    let repairer = Repairer(state: context.state)
    var attempt = repairer.attempt(venv: context.venv, options: repairOptions(context),
                                   checked: (report, identity))
    attempt.warnings.forEach { Diagnostics.warning($0) }
    // Who did it, as in a CLI action's record (ActionRecord): the start's `repair` object says `by`.
    attempt.details = attempt.details.map { key, value in
        guard key == "repair", case .object(let fields) = value else { return (key, value) }
        return (key, .object(fields + [("by", .string("launcher"))]))
    }
    if let signal = StopSignals.received, attempt.result != .failed {
        // Asked to stop: whatever was done is complete (a swap is one rename); do not start the agent.
        return .refuse(context.record("unknown", .transient, reasons: [RepairError.signal(signal).description], extra: extra + attempt.details),
                       exitCode: ExitCode.temporaryFailure,
                       message: Diagnostics.line("interrupted by signal \(signal) during the repair of \(context.venv); not started", agent: context.agent))
    }
    let status = attempt.report?.status.rawValue ?? "healthy"
    switch attempt.result {
    case .repaired, .rolledBack, .healthy:
        let decision: Decision = attempt.result == .repaired ? .repaired : attempt.result == .rolledBack ? .rolledBack : .checkedOK
        // Repairs are warnings in the journal (<4>): the venv broke, even though the agent started.
        writeStandardError(Diagnostics.line(attempt.summary, agent: context.agent), priority: 4,
                           event: JournalEvent(decision == .rolledBack ? .rolledBack : .repaired, agent: context.agent,
                                               venv: context.venv, decision: decision.rawValue))
        return .start(context.record(status, decision, reasons: attempt.reasons, extra: extra + attempt.details))
    case .transient:
        return .refuse(context.record("unknown", .transient, reasons: attempt.reasons, extra: extra + attempt.details),
                       exitCode: ExitCode.temporaryFailure,
                       message: Diagnostics.line("venv \(context.venv): \(attempt.summary)", agent: context.agent))
    case .failed, .backoff:
        return refuseAfterRepair(context, attempt, extra: extra)
    }
}

/// Fail closed after a failed repair (or during its backoff): one line with the chain of reasons.
func refuseAfterRepair(_ context: LaunchContext, _ attempt: RepairAttempt, extra: [(String, JSONValue)]) -> SlowPathOutcome {
    var chain = attempt.reasons.prefix(3).joined(separator: "; ")
    if attempt.result == .backoff { chain = attempt.summary + ": " + chain }
    return .refuse(context.record("broken", .failedClosed, reasons: attempt.reasons, extra: extra + attempt.details),
                   exitCode: ExitCode.broken,
                   message: Diagnostics.line("venv \(context.venv) is broken and was not repaired: \(chain) (see \(programName) repair --venv \(context.venv))", agent: context.agent))
}

/// The launcher's options as the repairer takes them.
func repairOptions(_ context: LaunchContext) -> RepairOptions {
    let request = context.request
    var options = RepairOptions(requirements: request.requirements, python: request.python, findLinks: request.findLinks,
                                imports: request.imports)
    // Nobody watches a launcher's repair: never from an unpinned source.
    options.unattended = true
    options.workingDirectory = currentDirectory()
    options.context = context.agentContext
    return options
}

/// `--auto-repair` / `--no-auto-repair` win over ENABLE_AUTO_REPAIR.
func autoRepairSetting(_ request: LaunchRequest) -> (enabled: Bool, note: String?) {
    if let explicit = request.autoRepair { return (explicit, nil) }
    return autoRepairFromEnvironment()
}
