import GuardedCore
import GuardedFleet
import GuardedRepair
import GuardedSupervisor
import GuardedSystem

/// `guarded-run venvs check|report|repair [--root DIR]... [--json] [--force]`: the fleet's venv
/// doctor. Exit 0 all healthy, 1 something degraded, 78 something broken (75: a check timed out).
public enum VenvsCommand: AdminCommand {
    public static let name = "venvs"
    public static let summary = "check, report on or repair every venv under the roots"
    public static let spec = CommandSpec(
        usage: "venvs check|report|repair [--root DIR]... [--from-config PATH...] [--deep] [--json] [--force] [--jobs N] [--on-problem CMD] [--from SOURCE] [--allow-unpinned] [--state-dir DIR]",
        options: [
            .repeated("--root", help: "a directory to search for venvs (repeatable; default: fleet.conf, else the health logs)"),
            fromConfigOption,
            .flag("--deep", help: "check, report: also verify every installed file against its distribution's RECORD"),
            jsonOption,
            .flag("--force", help: "repair: repair the broken venvs (default: print the plan)"),
            .value("--jobs", help: "checks run at once (default: the number of processors)"),
            .value("--python", help: "repair: the base interpreter to rebuild on"),
            .repeated("--find-links", help: "repair: a local wheel directory or URL for the installer (repeatable)"),
            .value("--on-problem", help: "check: run CMD (sh -c) with the JSON report on stdin when a venv is broken or degraded"),
            .value("--from", help: "repair: rebuild every venv from this source (see repair --from)"),
            .flag("--allow-unpinned", help: "repair: let pyproject.toml and unpinned requirements files join the automatic order"),
            stateDirOption,
        ],
        positionals: 1...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let action = arguments.positionals[0]
        guard ["check", "report", "repair"].contains(action) else {
            throw UsageError("unknown action '\(action)' (check, report or repair)" + didYouMean(action, among: ["check", "report", "repair"]))
        }
        if arguments.has("--force") && action != "repair" { throw UsageError("--force is only for 'venvs repair'") }
        if arguments.has("--deep") && action == "repair" { throw UsageError("--deep is for 'venvs check' and 'venvs report'") }
        if action == "repair", let problem = RepairSlots.settingProblem { throw UsageError(problem) }
        for option in ["--python", "--find-links", "--from"] where action != "repair" && !arguments.all(option).isEmpty {
            throw UsageError("\(option) is only for 'venvs repair'")
        }
        if arguments.value("--on-problem") != nil && action != "check" { throw UsageError("--on-problem is only for 'venvs check'") }
        if arguments.value("--on-problem")?.isEmpty == true { throw UsageError("--on-problem needs a command") }
        if arguments.has("--allow-unpinned") && action != "repair" { throw UsageError("--allow-unpinned is only for 'venvs repair'") }
        let jobs = try arguments.integer("--jobs", default: WorkerPool.processorCount, range: 1...256)
        let json = arguments.has("--json")
        let state = StateDirectory.resolve(explicit: arguments.value("--state-dir"))

        let config = FleetConfig.load(state: state)
        for problem in config.problems { reportError("venvs: warning: \(config.path ?? "fleet.conf"): \(problem)") }
        let given = try fromConfigPaths(arguments, fixedPositionals: 1)
        var roots = arguments.all("--root")
        var configPaths = given
        if roots.isEmpty && given.isEmpty && !config.configs.isEmpty {
            roots = config.roots
            configPaths = config.configs
        }
        let source = configPaths.isEmpty || !roots.isEmpty ? VenvSource.choose(roots: roots, config: config, state: state) : .roots([])
        var discovery = source.discover(state: state)
        var fromConfig = ConfigSources.Resolved()
        if !configPaths.isEmpty {
            fromConfig = reportConfigSources(configPaths, state: state, command: name, json: json)
            for v in fromConfig.venvs where !discovery.venvs.contains(v) { discovery.venvs.append(v) }
        }
        for u in discovery.unreadable { reportError("venvs: warning: cannot read \(u.path): \(u.error)") }
        if discovery.venvs.isEmpty && !configPaths.isEmpty && !json {
            reportError("venvs: the configs start no venv")
        } else if discovery.venvs.isEmpty && !json {
            if case .healthLogs = source {
                reportError("venvs: no venvs to check: no --root, no roots in \(FleetConfig.path(state: state) ?? "fleet.conf"), and no venv in the health logs")
            } else {
                reportError("venvs: no venvs found under the roots")
            }
        }

        let progress = ProgressLine(label: "checked", enabled: !json && Output.isTerminal(1) && Output.isTerminal(2))
        let check = FleetCheck.run(discovery, state: state, workers: jobs, deep: arguments.has("--deep"), progress: progress.callback)
        progress.finish()
        for e in check.entries { if let w = e.cacheWarning { reportError("venvs: warning: \(e.venv): \(w)") } }
        if let state, !check.entries.isEmpty {
            do { try check.saveSummary(state: state) } catch { reportError("venvs: warning: cannot record the check for metrics: \(error)") }
        }

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
            guard let state else { throw CommandFailure("cannot choose a state directory: HOME is not set; pass --state-dir DIR", exitCode: ExitCode.usage) }
            var options = RepairOptions(python: arguments.value("--python"), findLinks: arguments.all("--find-links"))
            options.from = try fromSource(arguments)
            options.allowUnpinned = arguments.has("--allow-unpinned")
            let repair = FleetRepair(check: check, repairer: Repairer(state: state), options: options)
            guard arguments.has("--force") else {
                Output.standardOutput(json ? withMissing(repair.planJSON(), fromConfig).serialized(pretty: true) + "\n" : repair.planText())
                return withMissing(check.exitCode, fromConfig)
            }
            let results = repair.run { result in if !json { Output.standardOutput(FleetRepair.line(result) + "\n") } }
            if json {
                Output.standardOutput(repair.resultsJSON(results).serialized(pretty: true) + "\n")
            } else if results.isEmpty {
                Output.standardOutput("nothing to repair: \(check.summaryLine)\n")
            }
            return withMissing(repair.exitCode(results), fromConfig)
        }
    }
}
