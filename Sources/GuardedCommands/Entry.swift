import GuardedCore
import GuardedSystem

/// The program's entry: an admin subcommand when argv[1] names one, else `--help`/`--version`,
/// else launcher mode (recognised by the `--` before COMMAND).
public func mainEntry() -> Int32 {
    let argc = Int(CommandLine.argc)
    if argc >= 2, let first = CommandLine.unsafeArgv[1].map({ String(cString: $0) }) {
        if first == "--help" || first == "-h" || first == "help" {
            Output.standardOutput(programHelp())
            return ExitCode.success
        }
        if first == "--version" {
            Output.standardOutput("\(programName) \(guardedRunVersion)\n")
            return ExitCode.success
        }
        if !first.hasPrefix("-") {
            // An admin command is run by an operator, who can fix a setting now: refuse (64) rather than
            // guess. (The launcher falls back to the default instead: an agent's start should not fail
            // on a tuning knob.)
            if let problem = Setting.problems().first, adminCommands.contains(where: { $0.name == first }) {
                reportError(problem)
                return ExitCode.usage
            }
            let arguments = (1..<argc).map { CommandLine.unsafeArgv[$0].map { String(cString: $0) } ?? "" }
            if let code = runAdminCommand(arguments) { return code }
            let suggestion = closestMatch(to: first, among: adminCommands.map { $0.name })
            reportError("unknown command '\(first)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "; run '\(programName) --help'"))
            return ExitCode.usage
        }
    }
    return launcherMain()
}

/// Launcher mode: GuardedCore's straight line, with the full check (and repair) as its slow path.
func launcherMain() -> Int32 {
    runLauncher(slowPath: launcherSlowPath)
}

func programHelp() -> String {
    var text = """
    usage: \(programName) [--agent NAME] [--venv DIR] [--import MODULE]... [--requirements FILE]
                       [--python PATH] [--find-links DIR] [--auto-repair | --no-auto-repair]
                       [--give-up-after N] [--observe] [--state-dir DIR] -- COMMAND [ARG]...
           \(programName) SUBCOMMAND [OPTIONS]   (\(programName) SUBCOMMAND --help for its options)

    Starts COMMAND (by exec: same PID) only when its Python venv is healthy.

    subcommands:

    """
    for command in adminCommands {
        text += "  " + command.name.padded(to: 14) + command.summary + "\n"
    }
    text += "\nexit codes: 78 venv broken (agent not started), 75 transient, 64 usage, 70 internal error,\n"
    text += "126/127 COMMAND not executable/not found; otherwise the agent's own. See docs/exit-codes.md.\n"
    return text
}
