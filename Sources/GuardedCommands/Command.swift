import GuardedCore
import GuardedRepair
import GuardedSystem

/// An admin subcommand: a thin shell that validates its command line and hands off to library code.
public protocol AdminCommand {
    static var name: String { get }
    static var summary: String { get }
    static var spec: CommandSpec { get }
    /// Runs with the parsed arguments; returns the exit code (docs/exit-codes.md).
    static func run(_ arguments: ParsedArguments) throws -> Int32
}

/// Every admin subcommand, in the order `--help` lists them.
public var adminCommands: [any AdminCommand.Type] { [
    CheckCommand.self,
    RepairCommand.self,
    RollbackCommand.self,
    GenerationsCommand.self,
    VenvsCommand.self,
    StatusCommand.self,
    LogCommand.self,
    MetricsCommand.self,
    SnapshotCommand.self,
    WrapCommand.self,
    UnwrapCommand.self,
    ConvertCommand.self,
] }

/// Runs the subcommand named by `arguments[0]`, or nil when there is no such subcommand.
public func runAdminCommand(_ arguments: [String]) -> Int32? {
    guard let name = arguments.first, let command = adminCommands.first(where: { $0.name == name }) else { return nil }
    // `wrap mcp` and `unwrap mcp` take options of their own (docs/mcp.md).
    if arguments.count > 1 && arguments[1] == "mcp" && (name == "wrap" || name == "unwrap") {
        return execute(name == "wrap" ? McpWrapCommand.self : McpUnwrapCommand.self, Array(arguments.dropFirst(2)))
    }
    return execute(command, Array(arguments.dropFirst()))
}

func execute(_ command: any AdminCommand.Type, _ arguments: [String]) -> Int32 {
    do {
        let parsed = try command.spec.parse(arguments)
        if parsed.helpRequested {
            Output.standardOutput(command.spec.helpText)
            return ExitCode.success
        }
        return try command.run(parsed)
    } catch let error as UsageError {
        reportError("\(command.name): \(error.message)")
        writeStandardError("usage: \(programName) \(command.spec.usage)")
        return ExitCode.usage
    } catch let error as CommandFailure {
        reportError("\(command.name): \(error.message)")
        return error.exitCode
    } catch {
        reportError("\(command.name): \(error)")
        return ExitCode.software
    }
}

/// A subcommand that failed for a reason the user must read, with the exit code to use.
public struct CommandFailure: Error {
    public let message: String
    public let exitCode: Int32
    public init(_ message: String, exitCode: Int32 = ExitCode.software) {
        self.message = message
        self.exitCode = exitCode
    }
}

/// The state directory for an admin command: `--state-dir`, the environment, or the default; nil
/// when there is none (HOME is not set), for the commands that work without one.
func stateDirectoryIfAny(_ arguments: ParsedArguments) -> StateDirectory? {
    StateDirectory.resolve(explicit: arguments.value("--state-dir"))
}

/// The state directory for an admin command, or a usage error (exit 64) that says how to name one.
public func stateDirectory(_ arguments: ParsedArguments) throws -> StateDirectory {
    guard let state = stateDirectoryIfAny(arguments) else {
        throw CommandFailure("cannot choose a state directory: HOME is not set; pass --state-dir DIR", exitCode: ExitCode.usage)
    }
    return state
}

/// The `--state-dir DIR` option every subcommand that reads or writes state takes.
public let stateDirOption = OptionSpec.value("--state-dir", as: "DIR", help: "state directory (default: see docs/guarded-run.md)")
public let jsonOption = OptionSpec.flag("--json", help: "print JSON instead of a table")

/// The `--agent NAME` option of check, repair, rollback and generations: act as that agent's
/// launcher did, from its recorded profile (`AgentProfile`); options given on the command line win.
public let agentOption = OptionSpec.value("--agent", as: "NAME", help: "use the options the launcher recorded for this agent (its profile)")

/// `--venv DIR`; `help` says what this command does with it.
func venvOption(_ help: String) -> OptionSpec { .value("--venv", as: "DIR", help: help) }

/// `(--venv DIR | --agent NAME)`: read by `selectAgent`.
let venvOrAgent = Alternatives.oneOf(["--venv"], ["--agent"])

/// `--import MODULE`, repeatable; read by `importedModules`.
func importOption(_ help: String) -> OptionSpec { .repeated("--import", as: "MODULE", help: help) }

/// The `--import` modules, each a dotted module name, else a usage error naming the first that is not.
func importedModules(_ arguments: ParsedArguments) throws(UsageError) -> [String] {
    let modules = arguments.all("--import")
    if let bad = modules.first(where: { !isValidModuleName($0) }) {
        throw UsageError("--import takes a dotted module name like 'pkg.mod', not '\(oneLine(bad))'")
    }
    return modules
}

/// The last line of every dry run (repair, rollback, generations --prune/--restore-plain).
let dryRunNote = "(dry run: nothing changed; --force does it)\n"

/// What `--venv` / `--agent` select: the venv, and the agent's profile when `--agent` was given.
struct AgentSelection {
    var venv: String
    var profile: AgentProfile?

    /// `--import` modules: the command line's, else the profile's.
    func imports(_ arguments: ParsedArguments) throws -> [String] {
        let given = try importedModules(arguments)
        return given.isEmpty ? profile?.imports ?? [] : given
    }

    /// The repairer's options from the command line, each missing one from the profile.
    func repairOptions(_ arguments: ParsedArguments) throws -> RepairOptions {
        var options = RepairOptions(requirements: arguments.value("--requirements") ?? profile?.requirements,
                                    python: arguments.value("--python") ?? profile?.python,
                                    findLinks: arguments.all("--find-links").isEmpty ? profile?.findLinks ?? [] : arguments.all("--find-links"),
                                    imports: try imports(arguments))
        options.workingDirectory = profile?.context.workingDirectory
        // The profile's context only with its own imports: other modules were never checked that way.
        if arguments.all("--import").isEmpty { options.context = profile?.context }
        return options
    }
}

/// `--venv DIR` and/or `--agent NAME`; a named agent without a recorded profile is a usage error
/// (exit 64) that says how one gets recorded.
func selectAgent(_ arguments: ParsedArguments, state: StateDirectory?) throws -> AgentSelection {
    var profile: AgentProfile? = nil
    if let agent = arguments.value("--agent") {
        guard isValidAgentName(agent) else { throw UsageError("--agent '\(agent)': not an agent name") }
        guard let state else { throw UsageError("--agent \(agent): no state directory (HOME is not set); pass --state-dir DIR") }
        guard let found = AgentProfile.load(state: state, agent: agent) else {
            throw CommandFailure("--agent \(agent): no profile recorded in the state directory (from \(state.source.rawValue)); the launcher records it when it checks the agent's venv (pass its --state-dir), or name the venv with --venv DIR", exitCode: ExitCode.usage)
        }
        profile = found
    }
    if let given = arguments.value("--venv") {
        return AgentSelection(venv: normalizedPath(absolutePath(given, relativeTo: currentDirectory())), profile: profile)
    }
    guard let profile else { throw UsageError("--venv DIR or --agent NAME is required") }
    return AgentSelection(venv: profile.venv, profile: profile)
}
