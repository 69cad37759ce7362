import GuardedCheck
import GuardedCore
import GuardedSystem

/// What a repair may use and how it behaves.
public struct RepairOptions: Sendable {
    /// Rebuild from this file instead of the known-good set.
    public var requirements: String?
    /// The interpreter to use when the venv's own `home` no longer works.
    public var python: String?
    /// `--find-links` directories passed to the installer (offline wheelhouses).
    public var findLinks: [String]
    /// Modules that must import in the new venv (the same `--import`s as the agent's check).
    public var imports: [String]
    /// Ignore a recorded failure's backoff (`repair --force`).
    public var ignoreBackoff = false
    /// Build a new generation even when the venv passes the check.
    public var rebuild = false
    /// How long to wait for another repair of the same venv.
    public var waitSeconds: Double = RepairOptions.defaultWaitSeconds
    /// Generations kept besides the current one.
    public var keepGenerations: Int = RepairOptions.defaultKeepGenerations
    /// `--from SOURCE`: one source by name instead of the automatic order (docs/repair.md).
    public var from: String?
    /// `--allow-unpinned`: pyproject.toml and unpinned requirements files join the automatic order.
    public var allowUnpinned = false
    /// The launcher's own repair: nobody is watching, so nothing unpinned is ever installed.
    public var unattended = false
    /// The agent's working directory, when known: its project files are looked for there too.
    public var workingDirectory: String?
    /// How the agent starts (its profile, or the launcher's own start): the `--import` checks before
    /// and after the rebuild run as the agent would (`AgentStart`), and write the cache it reads.
    public var context: AgentContext?
    /// Where the imports are looked for when that is not one agent's context (`venvs repair`:
    /// every agent on the venv, `AgentStart.merged`); nil: from `context`.
    public var start: AgentStart?

    /// The names `--from` takes.
    public static var fromNames: [String] { SourceFinder.fromNames }

    public init(requirements: String? = nil, python: String? = nil, findLinks: [String] = [], imports: [String] = []) {
        self.requirements = requirements.map { normalizedPath(absolutePath($0, relativeTo: currentDirectory())) }
        self.python = python.map { absolutePath($0, relativeTo: currentDirectory()) }
        self.findLinks = findLinks.map { absolutePath($0, relativeTo: currentDirectory()) }
        self.imports = imports
    }

    /// GUARDED_RUN_REPAIR_WAIT seconds, default 300 (`Setting.repairWait`).
    public static var defaultWaitSeconds: Double { Setting.repairWait.value }

    /// GUARDED_RUN_KEEP_GENERATIONS, default 2 (`Setting.keepGenerations`).
    public static var defaultKeepGenerations: Int { Setting.keepGenerations.intValue }

    /// Identifies the options a failure was recorded under: other options deserve their own attempt.
    var key: String {
        let installer: String
        switch Installer.choose() {
        case .uv(let path): installer = "uv:" + path
        case .pip: installer = "pip"
        }
        let text = [requirements ?? "", python ?? "", findLinks.joined(separator: ","),
                    Array(Set(imports)).sorted().joined(separator: ","), installer,
                    from ?? "", allowUnpinned ? "unpinned" : "", workingDirectory ?? ""].joined(separator: "\n")
        return fnv1a64Hex(text)
    }
}

/// How a repair ended, for the fleet helper and the admin commands.
public enum RepairOutcome: Sendable {
    case repaired(summary: String, details: [(String, JSONValue)])
    case rolledBack(summary: String, details: [(String, JSONValue)])
    /// Why nothing was repaired, and the reasons to show and log (the chain of what failed first).
    case failed(RepairError, reasons: [String])

    /// A failure that may pass by itself (the lock was held past the wait bound, a stop signal).
    public var isTransient: Bool {
        guard case .failed(let error, _) = self else { return false }
        return error.isTransient
    }

