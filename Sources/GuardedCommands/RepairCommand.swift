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
        let outcome = repairer.repairByHand(venv: venv, options: options).outcome
        switch outcome {
        case .repaired(let summary, _), .rolledBack(let summary, _):
            Output.standardOutput(summary + "\n")
        case .failed(let reasons):
            throw CommandFailure("\(venv): \(reasons.prefix(3).joined(separator: "; "))", exitCode: outcome.exitCode)
        }
        return outcome.exitCode
    }

    /// `repair --json` (docs/repair.md): one object whatever the outcome, with the plan made just
    /// before; a failure also prints its one line on stderr and exits as without `--json`.
    static func json(repairer: Repairer, venv: String, options: RepairOptions, force: Bool) throws -> Int32 {
        let plan = repairer.plan(venv: venv, options: options)
        func number(_ n: Int?) -> JSONValue { n.map { .number(Double($0)) } ?? .null }
        var result = "dry-run", summary = "", warnings: [String] = [], errors: [String] = []
        var from = plan.currentGeneration, to = plan.newGeneration
        var exitCode = ExitCode.success
        if let impossible = plan.impossible { warnings.append("repair impossible: \(impossible)") }
        if force {
            let attempt = repairer.repairByHand(venv: venv, options: options)
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
        let report = JSONValue.object([
            ("venv", .string(venv)), ("dry_run", .bool(!force)), ("result", .string(result)),
            ("from_generation", number(from)), ("to_generation", number(to)), ("summary", .string(summary)),
            ("plan", plan.json()), ("warnings", JSONValue(warnings)), ("errors", JSONValue(errors)),
            ("exit_code", .number(Double(exitCode))),
        ])
        Output.standardOutput(report.serialized(pretty: true) + "\n")
        if exitCode != ExitCode.success {
            throw CommandFailure("\(venv): \(errors.prefix(3).joined(separator: "; "))", exitCode: exitCode)
        }
        return exitCode
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
