import GuardedCore
import GuardedSupervisor
import GuardedSystem

/// `--from-config PATH...`: the fleet found from its own units, plists and MCP configs
/// (docs/venvs.md). Paths after the first may follow as plain arguments.
let fromConfigOption = OptionSpec.repeated("--from-config", as: "PATH...", help: "units, drop-ins, plists, MCP configs or directories of them: check the venvs they start (more PATHs may follow)")

/// The `--from-config` paths, with the positionals after the command's own `fixedPositionals`.
func fromConfigPaths(_ arguments: ParsedArguments, fixedPositionals: Int) throws -> [String] {
    let extra = Array(arguments.positionals.dropFirst(fixedPositionals))
    let given = arguments.all("--from-config")
    if let first = extra.first, given.isEmpty { throw UsageError("unexpected argument '\(first)'") }
    return given + extra
}

/// Reads the configs, says what could not be read or resolved (stderr), and names every path
/// that no longer exists (stdout, before any venv is checked; in the JSON under "missing").
func reportConfigSources(_ paths: [String], state: StateDirectory?, command: String, json: Bool) -> ConfigSources.Resolved {
    let scan = ConfigSources.scan(paths)
    // File names come from directory listings: a newline in one must not split the line.
    for u in scan.unreadable { reportError(oneLine("\(command): warning: cannot read \(u.path): \(u.reason)")) }
    for u in scan.unresolved { reportError(oneLine("\(command): warning: \(u.path): \(u.reason)")) }
    let resolved = ConfigSources.resolve(scan, state: state)
    if !json && !resolved.missing.isEmpty {
        Output.standardOutput(resolved.missing.map { "missing: \(oneLine($0.file)): \(oneLine($0.place)): \(printable($0.command)) does not exist\n" }.joined())
    }
    return resolved
}

/// The JSON output with the missing paths added (unchanged when there are none).
func withMissing(_ value: JSONValue, _ resolved: ConfigSources.Resolved) -> JSONValue {
    guard !resolved.missing.isEmpty, case .object(var pairs) = value else { return value }
    pairs.append(("missing", .array(resolved.missing.map {
        .object([("file", .string($0.file)), ("place", .string($0.place)), ("path", .string($0.command))])
    })))
    return .object(pairs)
}

/// A config that starts a path that is gone starts nothing: broken (78).
func withMissing(_ exitCode: Int32, _ resolved: ConfigSources.Resolved) -> Int32 {
    resolved.missing.isEmpty ? exitCode : ExitCode.broken
}