    /// 0 repaired or rolled back, else the failure's (RepairError.exitCode: 75, 78 or 70).
    public var exitCode: Int32 {
        switch self {
        case .repaired, .rolledBack: return ExitCode.success
        case .failed(let error, _): return error.exitCode
        }
    }
}

/// One repair attempt in full: what the launcher logs.
public struct RepairAttempt: Sendable {
    public enum Result: String, Sendable {
        case repaired, rolledBack = "rolled-back"
        /// Nothing to do: the venv passes the check (another launcher may just have repaired it).
        case healthy
        case failed
        /// A failed attempt's backoff is in effect: nothing was tried.
        case backoff
        /// Busy past the wait bound, or interrupted: exit 75.
        case transient
    }

    public var result: Result
    public var summary: String
    public var reasons: [String]
    public var details: [(String, JSONValue)]
    /// The check of the venv as it is now, when one ran (status and reasons to log).
    public var report: CheckReport?
    /// Why it did not repair: set with `failed`, `backoff` and `transient`.
    public var error: RepairError?
    /// What went wrong on the side without failing the attempt (a record or cache not written),
    /// one line each, for the caller to print.
    public var warnings: [String] = []

    public var outcome: RepairOutcome {
        switch result {
        case .repaired: return .repaired(summary: summary, details: details)
        case .healthy: return .repaired(summary: summary, details: details)
        case .rolledBack: return .rolledBack(summary: summary, details: details)
        case .failed, .backoff, .transient: return .failed(error ?? .step(summary), reasons: reasons)
        }
    }
}

/// Repair and rollback of one venv (docs/auto-repair.md): under the venv's lock, re-check; build a
/// new generation beside the live venv, verify it with the full check, and swap it in with one
/// rename; when that fails, swap back to the newest earlier generation that passes the check; when
/// nothing works, remember the failure so restarts do not repeat it.
public struct Repairer: Sendable {
    public let state: StateDirectory

    public init(state: StateDirectory) { self.state = state }

    // MARK: repair

    /// The launcher's entry: `checked` is the check that just failed and the venv path's lstat
    /// taken before it (so the re-check under the lock can be skipped when nothing moved).
    public func attempt(venv: String, options: RepairOptions,
                        checked: (report: CheckReport, identity: FileStatus?)? = nil) -> RepairAttempt {
        let started = Clock.monotonicNanoseconds()
        StopSignals.install()
        defer { StopSignals.restore() }
        var warnings: [String] = []
        let locked = underLock(venv: venv, waitSeconds: options.waitSeconds) { layout, recovered in
            .success(attempt(layout: layout, recovered: recovered, options: options, checked: checked, started: started,
                             warnings: &warnings))
        }
        var result: RepairAttempt
        switch locked {
        case .success(let done): result = done
        case .failure(let error): result = stopped(error)
        }
        result.warnings = warnings
        return result
    }

