import GuardedCore
import GuardedSupervisor
import GuardedSystem

/// `guarded-run wrap systemd|launchd FILE...`: puts guarded-run in front of each unit's or job's
/// command (docs/systemd.md, docs/launchd.md). A dry run unless --force.
public enum WrapCommand: AdminCommand {
    public static let name = "wrap"
    public static let summary = "put guarded-run in front of systemd units or launchd plists"
    public static let spec = CommandSpec(
        usage: "wrap systemd|launchd|mcp FILE|DIR... [--agent NAME] [--auto-repair] [--force] [launchd: --keepalive [--throttle-interval S] --give-up-after N]",
        options: [
            .value("--agent", help: "agent name (default: the unit name or the plist's Label); one file only"),
            .flag("--auto-repair", help: "let guarded-run repair the venv (ENABLE_AUTO_REPAIR)"),
            .flag("--force", help: "write (after taking a snapshot); without it, show what would change"),
            .value("--give-up-after", help: "launchd: exit 0 after N consecutive failed-closed starts"),
            .flag("--keepalive", help: "launchd: set KeepAlive = {SuccessfulExit = false} and ThrottleInterval"),
            .value("--throttle-interval", help: "launchd: ThrottleInterval for --keepalive, seconds (default 30)"),
            .value("--guarded-run", help: "the guarded-run the units start (default: this executable)"),
            stateDirOption,
        ],
        positionals: 2...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let target = try SupervisorTarget.parse(arguments)
        let agent = try agentOption(arguments, fileCount: target.files.count)
        let guardedRun = try guardedRunPath(arguments)
        let force = arguments.has("--force")
        let state = try stateDirectory(arguments)
        let report: FleetReport
        switch target.kind {
        case .systemd:
            for launchdOnly in ["--give-up-after", "--keepalive", "--throttle-interval"]
            where arguments.has(launchdOnly) || arguments.value(launchdOnly) != nil {
                throw UsageError("\(launchdOnly) is for launchd plists")
            }
            report = SystemdFleet.wrap(target.files, options: SystemdWrap.Options(
                agent: agent, autoRepair: arguments.has("--auto-repair"), guardedRun: guardedRun), force: force, state: state)
        case .launchd:
            let giveUp = arguments.value("--give-up-after") == nil ? nil : try arguments.integer("--give-up-after", default: 0, range: 1...1_000_000)
            if arguments.value("--throttle-interval") != nil && !arguments.has("--keepalive") {
                throw UsageError("--throttle-interval goes with --keepalive")
            }
            report = LaunchdFleet.wrap(target.files, options: LaunchdWrap.Options(
                agent: agent, autoRepair: arguments.has("--auto-repair"), giveUpAfter: giveUp,
                keepAlive: arguments.has("--keepalive"),
                throttleInterval: try arguments.integer("--throttle-interval", default: 30, range: 1...86_400),
                guardedRun: guardedRun), force: force, state: state)
        }
        return emit(report, command: name)
    }
}

/// `systemd FILE...` or `launchd FILE...`, directories expanded to their units or plists.
struct SupervisorTarget {
    enum Kind { case systemd, launchd }
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

/// `--guarded-run PATH` (absolute), else this executable.
func guardedRunPath(_ arguments: ParsedArguments) throws -> String {
    if let given = arguments.value("--guarded-run") {
        guard given.hasPrefix("/") else { throw UsageError("--guarded-run takes an absolute path") }
        return given
    }
    guard let own = executablePath() else { throw CommandFailure("cannot find this executable's path; pass --guarded-run PATH") }
    return own
}

/// Prints a fleet report (stdout lines, then one stderr line per error) and returns its exit code.
func emit(_ report: FleetReport, command: String) -> Int32 {
    if !report.lines.isEmpty { Output.standardOutput(report.lines.joined(separator: "\n") + "\n") }
    for error in report.errors { reportError("\(command): \(error)") }
    return report.exitCode
}
