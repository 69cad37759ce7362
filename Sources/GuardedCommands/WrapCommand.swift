import GuardedCore
import GuardedSupervisor
import GuardedSystem

/// `guarded-run wrap systemd|launchd FILE...`: puts guarded-run in front of each unit's or job's
/// command (docs/systemd.md, docs/launchd.md). A dry run unless --force.
public enum WrapCommand: AdminCommand {
    public static let name = "wrap"
    public static let summary = "put guarded-run in front of systemd units or launchd plists"

    /// Options every kind of wrap takes.
    static let commonOptions: [OptionSpec] = [
        .value("--agent", as: "NAME", help: "agent name (default: the unit name or the plist's Label); one file only"),
        .flag("--auto-repair", help: "let guarded-run repair the venv (ENABLE_AUTO_REPAIR)"),
        writeOption,
        guardedRunOption("units"),
        jsonOption,
        stateDirOption,
    ]

    /// The launcher's options, carried onto the wrapped command line: wrap's name for each, and
    /// the launcher's. The agent's state directory has its own name here because wrap's
    /// `--state-dir` is, as for every command, where wrap itself keeps state (its snapshot).
    static let launcherOptions: [(option: OptionSpec, launcher: String)] = [
        (.value("--venv", as: "DIR", help: "launcher: the agent's venv (absolute)"), "--venv"),
        (importOption("launcher: a module the check imports (repeatable)"), "--import"),
        (.value("--requirements", as: "FILE", help: "launcher: the requirements file repairs install from (absolute)"), "--requirements"),
        (.value("--python", as: "PATH", help: "launcher: the base interpreter repairs rebuild on (absolute)"), "--python"),
        (.repeated("--find-links", as: "DIR|URL", help: "launcher: a wheel directory or URL for repairs (repeatable)"), "--find-links"),
        (.flag("--observe", help: "launcher: check and log, but always start the agent"), "--observe"),
        (.value("--agent-state-dir", as: "DIR", help: "launcher: the agent's --state-dir (absolute)"), "--state-dir"),
    ]

    /// Options only some kinds take.
    static let kindOptions: [(option: OptionSpec, kinds: [SupervisorTarget.Kind])] = [
        (.value("--give-up-after", as: "N", help: "launchd: exit 0 after N consecutive failed-closed starts"), [.launchd]),
        (.flag("--keepalive", help: "launchd: KeepAlive.SuccessfulExit = false and ThrottleInterval, merged (not periodic jobs)"), [.launchd]),
        (.value("--throttle-interval", as: "S", help: "launchd: the least ThrottleInterval for --keepalive, seconds (default 30)"), [.launchd]),
    ]

    public static let spec = CommandSpec(
        "wrap systemd|launchd|mcp FILE|DIR...",
        options: commonOptions + launcherOptions.map(\.option) + kindOptions.map(\.option),
        alternatives: [.atMostOne(["--keepalive", "--throttle-interval"])],
        positionals: 2...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let target = try SupervisorTarget.parse(arguments)
        for (option, kinds) in kindOptions where !kinds.contains(target.kind) && arguments.given(option.key) {
            throw UsageError("\(option.key) is for \(kinds.map(\.rawValue).joined(separator: " and ")) only")
        }
        let agent = try agentOption(arguments, fileCount: target.files.count)
        let launcher = try launcherOptionValues(arguments)
        let guardedRun = try guardedRunPath(arguments)
        let force = arguments.has("--force")
        let state = try stateDirectory(arguments)
        let report: WrapReport
        switch target.kind {
        case .systemd:
            report = SystemdFleet.wrap(target.files, options: SystemdWrap.Options(
                agent: agent, autoRepair: arguments.has("--auto-repair"), guardedRun: guardedRun, launcher: launcher), force: force, state: state)
        case .launchd:
            let giveUp = arguments.value("--give-up-after") == nil ? nil : try arguments.integer("--give-up-after", default: 0, range: 1...1_000_000)
            if arguments.value("--throttle-interval") != nil && !arguments.has("--keepalive") {
                throw UsageError("--throttle-interval goes with --keepalive")
            }
            report = LaunchdFleet.wrap(target.files, options: LaunchdWrap.Options(
                agent: agent, autoRepair: arguments.has("--auto-repair"), giveUpAfter: giveUp,
                keepAlive: arguments.has("--keepalive"),
                throttleInterval: try arguments.integer("--throttle-interval", default: 30, range: 1...86_400),
                guardedRun: guardedRun, launcher: launcher), force: force, state: state)
        }
        return emit(report, command: name, json: arguments.has("--json"))
    }