    /// The attempt, under the venv's lock: re-check, build, verify and swap, else roll back, else
    /// remember the failure.
    private func attempt(layout: GenerationLayout, recovered: [String], options: RepairOptions,
                         checked: (report: CheckReport, identity: FileStatus?)?, started: Int64,
                         warnings: inout [String]) -> RepairAttempt {
        let venv = layout.venv

        // Re-check under the lock: another launcher may have repaired it while we waited. The
        // launcher's check stands when the venv path has not moved; when it has (a new generation
        // linked in), the fingerprint the other repair cached for these imports decides, read as the
        // launcher reads it (it matches the venv as it is now): no second probe. Only a miss runs
        // the full check.
        var report: CheckReport
        if let checked, recovered.isEmpty, sameIdentity(checked.identity, fileStatusIfPresent(venv)) {
            report = checked.report
        } else if checked != nil, recovered.isEmpty, !options.rebuild,
                  Fingerprint.launcherVerdict(state: state, venv: venv, imports: options.imports, context: options.context)?.status == CheckReport.Status.healthy.rawValue {
            RepairInProgress.end(venv: venv)
            return RepairAttempt(result: .healthy, summary: "venv \(venv) is healthy: nothing to repair", reasons: [],
                                 details: [("repair_wait", .object([("result", .string("healthy")), ("checked_by", .string("fingerprint"))]))],
                                 report: nil)
        } else {
            report = FullCheck.run(venv: venv, imports: options.imports, context: options.context, start: options.start)
        }
        if report.transient {
            return stopped(.interrupted("the check of \(venv) did not finish: \(report.reasons.first ?? "")"))
        }
        if report.status != .broken && !options.rebuild {
            RepairInProgress.end(venv: venv)
            report.origin = "repair"
            _ = try? report.saveCache(state: state)
            return RepairAttempt(result: .healthy, summary: "venv \(venv) is \(report.status.rawValue): nothing to repair",
                                 reasons: report.reasons, details: [("repair_wait", .object([("result", .string("healthy")), ("checked_by", .string("probe"))]))],
                                 report: report)
        }
        // We hold the lock, so an attempt recorded as in progress has no live holder: it was killed
        // or stopped mid-build, and counts as a failure (its own options' backoff).
        if let left = RepairInProgress.left(venv: venv) {
            let recorded = RepairFailure.record(venv: venv, optionsKey: left.optionsKey ?? options.key, reasons: [left.reason] + report.reasons,
                                                tried: [], watchPaths: failureWatchPaths(venv: venv, report: report, options: options))
            if let warning = recorded.warning { warnings.append(warning) }
            RepairInProgress.end(venv: venv)
        }
        if !options.ignoreBackoff, let failure = RepairFailure.inEffect(venv: venv, optionsKey: options.key) {
            return backoff(failure, report: report)
        }
        let brokenReasons = report.reasons

        // The host-wide limit (GUARDED_RUN_MAX_REPAIRS): taken for the build, after the venv's lock.
        let (slotResult, slotNote) = RepairSlots.acquire(venv: venv, waitSeconds: options.waitSeconds)
        if let slotNote { warnings.append(slotNote) }
        let slot: RepairSlots.Slot?
        switch slotResult {
        case .success(let s): slot = s
        case .failure(let error): return stopped(error)
        }
        defer { withExtendedLifetime(slot) {} }
        TestHooks.reached("slot")
        // Removed when this attempt ends, whatever the result; left behind only by a kill or a stop
        // signal, for the next holder of the lock to count.
        if let warning = RepairInProgress.begin(venv: venv, optionsKey: options.key) { warnings.append(warning) }
        var interrupted = false
        defer { if !interrupted { RepairInProgress.end(venv: venv) } }

        // Build beside, verify, swap.
        var tried: [String] = []
        var failureChain: [String] = []
        var previous = layout.currentGeneration
        let wasPlain = layout.state() == .plain
        switch build(layout: layout, report: report, options: options, tried: &tried) {
        case .success(let built):
            var details = built.details
            if wasPlain { previous = 0 }
            details.append(("previous_generation", previous.map { .number(Double($0)) } ?? .null))
            details.append(("adopted", .bool(wasPlain)))
            details.append(("broken_reasons", JSONValue(brokenReasons)))
            if !recovered.isEmpty { details.append(("recovered", JSONValue(recovered))) }
            let (pruned, cacheProbes) = finish(layout: layout, report: built.report, options: options, warnings: &warnings)
            if !pruned.isEmpty { details.append(("pruned", .array(pruned.map { .number(Double($0)) }))) }
            // Full checks of the live venv after the swap, for its fingerprint: 0 unless something
            // besides this repair changed what the verification saw.
            details.append(("cache_probes", .number(Double(cacheProbes))))
            details.append(("duration_ms", .number(Double((Clock.monotonicNanoseconds() - started) / 1_000_000))))
            let mismatchLines = built.mismatches.map { "\nwarning: \($0)" }.joined()
            return RepairAttempt(result: .repaired,
                                 summary: "repaired \(venv): generation \(built.generation) built with \(built.interpreter) and \(built.installer) from \(built.source)" + mismatchLines,
                                 reasons: built.report.reasons,
                                 details: [("repair", .object([("result", .string("repaired"))] + details))],
                                 report: built.report)
        case .failure(let error):
            if error.isTransient { interrupted = true; return stopped(error) }
            failureChain.append(error.reason(failing: "repair"))
        }

        // Roll back to the newest earlier generation that passes the check.
        switch rollback(layout: layout, options: options, to: nil) {
        case .success(let back):
            let (pruned, _) = finish(layout: layout, report: back.report, options: options, warnings: &warnings)
            var details: [(String, JSONValue)] = [
                ("result", .string("rolled-back")), ("generation", .number(Double(back.generation))),
                ("from_generation", previous.map { .number(Double($0)) } ?? .null),
                ("repair_failure", .string(failureChain.joined(separator: "; "))), ("tried", JSONValue(tried)),
                ("broken_reasons", JSONValue(brokenReasons)),
            ]
            if !pruned.isEmpty { details.append(("pruned", .array(pruned.map { .number(Double($0)) }))) }
            details.append(("duration_ms", .number(Double((Clock.monotonicNanoseconds() - started) / 1_000_000))))
            return RepairAttempt(result: .rolledBack,
                                 summary: "rolled \(venv) back to generation \(back.generation) (\(failureChain.joined(separator: "; ")))",
                                 reasons: back.report.reasons, details: [("repair", .object(details))], report: back.report)
        case .failure(let error):
            if error.isTransient { interrupted = true; return stopped(error) }
            failureChain.append(error.reason(failing: "rollback"))
            tried.append("rollback: \(error)")
        }

        // Nothing worked: remember it, so restarts fail closed fast until something changes.
        let reasons = failureChain + brokenReasons
        let (failure, warning) = RepairFailure.record(venv: venv, optionsKey: options.key, reasons: reasons, tried: tried,
                                                      watchPaths: failureWatchPaths(venv: venv, report: report, options: options))
        if let warning { warnings.append(warning) }
        return RepairAttempt(result: .failed, summary: "", reasons: reasons, details: [("repair", .object([
            ("result", .string("failed")), ("attempt", .number(Double(failure.attempts))),
            ("retry_after", .string(failure.retryAfterText)), ("tried", JSONValue(tried)),
            ("duration_ms", .number(Double((Clock.monotonicNanoseconds() - started) / 1_000_000))),
        ]))], report: report, error: .step(failureChain.joined(separator: "; ")))
    }

