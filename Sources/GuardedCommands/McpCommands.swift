import GuardedCore
import GuardedSupervisor
import GuardedSystem

/// `guarded-run wrap mcp CONFIG...`: puts guarded-run in front of the stdio MCP servers that run
/// from a Python venv (docs/mcp.md). A dry run unless --force.
enum McpWrapCommand: AdminCommand {
    static let name = "wrap"
    static let summary = WrapCommand.summary
    static let spec = CommandSpec(
        "wrap mcp CONFIG...",
        options: [
            .value("--agent-prefix", as: "P", help: "agent names are P + the server's key (default: the client's prefix, docs/mcp.md)"),
            importOption("a module the server needs, checked by guarded-run (repeatable)"),
            .flag("--auto-repair", help: "let guarded-run repair the venv (mind the client's start-up timeout, docs/mcp.md)"),
            writeOption,
            guardedRunOption("configs"),
            jsonOption,
            stateDirOption,
        ],
        positionals: 1...100_000)

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        let prefix = arguments.value("--agent-prefix")
        if let prefix, McpWrap.agentName(prefix: prefix, key: "x") != prefix + "x" {
            throw UsageError("--agent-prefix takes letters, digits, '.', '_', '-', '@', not '\(prefix)'")
        }
        let options = McpWrap.Options(agentPrefix: prefix, imports: try importedModules(arguments),
                                      autoRepair: arguments.has("--auto-repair"), guardedRun: try guardedRunPath(arguments))
        return emit(McpFleet.wrap(arguments.positionals, options: options, force: arguments.has("--force"),
                                  state: try stateDirectory(arguments)), command: name, json: arguments.has("--json"))
    }
}

/// `guarded-run unwrap mcp CONFIG...`: restores each wrapped entry's own command and args.
enum McpUnwrapCommand: AdminCommand {
    static let name = "unwrap"
    static let summary = UnwrapCommand.summary
    static let spec = CommandSpec(
        "unwrap mcp CONFIG...",
        options: [
            writeOption,
            jsonOption,
            stateDirOption,
        ],
        positionals: 1...100_000)

    static func run(_ arguments: ParsedArguments) throws -> Int32 {
        emit(McpFleet.unwrap(arguments.positionals, force: arguments.has("--force"), state: try stateDirectory(arguments)),
             command: name, json: arguments.has("--json"))
    }
}
