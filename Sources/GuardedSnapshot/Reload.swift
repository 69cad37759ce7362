import GuardedCore
import GuardedSystem

/// The commands a supervisor needs after its unit files or plists changed on disk, each for the
/// manager of the file's owner (`uid`: the owner the file has, or has after the restore):
/// - unit files and `*.d/*.conf` drop-ins under a `systemd` directory: `systemctl daemon-reload`;
///   below a `.config/systemd/user` directory, the owner's user manager: `systemctl --user
///   daemon-reload` for our own, `systemctl --user -M NAME@ daemon-reload` for another user's;
/// - plists under LaunchAgents: `launchctl bootout` + `bootstrap` in `gui/<owner uid>` (a
///   root-owned agent, as in /Library/LaunchAgents, is loaded by each user: `gui/<our uid>`);
///   under LaunchDaemons in `system`; only `bootout` for a deleted plist.
public func reloadCommands(changed: [(path: String, uid: UInt32)], deleted: [(path: String, uid: UInt32)]) -> [[String]] {
    var commands: [[String]] = []
    func add(_ c: [String]) { if !commands.contains(c) { commands.append(c) } }
    let gone = Set(deleted.map(\.path))
    var names: [UInt32: String] = [:]
    for (path, uid) in changed + deleted {
        let parts = path.split(separator: "/").map(String.init)
        guard let name = parts.last else { continue }
        let parents = Array(parts.dropLast())
        let isDropIn = parents.last?.hasSuffix(".d") == true && name.hasSuffix(".conf")
        if parents.contains("systemd") && (isUnitName(name) || isDropIn) {
            let userUnit = parents.indices.contains { i in
                i + 2 < parents.count && parents[i] == ".config" && parents[i + 1] == "systemd" && parents[i + 2] == "user"
            }
            if !userUnit {
                add(["systemctl", "daemon-reload"])
            } else if uid == CurrentProcess.effectiveUserID {
                add(["systemctl", "--user", "daemon-reload"])
            } else {
                let who = names[uid] ?? userName(uid) ?? String(uid)
                names[uid] = who
                add(["systemctl", "--user", "-M", who + "@", "daemon-reload"])
            }
        }
        if name.hasSuffix(".plist") && (parents.contains("LaunchAgents") || parents.contains("LaunchDaemons")) {
            let domain = parents.contains("LaunchDaemons") ? "system" : "gui/\(uid == 0 ? CurrentProcess.userID : uid)"
            add(["launchctl", "bootout", domain, path])
            if !gone.contains(path) { add(["launchctl", "bootstrap", domain, path]) }
        }
    }
    // daemon-reload once, after every launchctl pair.
    return commands.filter { $0[0] != "systemctl" } + commands.filter { $0[0] == "systemctl" }
}

/// The login name of `uid` from /etc/passwd (`passwordEntry`), when it is safe to put in a command
/// line (`user@` for `systemctl -M`); nil when it is not there or the file is unreadable or malformed.
public func userName(_ uid: UInt32, passwd: String = "/etc/passwd") -> String? {
    guard let name = passwordEntry(uid: uid, passwd: passwd)?.name, isValidAgentName(name), !name.contains("@") else { return nil }
    return name
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