    /// After a passing check with the flag on: removes what a killed repair left in the generations
    /// directory (a half-deleted `.trash-`, a `.build-`, its in-progress record: the venv passes, so
    /// there is nothing to back off from), when no repair is running. One readdir and one lstat when
    /// there is nothing to do.
    public func tidy(venv: String) {
        let layout = GenerationLayout(venv: venv)
        guard let names = try? directoryEntries(layout.generationsDirectory),
              names.contains(where: { $0.hasPrefix(".build-") || $0.hasPrefix(".trash-") }) || RepairInProgress.exists(venv: venv),
              case .success(let lock) = RepairLock.acquire(venv: venv, waitSeconds: 0) else { return }
        withExtendedLifetime(lock) {
            _ = layout.recover(current: nil)
            RepairInProgress.end(venv: venv)
        }
    }

    /// The launcher's first look, before any check: a recorded failure still in effect means fail
    /// closed now (a few lstat calls), without the full check and without another attempt.
    public func backoffInEffect(venv: String, options: RepairOptions) -> RepairAttempt? {
        guard let failure = RepairFailure.inEffect(venv: venv, optionsKey: options.key) else { return nil }
        return backoff(failure, report: nil)
    }

    private func backoff(_ failure: RepairFailure, report: CheckReport?) -> RepairAttempt {
        let summary = "repair failed at \(failure.failedAt) (attempt \(failure.attempts)); no new attempt before \(failure.retryAfterText) unless something changes (or run \(programName) repair --venv \(failure.venv) --force)"
        return RepairAttempt(result: .backoff, summary: summary, reasons: failure.reasons,
                             details: [("repair_backoff", .object([
                                 ("failed", .string(failure.failedAt)), ("attempts", .number(Double(failure.attempts))),
                                 ("retry_after", .string(failure.retryAfterText)),
                             ]))], report: report, error: .step(summary))
    }

