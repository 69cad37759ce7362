import GuardedCore
import GuardedRepair
import GuardedSystem

/// `guarded-run generations --venv DIR [--json] [--prune [--keep N]] [--restore-plain] [--force]`:
/// lists a venv's generations (newest first, the current one marked); prunes old ones; or undoes
/// the adoption (the current generation goes back to the venv path as a plain directory).
public enum GenerationsCommand: AdminCommand {
    public static let name = "generations"
    public static let summary = "list (or prune) the generations of a repaired venv"
    public static let spec = CommandSpec(
        "generations",
        options: [
            venvOption("the venv"),
            agentOption,
            jsonOption,
            .flag("--prune", help: "delete generations beyond --keep besides the current one"),
            .value("--keep", as: "N", help: "generations to keep besides the current one (default 2)"),
            .flag("--restore-plain", help: "move the current generation back to the venv path (undo adoption)"),
            .flag("--force", help: "do it (default: print what would be done)"),
            stateDirOption,
        ],
        alternatives: [venvOrAgent, .atMostOne(["--prune", "--keep"], ["--restore-plain"])])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        let venv = try selectAgent(arguments, state: state).venv
        let keep = try arguments.integer("--keep", default: RepairOptions.defaultKeepGenerations, range: 0...1000)
        if arguments.has("--prune") && arguments.has("--restore-plain") { throw UsageError("--prune and --restore-plain do not go together") }
        let repairer = Repairer(state: state)
        let report = repairer.generationsReport(venv: venv)

        if arguments.has("--prune") || arguments.has("--restore-plain") {
            let force = arguments.has("--force")
            let result: Result<String, RepairError>
            if arguments.has("--prune") {
                let doomed = repairer.pruneSelection(venv: venv, keep: keep).map(String.init)
                guard force else {
                    Output.standardOutput(doomed.isEmpty ? "nothing to prune\n" : "would delete generation \(doomed.joined(separator: ", "))\n" + dryRunNote)
                    return ExitCode.success
                }
                result = repairer.prune(venv: venv, keep: keep, waitSeconds: RepairOptions.defaultWaitSeconds)
                    .map { $0.isEmpty ? "nothing to prune" : "deleted generation \($0.map(String.init).joined(separator: ", "))" }
            } else {
                guard let current = report.current else {
                    throw CommandFailure("\(venv) is not in the generations layout (layout: \(report.layout))", exitCode: ExitCode.usage)
                }
                guard force else {
                    Output.standardOutput("would move generation \(current.generation) back to \(venv) as a plain directory (the other generations stay in \(venv).generations)\n" + dryRunNote)
                    return ExitCode.success
                }
                result = repairer.restorePlainByHand(venv: venv, waitSeconds: RepairOptions.defaultWaitSeconds)
                    .map { "moved generation \($0) back to \(venv)" }
            }
            switch result {
            case .success(let line): Output.standardOutput(line + "\n"); return ExitCode.success
            case .failure(let error): throw CommandFailure("\(venv): \(error)", exitCode: error.exitCode)
            }
        }

        Output.standardOutput(arguments.has("--json") ? report.json().serialized(pretty: true) + "\n" : report.table())
        return ExitCode.success
    }
}
