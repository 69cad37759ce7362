import GuardedSystem

/// The commands a supervisor needs after its unit files or plists changed on disk:
/// `systemctl [--user] daemon-reload` for unit files and `*.d/*.conf` drop-ins under a `systemd`
/// directory; `launchctl bootout` + `bootstrap` for each plist under LaunchAgents/LaunchDaemons
/// (only `bootout` for one that was deleted).
public func reloadCommands(changed: [String], deleted: [String]) -> [[String]] {
    var commands: [[String]] = []
    func add(_ c: [String]) { if !commands.contains(c) { commands.append(c) } }
    let home = Environment.homeDirectory()
    let gone = Set(deleted)
    for path in changed + deleted {
        let parts = path.split(separator: "/").map(String.init)
        guard let name = parts.last else { continue }
        let parents = parts.dropLast()
        let isDropIn = parents.last?.hasSuffix(".d") == true && name.hasSuffix(".conf")
        if parents.contains("systemd") && (isUnitName(name) || isDropIn) {
            let user = home.map { isInside(path, $0 + "/.config/systemd/user") } ?? false
            add(user ? ["systemctl", "--user", "daemon-reload"] : ["systemctl", "daemon-reload"])
        }
        if name.hasSuffix(".plist") && (parents.contains("LaunchAgents") || parents.contains("LaunchDaemons")) {
            let domain = parents.contains("LaunchDaemons") ? "system" : "gui/\(getuid())"
            add(["launchctl", "bootout", domain, path])
            if !gone.contains(path) { add(["launchctl", "bootstrap", domain, path]) }
        }
    }
    // daemon-reload once, after every launchctl pair.
    return commands.filter { $0[0] != "systemctl" } + commands.filter { $0[0] == "systemctl" }
}

/// Runs the reload commands; returns one line per failure (empty: all succeeded).
public func runReloadCommands(_ commands: [[String]]) -> [String] {
    var failures: [String] = []
    for command in commands {
        let text = command.joined(separator: " ")
        guard let executable = Subprocess.findExecutable(command[0]) else {
            failures.append("\(text): \(command[0]) not found on PATH")
            continue
        }
        do {
            let result = try Subprocess.run(executable, Array(command.dropFirst()), timeoutSeconds: 60)
            if !result.succeeded {
                let detail = result.errorText.split(separator: "\n").first.map { ": \($0)" } ?? ""
                failures.append("\(text): \(result.timedOut ? "timed out" : result.termination.description)\(detail)")
            }
        } catch {
            failures.append("\(text): \(error)")
        }
    }
    return failures
}