    /// An attempt that ended on `error` before anything was built or swapped: transient (75, no
    /// backoff) when it may pass by itself, else failed.
    private func stopped(_ error: RepairError) -> RepairAttempt {
        if error.isTransient {
            return RepairAttempt(result: .transient, summary: error.description, reasons: [error.description], details: [], error: error)
        }
        return RepairAttempt(result: .failed, summary: "", reasons: [error.reason(failing: "repair")], details: [], error: error)
    }

    private func sameIdentity(_ a: FileStatus?, _ b: FileStatus?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.device == b.device && a.inode == b.inode && a.mode == b.mode && a.mtimeNs == b.mtimeNs && a.ctimeNs == b.ctimeNs
    }

    // MARK: build

    struct Built {
        var generation: Int
        var interpreter: String
        var installer: String
        var source: String
        var report: CheckReport
        var details: [(String, JSONValue)]
        /// Reinstalled files that differ from the broken venv's RECORD (dist-info rebuilds).
        var mismatches: [String] = []
    }

    /// Everything a rebuild needs to know before it starts, or why it cannot start.
    struct Recipe {
        var source: RebuildSource
        var interpreter: InterpreterChoice
        var installer: Installer
        /// Candidate sources passed over, for the plan.
        var notes: [PassedOver]
    }

    func recipe(venv: String, report: CheckReport, options: RepairOptions) -> Result<Recipe, RepairError> {
        let knownGood = KnownGood.load(state: state, venv: venv)
        let finder = SourceFinder(venv: venv, state: state, options: options)
        let (chosen, notes) = finder.choose()
        let source: RebuildSource
        switch chosen {
        case .success(let s): source = s
        case .failure(let e): return .failure(e)
        }
        // A wheelhouse that does not exist is the installer's business (pip warns and goes on).
        for dir in Installer.localFindLinks(options.findLinks + source.findLinks) where fileExists(dir) {
            if let e = finder.safety(dir) { return .failure(e) }
        }
        let config = try? PyvenvConfig.load(venv: venv)
        let wanted = knownGood.flatMap { majorMinor(of: $0.pythonVersion) } ?? config?.majorMinor
        let interpreter: InterpreterChoice
        switch InterpreterSearch.choose(home: report.home ?? config?.home, wanted: wanted, explicit: options.python) {
        case .success(let choice): interpreter = choice
        case .failure(let error): return .failure(error)
        }
        var installer = Installer(kind: Installer.choose(), interpreter: interpreter.path,
                                  findLinks: options.findLinks, timeoutSeconds: Installer.defaultTimeout)
        installer.runAs = buildUser(venv: venv)
        return .success(Recipe(source: source, interpreter: interpreter, installer: installer, notes: notes))
    }

    /// Root repairing a venv that belongs to someone else builds it as that user.
    func buildUser(venv: String) -> UserIdentity? {
        guard CurrentProcess.effectiveUserID == 0, let st = fileStatusIfPresent(venv, followSymlinks: true) ?? fileStatusIfPresent(parentDirectory(of: venv)),
              st.uid != 0 else { return nil }
        return UserIdentity(uid: st.uid, gid: st.gid)
    }

