import GuardedCore
import GuardedFleet
import GuardedRepair
import GuardedSupervisor
import GuardedSystem

/// `guarded-run venvs check|report|repair [--root DIR]... [--json] [--force]`: the fleet's venv
/// doctor. Parses, hands the choice of venvs and their checks to `FleetSurvey` (GuardedFleet), and
/// prints what the fleet types render. Exit 0 all healthy, 1 something degraded, 78 something
/// broken (75: a check timed out).
public enum VenvsCommand: AdminCommand {
    public static let name = "venvs"
    public static let summary = "check, report on or repair every venv under the roots"
    static let root = OptionSpec.repeated("--root", as: "DIR", help: "a directory to search for venvs (repeatable; default: fleet.conf, else the health logs)")
    static let deep = OptionSpec.flag("--deep", help: "check, report: also verify every installed file against its distribution's RECORD")
    static let jobs = OptionSpec.value("--jobs", as: "N", help: "checks run at once (default: the number of processors)")

    public static let spec = CommandSpec(forms: [
        CommandSpec("venvs check", options: [
            root, fromConfigOption, deep, jsonOption, jobs,
            .value("--on-problem", as: "CMD", help: "check: run CMD (sh -c) with the JSON report on stdin when a venv is broken or degraded"),
            stateDirOption,
        ]),
        CommandSpec("venvs report", options: [root, fromConfigOption, deep, jsonOption, jobs, stateDirOption]),
        CommandSpec("venvs repair", options: [
            root, fromConfigOption, jsonOption,
            .flag("--force", help: "repair: repair the broken venvs (default: print the plan)"),
            jobs,
            .value("--python", as: "PATH", help: "repair: the base interpreter to rebuild on"),
            .repeated("--find-links", as: "DIR", help: "repair: a local wheel directory or URL for the installer (repeatable)"),
            fromOption("repair: rebuild every venv from this source (see repair --from)"),
            .flag("--allow-unpinned", help: "repair: let pyproject.toml and unpinned requirements files join the automatic order"),
            stateDirOption,
        ]),
    ], positionals: 1...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let action = arguments.positionals[0]
        guard try spec.form(action, of: name, given: arguments) != nil else {
            throw UsageError("unknown action '\(action)' (check, report or repair)" + didYouMean(action, among: ["check", "report", "repair"]))
        }
        if action == "repair", let problem = RepairSlots.settingProblem { throw UsageError(problem) }
        if arguments.value("--on-problem")?.isEmpty == true { throw UsageError("--on-problem needs a command") }
        let jobs = try arguments.integer("--jobs", default: WorkerPool.processorCount, range: 1...256)
        let json = arguments.has("--json")
        let state = stateDirectoryIfAny(arguments)

        var survey = FleetSurvey(roots: arguments.all("--root"), configPaths: try fromConfigPaths(arguments, fixedPositionals: 1), state: state)
        for warning in survey.warnings { reportError("venvs: warning: \(warning)") }
        var fromConfig = ConfigSources.Resolved()
        if !survey.configPaths.isEmpty {
            fromConfig = reportConfigSources(survey.configPaths, state: state, command: name, json: json)
            survey.add(fromConfig.venvs)
        }
        if let nothing = survey.nothingFound(state: state), !json { reportError("venvs: \(nothing)") }

        let progress = ProgressLine(label: "checked", enabled: !json && Output.isTerminal(1) && Output.isTerminal(2))
        let (check, warnings) = survey.check(state: state, workers: jobs, deep: arguments.has("--deep"), progress: progress.callback)
        progress.finish()
        for warning in warnings { reportError("venvs: warning: \(warning)") }

        switch action {
        case "check":
            let report = withMissing(check.json(), fromConfig).serialized(pretty: true) + "\n"
            Output.standardOutput(json ? report : check.table())
            // A config that starts a path that is gone counts as broken, for the hook too.
            if let hook = arguments.value("--on-problem"), ProblemHook.isDue(check) || !fromConfig.missing.isEmpty,
               let failure = ProblemHook.run(hook, report: Array(report.utf8)) {
                reportError("venvs: warning: \(failure) (the exit code still reflects the venvs)")
            }
            return withMissing(check.exitCode, fromConfig)
        case "report":
            let report = FleetReport(check: check, state: state, now: Double(Clock.wallTime().seconds))
            Output.standardOutput(json ? withMissing(report.json(), fromConfig).serialized(pretty: true) + "\n" : report.text())
            return withMissing(check.exitCode, fromConfig)
        default:
            let state = try stateDirectory(arguments)
            var options = RepairOptions(python: arguments.value("--python"), findLinks: arguments.all("--find-links"))
            options.from = try fromSource(arguments)
            options.allowUnpinned = arguments.has("--allow-unpinned")
            let repair = FleetRepair(check: check, repairer: Repairer(state: state), options: options)
            guard arguments.has("--force") else {
                Output.standardOutput(json ? withMissing(repair.planJSON(), fromConfig).serialized(pretty: true) + "\n" : repair.planText())
                return withMissing(check.exitCode, fromConfig)
            }
            let results = repair.run(warn: { Diagnostics.warning($0) }) { result in if !json { Output.standardOutput(FleetRepair.line(result) + "\n") } }
            if json {
                Output.standardOutput(repair.resultsJSON(results).serialized(pretty: true) + "\n")
            } else if results.isEmpty {
                Output.standardOutput("nothing to repair: \(check.summaryLine)\n")
            }
            return withMissing(repair.exitCode(results), fromConfig)
        }
    }
}
