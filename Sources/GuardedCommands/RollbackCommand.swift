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

    /// What `rollback --json` prints (docs/rollback.md): one object, whatever the outcome.
    struct Report {
        var venv: String
        var dryRun: Bool
        var from: Int?
        /// Dry run: the generation `--force` would pick (checked just now; nil: none passes); done: the generation now current.
        var to: Int?
        /// The generations `--force` tries (dry run) or tried (done), in that order.
        var candidates: [Int] = []
        /// "dry-run", "rolled-back", "rolled-forward" (`--to` a newer generation), "failed" or "busy" (exit 75: try again).
        var result: String
        /// One sentence: what --force will do, or what it did.
        var action: String
        var warnings: [String] = []
        var errors: [String] = []

        func json() -> JSONValue {
            func number(_ n: Int?) -> JSONValue { n.map { .number(Double($0)) } ?? .null }
            return .object([
                ("venv", JSONValue(venv)), ("dry_run", JSONValue(dryRun)), ("result", JSONValue(result)),
                ("from_generation", number(from)), ("to_generation", number(to)),
                ("candidates", .array(candidates.map { .number(Double($0)) })),
                ("action", JSONValue(action)), ("warnings", JSONValue(warnings)), ("errors", JSONValue(errors)),
            ])
        }
    }

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let state = try stateDirectory(arguments)
        let selection = try selectAgent(arguments, state: state)
        let venv = selection.venv
        let target: Int? = arguments.value("--to") == nil ? nil : try arguments.integer("--to", default: 0)
        let options = try selection.repairOptions(arguments)
        let json = arguments.has("--json"), force = arguments.has("--force")
        let repairer = Repairer(state: state)
        let listing = repairer.generations(venv: venv)
        var report = Report(venv: venv, dryRun: !force, from: nil, to: target, result: force ? "failed" : "dry-run", action: "")

        /// A failure: the JSON report (with --json) on stdout, the one line on stderr.
        func fail(_ message: String, exitCode: Int32) -> CommandFailure {
            if json {
                report.result = exitCode == ExitCode.temporaryFailure ? "busy" : "failed"
                report.to = nil
                report.errors.append(message)
                Output.standardOutput(report.json().serialized(pretty: true) + "\n")
            }
            return CommandFailure("\(venv): \(message)", exitCode: exitCode)
        }

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
            let preview = repairer.previewRollback(venv: venv, candidates: report.candidates, imports: options.imports)
            report.warnings += preview.skipped
            if let n = preview.generation {
                report.to = n
                let direction = n > current.generation ? "forward to newer generation" : n == current.generation ? "at generation" : "back to generation"
                report.action = n == current.generation ? "would only check generation \(n) (already current; it is \(preview.status ?? "healthy"))"
                    : "would point \(venv) \(direction) \(n) (checked just now: \(preview.status ?? "healthy"))"
            } else {
                report.to = nil
                report.action = report.candidates.isEmpty ? "would fail: no earlier generation"
                    : "would fail: no candidate passes the full check; nothing would change"
            }
            Output.standardOutput(json ? report.json().serialized(pretty: true) + "\n"
                                       : "venv \(venv) -> generation \(current.generation)\n" + preview.skipped.map { "  \($0)\n" }.joined()
                                         + "\(report.action)\n" + dryRunNote)
            return ExitCode.success
        }
        let outcome = repairer.rollbackByHand(venv: venv, to: target, options: options)
        switch outcome {
        case .repaired(let summary, let details), .rolledBack(let summary, let details):
            let done = details.first { $0.0 == "repair" }?.1
            report.result = done?["result"]?.stringValue ?? "rolled-back"
            report.to = done?["generation"]?.intValue
            report.warnings += done?["skipped"]?.arrayValue?.compactMap(\.stringValue) ?? []
            report.action = summary
            Output.standardOutput(json ? report.json().serialized(pretty: true) + "\n" : summary + "\n")
        case .failed(let reasons):
            report.action = "nothing changed"
            throw fail(reasons.joined(separator: "; "), exitCode: outcome.exitCode)
        }
        return outcome.exitCode
    }
}