    private func build(layout: GenerationLayout, report: CheckReport, options: RepairOptions,
                       tried: inout [String]) -> Result<Built, RepairError> {
        let venv = layout.venv
        if case .foreign(let what) = layout.state() {
            return .failure(.step("\(venv) is \(what), not a venv or a generation link of \(programName): left alone"))
        }
        let recipe: Recipe
        switch self.recipe(venv: venv, report: report, options: options) {
        case .success(let r): recipe = r
        case .failure(let e): tried.append(e.description); return .failure(e)
        }
        let installer = recipe.installer
        tried.append("interpreter \(recipe.interpreter.path) (Python \(recipe.interpreter.version)): \(recipe.interpreter.reason)")
        tried.append("installer \(installer.name), from \(recipe.source.description)")

        let n: Int
        let buildPath: String
        do {
            try layout.prepareGenerationsDirectory()
            n = layout.nextNumber()
            buildPath = layout.generationsDirectory + "/.build-\(n)-" + randomHex(4)
        } catch {
            return .failure(.system(step: "generations", error))
        }
        func discard(_ error: RepairError) -> Result<Built, RepairError> {
            try? removeTree(buildPath)
            return .failure(error)
        }
        if let user = installer.runAs { try? changeOwner(layout.generationsDirectory, uid: user.uid, gid: user.gid) }
        if case .failure(let e) = installer.build(at: buildPath, source: recipe.source) { return discard(e) }
        do {
            try ScriptPaths.rewrite(generation: buildPath, from: buildPath, to: venv)
        } catch {
            return discard(.system(step: "rewrite", error))
        }
        TestHooks.reached("rewrite")
        if let signal = StopSignals.received { return discard(.signal(signal)) }

        let verify = FullCheck.run(venv: buildPath, imports: options.imports, context: options.context, start: options.start)
        TestHooks.reached("verify")
        if verify.status == .broken || verify.transient {
            return discard(.step("verification of the new venv failed: \(verify.reasons.first ?? "unknown")"))
        }
        if let signal = StopSignals.received { return discard(.signal(signal)) }
        // Root built a user's venv: whatever root wrote in it (the rewritten scripts, the check's
        // bytecode) becomes the user's before it is promoted.
        if let user = installer.runAs {
            do { try changeOwnerOfTree(buildPath, uid: user.uid, gid: user.gid) } catch {
                return discard(.system(step: "ownership", error))
            }
        }
        // A rebuild from dist-info: the reinstalled files against the old RECORDs.
        let mismatches = RecordComparison.mismatches(recipe.source.records, sitePackages: sitePackages(of: buildPath))

        // Promote: durable first (every file of the new tree), then its final name, then the swap.
        let final = layout.path(of: n)
        let wasPlain = layout.state() == .plain
        do {
            try syncFileSystem(containing: buildPath)
            try renameItem(buildPath, to: final)
            try syncDirectory(layout.generationsDirectory)
        } catch {
            return discard(.system(step: "promote", error))
        }
        TestHooks.reached("promote")
        let record = GenerationRecord(generation: n, source: recipe.source.description, interpreter: recipe.interpreter.path,
                                      pythonVersion: verify.pythonVersion ?? recipe.interpreter.version,
                                      installer: installer.name, packages: verify.distributions.count)
        try? record.save(state: state, venv: venv)
        do {
            if wasPlain {
                try layout.adopt()
                let original = KnownGood.load(state: state, venv: venv)
                try? GenerationRecord(generation: 0, source: "adopted", interpreter: original?.interpreter ?? "",
                                      pythonVersion: original?.pythonVersion ?? "", installer: "",
                                      packages: original?.distributions.count ?? 0).save(state: state, venv: venv)
            }
            try layout.point(to: n)
            if let user = installer.runAs { try? changeOwner(venv, uid: user.uid, gid: user.gid) }
        } catch {
            // The venv path still names the old venv (each step above is one rename); the new
            // generation stays beside it for the operator, and rollback may still pick it up.
            return .failure(.system(step: "swap", error))
        }
        TestHooks.reached("swapped")

        var live = relocated(verify, from: buildPath, to: venv)
        live.checkedAt = Clock.nowRFC3339()
        // Built, renamed and linked by this repair alone, under the lock: cached without a second probe.
        live.writtenByRepair = true
        let source = "\(recipe.source.description) (\(recipe.source.requirements.count) packages: \(recipe.source.why))"
        var details: [(String, JSONValue)] = [
                                  ("generation", .number(Double(n))), ("source", .string(recipe.source.description)),
                                  ("source_reason", .string(recipe.source.why)),
                                  ("packages", .number(Double(verify.distributions.count))),
                                  ("interpreter", .string(recipe.interpreter.path)),
                                  ("python_version", .optional(verify.pythonVersion)),
                                  ("interpreter_reason", .string(recipe.interpreter.reason)),
                                  ("installer", .string(installer.name)),
                              ]
        if installer.runAs != nil { details.append(("built_as_uid", .number(Double(installer.runAs?.uid ?? 0)))) }
        if !recipe.source.records.isEmpty { details.append(("record_mismatches", JSONValue(mismatches))) }
        return .success(Built(generation: n, interpreter: recipe.interpreter.path, installer: installer.name, source: source,
                              report: live, details: details, mismatches: mismatches))
    }

