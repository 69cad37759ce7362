import GuardedCore
import GuardedSupervisor

/// `guarded-run convert launchd-to-systemd PLIST... [--output DIR]`: a systemd service (and timer)
/// for each launchd job, already started behind guarded-run (docs/convert.md).
public enum ConvertCommand: AdminCommand {
    public static let name = "convert"
    public static let summary = "turn launchd plists into systemd units wrapped in guarded-run"
    public static let spec = CommandSpec(
        "convert launchd-to-systemd PLIST|DIR...",
        options: [
            .value("--output", as: "DIR", help: "write the units into DIR (default: print them)"),
            .flag("--user", help: "user units: WantedBy=default.target instead of multi-user.target"),
            .flag("--force", help: "overwrite existing units in DIR (after taking a snapshot)"),
            guardedRunOption("units"),
            jsonOption,
            stateDirOption,
        ],
        positionals: 2...100_000)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard arguments.positionals[0] == "launchd-to-systemd" else {
            throw UsageError("the only conversion is 'launchd-to-systemd', not '\(arguments.positionals[0])'")
        }
        let files = try expandFileArguments(Array(arguments.positionals.dropFirst()), suffix: ".plist")
        if files.isEmpty { throw CommandFailure("no .plist files given", exitCode: ExitCode.usage) }
        let options = LaunchdConverter.Options(guardedRun: try guardedRunPath(arguments), userUnits: arguments.has("--user"))
        let report = ConvertFleet.launchdToSystemd(files, options: options, outputDirectory: arguments.value("--output"),
                                                   force: arguments.has("--force"), state: try stateDirectory(arguments))
        return emit(report, command: name, json: arguments.has("--json"))
    }
}
