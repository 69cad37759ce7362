import GuardedCore
import GuardedRepair
import GuardedSystem

/// `guarded-run rollback --venv DIR [--to GEN] [--force]`: points the venv back at an earlier
/// generation (the newest one that passes the full check, or GEN), after checking it.
/// Dry run unless --force. Exit 0 rolled back, 78 no generation passes, 75 busy / interrupted.
public enum RollbackCommand: AdminCommand {
    public static let name = "rollback"
    public static let summary = "point a venv back at an earlier generation (dry run unless --force)"
    public static let spec = CommandSpec(
        usage: "rollback --venv DIR [--to GENERATION] [--import MODULE]... [--force] [--state-dir DIR]",
        options: [
            .value("--venv", help: "the venv to roll back"),
            .value("--to", help: "the generation to go back to (default: the newest earlier one that passes)"),
            .repeated("--import", help: "a module that must import in the target (repeatable)"),
            .flag("--force", help: "do it (default: print the plan)"),
            stateDirOption,
        ])

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard let given = arguments.value("--venv") else { throw UsageError("--venv DIR is required") }
        let venv = normalizedPath(absolutePath(given, relativeTo: currentDirectory()))
        let target: Int? = arguments.value("--to") == nil ? nil : try arguments.integer("--to", default: 0)
        let imports = arguments.all("--import")
        if let bad = imports.first(where: { !isValidModuleName($0) }) { throw UsageError("--import '\(bad)' is not a module name") }
        let repairer = Repairer(state: try stateDirectory(arguments))
        let listing = repairer.generations(venv: venv)
        guard let current = listing.generations.first(where: \.current) else {
            throw CommandFailure("\(venv) is not in the generations layout (layout: \(listing.layout)): nothing to roll back to", exitCode: ExitCode.broken)
        }
        let others = listing.generations.filter { !$0.current }.map(\.generation)
        if let target, !listing.generations.contains(where: { $0.generation == target }) {
            throw CommandFailure("\(venv): no generation \(target) (generations: \(listing.generations.map { String($0.generation) }.joined(separator: ", ")))", exitCode: ExitCode.usage)
        }
        guard arguments.has("--force") else {
            let what = target.map { "generation \($0)" } ?? (others.isEmpty ? "nothing (no earlier generation)" : "the newest of generation \(others.map(String.init).joined(separator: ", ")) that passes the full check")
            Output.standardOutput("venv \(venv) -> generation \(current.generation)\nwould point it at \(what), after checking it\n(dry run: nothing changed; --force does it)\n")
            return ExitCode.success
        }
        let outcome = repairer.rollback(venv: venv, to: target, options: RepairOptions(imports: imports))
        switch outcome {
        case .repaired(let summary, _), .rolledBack(let summary, _):
            Output.standardOutput(summary + "\n")
        case .failed(let reasons):
            throw CommandFailure("\(venv): \(reasons.joined(separator: "; "))", exitCode: outcome.exitCode)
        }
        return outcome.exitCode
    }
}