    /// `<venv>/lib/pythonX.Y/site-packages`, or nil.
    func sitePackages(of venv: String) -> String? {
        SourceFinder(venv: venv, state: state, options: RepairOptions()).sitePackages
    }

    /// After a swap: the cache for the venv path (the check ran at the generation's own path; its
    /// watch list is the same files seen through the venv symlink), no failure record, old
    /// generations pruned.
    private func finish(layout: GenerationLayout, report: CheckReport, options: RepairOptions,
                        warnings: inout [String]) -> (pruned: [Int], cacheProbes: Int) {
        RepairFailure.clear(venv: layout.venv)
        let pruned = layout.prune(keep: options.keepGenerations)
        for n in pruned { GenerationRecord.remove(state: state, venv: layout.venv, generation: n) }
        // The cache last: a start after a crash before this point takes the slow path, whose
        // passing check tidies what the crash left (`tidy`).
        // The verification ran at the build's path and the swap came after it, so its watch list did
        // not hold still: a repair's own build and swap are waited out (`writtenByRepair`, at most
        // the timestamp granularity); anything else that moved means the live venv is checked once
        // more (FullCheck.cache), as after a rollback.
        var report = report
        report.origin = "repair"
        let cached = FullCheck.cache(report, state: state)
        if let error = cached.error { warnings.append("cannot write the fingerprint cache: \(error)") }
        return (pruned, cached.probes)
    }

    /// The report of a check that ran at `from`, as if it had run at `to`.
    func relocated(_ report: CheckReport, from: String, to: String) -> CheckReport {
        var r = report
        r.venv = to
        func move(_ p: String) -> String {
            if p == from { return to }
            if p.hasPrefix(from + "/") { return to + p.dropFirst(from.count) }
            return p
        }
        r.watchPaths = report.watchPaths.map(move)
        r.baseline = report.baseline.map { WatchEntry(path: move($0.path), status: $0.status) }
        return r
    }

    // MARK: rollback

    struct RolledBack {
        var generation: Int
        var report: CheckReport
        /// Candidates passed over on the way (newest first), each with why.
        var skipped: [String] = []
    }