    /// The launcher's options from wrap's command line, each value checked: a value the launcher
    /// would refuse is one line and exit 64 here, not a unit that fails at its next start.
    static func launcherOptionValues(_ arguments: ParsedArguments) throws -> LauncherOptions {
        let options = LauncherOptions(
            venv: arguments.value("--venv"), imports: arguments.all("--import"), requirements: arguments.value("--requirements"),
            python: arguments.value("--python"), findLinks: arguments.all("--find-links"), observe: arguments.has("--observe"),
            stateDir: arguments.value("--agent-state-dir"))
        let wrapName = { (launcher: String) in launcherOptions.first { $0.launcher == launcher }?.option.key ?? launcher }
        if let problem = options.problem(names: wrapName) { throw CommandFailure(problem, exitCode: ExitCode.usage) }
        return options
    }
}

/// `systemd FILE...` or `launchd FILE...`, directories expanded to their units or plists.
struct SupervisorTarget {
    enum Kind: String { case systemd, launchd }
    let kind: Kind
    let files: [String]

    static func parse(_ arguments: ParsedArguments) throws -> SupervisorTarget {
        let words = arguments.positionals
        let kind: Kind
        switch words[0] {
        case "systemd": kind = .systemd
        case "launchd": kind = .launchd
        default: throw UsageError("expected 'systemd' or 'launchd', not '\(words[0])'")
        }
        let files = try expandFileArguments(Array(words.dropFirst()), suffix: kind == .systemd ? ".service" : ".plist")
        if files.isEmpty { throw CommandFailure("no \(kind == .systemd ? ".service" : ".plist") files in \(words.dropFirst().joined(separator: " "))", exitCode: ExitCode.usage) }
        return SupervisorTarget(kind: kind, files: files)
    }
}

/// `--agent NAME`: a valid agent name, and only for a single file (a fleet sharing one agent
/// name would share one health log).
func agentOption(_ arguments: ParsedArguments, fileCount: Int) throws -> String? {
    guard let agent = arguments.value("--agent") else { return nil }
    guard isValidAgentName(agent) else {
        throw UsageError("--agent takes letters, digits, '.', '_', '-', '@' (1 to 128, not starting with '.'), not '\(agent)'")
    }
    if fileCount > 1 { throw UsageError("--agent names one agent; it cannot be given with \(fileCount) files") }
    return agent
}

/// `--force` of wrap, unwrap (and their `mcp` forms): a dry run without it.
let writeOption = OptionSpec.flag("--force", help: "write (after taking a snapshot); without it, show what would change")

/// `--guarded-run PATH`; `what` the written files are (units, configs).
func guardedRunOption(_ what: String) -> OptionSpec {
    .value("--guarded-run", as: "PATH", help: "the guarded-run the \(what) start (default: this executable)")
}

/// `--guarded-run PATH` (absolute), else the launcher units and plists run: `guarded-run` beside
/// this executable (guarded-run-full, to which the launcher hands admin commands), else this
/// executable itself.
func guardedRunPath(_ arguments: ParsedArguments) throws -> String {
    if let given = arguments.value("--guarded-run") {
        guard given.hasPrefix("/") else { throw UsageError("--guarded-run takes an absolute path") }
        return given
    }
    guard let own = executablePath() else { throw CommandFailure("cannot find this executable's path; pass --guarded-run PATH") }
    let launcher = parentDirectory(of: own) + "/guarded-run"
    if baseName(of: own) == "guarded-run-full", let st = fileStatusIfPresent(launcher, followSymlinks: true), st.isRegularFile {
        return launcher
    }
    return own
}

/// Prints a fleet report (stdout lines, or its JSON, then one stderr line per error) and returns
/// its exit code.
func emit(_ report: WrapReport, command: String, json: Bool = false) -> Int32 {
    if json {
        Output.standardOutput(report.json().serialized(pretty: true) + "\n")
    } else if !report.lines.isEmpty {
        Output.standardOutput(report.lines.joined(separator: "\n") + "\n")
    }
    for error in report.errors { reportError("\(command): \(error)") }
    return report.exitCode
}
