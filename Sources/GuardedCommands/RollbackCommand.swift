import GuardedCore
import GuardedRepair
import GuardedSystem

/// `guarded-run rollback --venv DIR [--to GEN] [--force] [--json]`: points the venv back at an
/// earlier generation (the newest one that passes the full check, or GEN), after checking it.
/// Dry run unless --force. Exit 0 rolled back, 78 no generation passes, 75 busy / interrupted.
public enum RollbackCommand: AdminCommand {
    public static let name = "rollback"
    public static let summary = "point a venv back at an earlier generation (dry run unless --force)"
    public static let spec = CommandSpec(
        "rollback",
        options: [
            venvOption("the venv to roll back"),
            agentOption,
            .value("--to", as: "GENERATION", help: "the generation to go back to (default: the newest earlier one that passes)"),
            importOption("a module that must import in the target (repeatable)"),
            .flag("--force", help: "do it (default: print the plan)"),
            jsonOption,
            stateDirOption,
        ],
        alternatives: [venvOrAgent])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        let selection = try selectAgent(arguments, state: state)
        let venv = selection.venv
        let target: Int? = arguments.value("--to") == nil ? nil : try arguments.integer("--to", default: 0)
        let options = try selection.repairOptions(arguments)
        let json = arguments.has("--json"), force = arguments.has("--force")
        let repairer = Repairer(state: state)
        let listing = repairer.generations(venv: venv)
        var report = RollbackReport(venv: venv, dryRun: !force, to: target)

        /// A failure: the JSON report (with --json) on stdout, the one line on stderr.
        func fail(_ message: String, exitCode: Int32) -> CommandFailure {
            if json {
                report.failed(message, exitCode: exitCode)
                Output.standardOutput(report.json().serialized(pretty: true) + "\n")
            }
            return CommandFailure("\(venv): \(message)", exitCode: exitCode)
        }
        func show() { Output.standardOutput(json ? report.json().serialized(pretty: true) + "\n" : report.text() + (force ? "" : dryRunNote)) }

        guard let current = listing.generations.first(where: \.current) else {
            report.action = "nothing: the venv was never repaired"
            throw fail("not in the generations layout (layout: \(listing.layout)): nothing to roll back to", exitCode: ExitCode.broken)
        }
        report.from = current.generation
        let others = listing.generations.filter { !$0.current }.map(\.generation)
        if let target, !listing.generations.contains(where: { $0.generation == target }) {
            report.action = "nothing: no such generation"
            throw fail("no generation \(target) (generations: \(listing.generations.map { String($0.generation) }.joined(separator: ", ")))", exitCode: ExitCode.usage)
        }
        report.candidates = target.map { [$0] } ?? others.sorted(by: >)
        if target == current.generation { report.warnings.append("generation \(current.generation) is already current: --force only checks it") }
        if target == nil && others.isEmpty { report.warnings.append("no earlier generation: --force fails") }

        guard force else {
            // The dry run checks the candidates as --force will (without the lock), so it can say
            // which generation --force picks, or that it will fail.
            report.record(repairer.previewRollback(venv: venv, candidates: report.candidates, imports: options.imports), current: current.generation)
            show()
            return ExitCode.success
        }
        let outcome = repairer.rollbackByHand(venv: venv, to: target, options: options)
        report.record(outcome)
        if case .failed(_, let reasons) = outcome {
            if json { show() }
            throw CommandFailure("\(venv): \(reasons.joined(separator: "; "))", exitCode: outcome.exitCode)
        }
        show()
        return outcome.exitCode
    }
}