    /// Swaps the venv path to generation `target`, or to the newest earlier one that passes the
    /// full check. Each candidate is checked at its own path before the swap.
    func rollback(layout: GenerationLayout, options: RepairOptions, to target: Int?) -> Result<RolledBack, RepairError> {
        guard case .generation(let current) = layout.state() else {
            return .failure(.step("no earlier generation: \(layout.venv) has never been repaired (it is not in the generations layout)"))
        }
        let candidates = target.map { [$0] } ?? layout.generations().filter { $0 != current }.sorted(by: >)
        if candidates.isEmpty { return .failure(.step("no earlier generation in \(layout.generationsDirectory)")) }
        var notes: [String] = []
        for n in candidates {
            if let signal = StopSignals.received { return .failure(.signal(signal)) }
            let path = layout.path(of: n)
            guard isDirectory(path) else { notes.append("generation \(n): \(Errno.noSuchFileOrDirectory)"); continue }
            let check = FullCheck.run(venv: path, imports: options.imports, context: options.context, start: options.start)
            if check.status == .broken || check.transient {
                notes.append("generation \(n) is broken: \(check.reasons.first ?? "unknown")")
                continue
            }
            if n == current { return .success(RolledBack(generation: n, report: relocated(check, from: path, to: layout.venv), skipped: notes)) }
            TestHooks.reached("rollback")
            do {
                try layout.point(to: n)
                if let user = buildUser(venv: path) { try? changeOwner(layout.venv, uid: user.uid, gid: user.gid) }
            } catch {
                return .failure(.system(step: "swap to generation \(n)", error))
            }
            var live = relocated(check, from: path, to: layout.venv)
            live.checkedAt = Clock.nowRFC3339()
            return .success(RolledBack(generation: n, report: live, skipped: notes))
        }
        return .failure(.step(notes.joined(separator: "; ")))
    }

    /// `rollback --venv DIR [--to GEN]`: under the lock, swap back (the target is checked first).
    public func rollback(venv: String, to target: Int?, options: RepairOptions) -> RepairOutcome {
        StopSignals.install()
        defer { StopSignals.restore() }
        let done = underLock(venv: venv, waitSeconds: options.waitSeconds) { layout, _ in
            let from = layout.currentGeneration
            return rollback(layout: layout, options: options, to: target).map { back -> RepairOutcome in
                var checked = back.report
                checked.origin = "repair"
                _ = FullCheck.cache(checked, state: state)
                RepairFailure.clear(venv: venv)
                // `--to` a newer generation than the current one goes forward, and says so.
                let forward = from.map { back.generation > $0 } ?? false
                return .rolledBack(summary: "rolled \(venv) \(forward ? "forward" : "back") from generation \(from.map(String.init) ?? "?") to \(forward ? "newer generation " : "")\(back.generation)",
                                   details: [("repair", .object([("result", .string(forward ? "rolled-forward" : "rolled-back")),
                                                                 ("generation", .number(Double(back.generation))),
                                                                 ("from_generation", from.map { .number(Double($0)) } ?? .null),
                                                                 ("skipped", JSONValue(back.skipped))]))])
            }
        }
        switch done {
        case .success(let outcome): return outcome
        case .failure(let error): return .failed(error, reasons: [error.reason(failing: "rollback")])
        }
    }

    // MARK: watch list of a failure

    func failureWatchPaths(venv: String, report: CheckReport, options: RepairOptions) -> [String] {
        var paths = [venv, venv + "/pyvenv.cfg", venv + "/bin", venv + "/bin/python", venv + ".generations",
                     KnownGood.path(state: state, venv: venv)]
        paths += InterpreterChain(start: venv + "/bin/python").hops
        paths += report.watchPaths
        if let home = report.home { paths.append(home) }
        if let r = options.requirements { paths.append(r) }
        // A project file appearing (or changing) next to the venv deserves a new attempt.
        let finder = SourceFinder(venv: venv, state: state, options: options)
        for dir in finder.projectDirectories {
            paths.append(dir)
            paths += (["uv.lock", "pylock.toml", "pyproject.toml", "Pipfile.lock"] + SourceFinder.pinnedNames).map { dir + "/" + $0 }
        }
        if let p = options.python { paths += InterpreterChain(start: p).hops }
        paths += options.findLinks
        paths += InterpreterSearch.installPlaces()
        return paths
    }
}
