import GuardedCore
import GuardedRepair
import GuardedSystem

/// `guarded-run repair --venv DIR [--requirements F] [--python P] [--find-links D]... [--import M]...
/// [--rebuild] [--force]`: prints the plan; with --force, repairs (ignoring a recorded failure's backoff).
/// Exit 0 repaired (or nothing to do), 78 not repaired, 75 another repair held the lock / interrupted.
public enum RepairCommand: AdminCommand {
    public static let name = "repair"
    public static let summary = "rebuild a broken venv beside it and swap it in (dry run unless --force)"
    public static let spec = CommandSpec(
        "repair",
        options: [
            venvOption("the venv to repair"),
            agentOption,
            .value("--requirements", as: "FILE", help: "rebuild from this file (requirements.txt, uv.lock, pylock.toml, Pipfile.lock, pyproject.toml)"),
            fromOption("rebuild from this source: known-good, uv.lock, pylock.toml, requirements.txt, requirements.lock, requirements-lock.txt, Pipfile.lock, dist-info, pyproject.toml"),
            .flag("--allow-unpinned", help: "let pyproject.toml and unpinned requirements files join the automatic order"),
            .value("--python", as: "PATH", help: "interpreter to use when the venv's own no longer works"),
            .repeated("--find-links", as: "DIR", help: "a local wheelhouse for the installer (repeatable)"),
            importOption("a module that must import in the new venv (repeatable)"),
            .flag("--rebuild", help: "build a new generation even when the venv is healthy"),
            .flag("--force", help: "do it (default: print the plan); ignores a failed repair's backoff"),
            jsonOption,
            stateDirOption,
        ],
        alternatives: [venvOrAgent, .atMostOne(["--requirements"], ["--from"])])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        if let problem = RepairSlots.settingProblem { throw UsageError(problem) }
        let state = try stateDirectory(arguments)
        let selection = try selectAgent(arguments, state: state)
        let venv = selection.venv
        var options = try selection.repairOptions(arguments)
        options.rebuild = arguments.has("--rebuild")
        options.allowUnpinned = arguments.has("--allow-unpinned")
        options.from = try fromSource(arguments)
        options.ignoreBackoff = true
        let repairer = Repairer(state: state)
        if arguments.has("--json") { return try json(repairer: repairer, venv: venv, options: options, force: arguments.has("--force")) }
        guard arguments.has("--force") else {
            Output.standardOutput(repairer.plan(venv: venv, options: options).lines().joined(separator: "\n") + "\n" + dryRunNote)
            return ExitCode.success
        }
        let attempt = repairer.repairByHand(venv: venv, options: options)
        attempt.warnings.forEach { Diagnostics.warning($0) }
        let outcome = attempt.outcome
        switch outcome {
        case .repaired(let summary, _), .rolledBack(let summary, _):
            Output.standardOutput(summary + "\n")
        case .failed(_, let reasons):
            throw CommandFailure("\(venv): \(reasons.prefix(3).joined(separator: "; "))", exitCode: outcome.exitCode)
        }
        return outcome.exitCode
    }

    /// `repair --json` (docs/repair.md): one object whatever the outcome, with the plan made just
    /// before; a failure also prints its one line on stderr and exits as without `--json`.
    static func json(repairer: Repairer, venv: String, options: RepairOptions, force: Bool) throws -> Int32 {
        let plan = repairer.plan(venv: venv, options: options)
        let attempt = force ? repairer.repairByHand(venv: venv, options: options) : nil
        attempt?.warnings.forEach { Diagnostics.warning($0) }
        let report = attempt.map { RepairReport(venv: venv, plan: plan, attempt: $0) } ?? RepairReport(venv: venv, plan: plan)
        Output.standardOutput(report.json().serialized(pretty: true) + "\n")
        if report.exitCode != ExitCode.success {
            throw CommandFailure("\(venv): \(report.errors.prefix(3).joined(separator: "; "))", exitCode: report.exitCode)
        }
        return report.exitCode
    }
}

/// `--from SOURCE`: repair's and `venvs repair`'s; `help` names the sources or points to repair's.
func fromOption(_ help: String) -> OptionSpec { .value("--from", as: "SOURCE", help: help) }

/// `--from SOURCE`, checked against the names the repair knows; not with `--requirements`.
func fromSource(_ arguments: ParsedArguments) throws -> String? {
    guard let from = arguments.value("--from") else { return nil }
    guard RepairOptions.fromNames.contains(from) else {
        throw UsageError("--from \(from): not a source (\(RepairOptions.fromNames.joined(separator: ", ")))")
    }
    if arguments.value("--requirements") != nil { throw UsageError("--from and --requirements name two sources: give one") }
    return from
}
