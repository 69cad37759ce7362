import GuardedCore
import GuardedSnapshot
import GuardedSystem

/// Wrapping a systemd service in guarded-run with a drop-in, `<unit>.d/guarded-run.conf`, that
/// clears ExecStart= and sets it again behind `guarded-run --agent NAME --`. The unit file itself
/// is never touched, so unwrapping is removing the drop-in.
public enum SystemdWrap {
    /// The drop-in's file name inside `<unit>.d/`.
    public static let dropInName = "guarded-run.conf"
    /// The first line of every drop-in wrap writes: unwrap removes only files that carry it.
    public static let marker = "# guarded-run drop-in: written by 'guarded-run wrap systemd'; 'guarded-run unwrap systemd' removes it."
    /// Present when wrap created `<unit>.d/` itself, so unwrap removes the directory too.
    public static let createdDirectoryNote = "# guarded-run created this directory."
    /// The second line: the SHA-256 of the drop-in without this line, so unwrap can tell a
    /// drop-in edited since wrap from its own.
    public static let recordPrefix = "# guarded-run wrap record: sha256 "

    public struct Options: Sendable {
        public var agent: String?
        public var autoRepair: Bool
        /// The guarded-run executable the unit will start.
        public var guardedRun: String
        /// The launcher's options, written after `--agent NAME`.
        public var launcher: LauncherOptions
        public init(agent: String? = nil, autoRepair: Bool = false, guardedRun: String, launcher: LauncherOptions = LauncherOptions()) {
            self.agent = agent
            self.autoRepair = autoRepair
            self.guardedRun = guardedRun
            self.launcher = launcher
        }
    }

    /// A drop-in wrap would write, with what it changes in the unit and what to warn about.
    public struct DropIn: Equatable, Sendable {
        public var path: String
        public var content: String
        /// Create `<unit>.d` first.
        public var createsDirectory: Bool
        public var changes: [FileChange]
        public var warnings: [String]
    }

    /// What wrapping one unit would do.
    public enum Plan: Equatable, Sendable {
        case write(DropIn)
        /// The drop-in is already there with exactly this content.
        case unchanged(dropIn: String)
        /// The unit already starts guarded-run on its own.
        case alreadyGuarded
        case refused(String)
    }

    public static func dropInDirectory(for unitPath: String) -> String { unitPath + ".d" }
    public static func dropInPath(for unitPath: String) -> String { dropInDirectory(for: unitPath) + "/" + dropInName }

    /// Plans the wrap of the unit at `unitPath`, reading it and the drop-ins beside it.
    public static func plan(unitPath: String, options: Options) throws -> Plan {
        let unitName = baseName(of: unitPath)
        guard unitName.hasSuffix(".service") else { return .refused("not a .service unit") }
        let unit: UnitFile
        do { unit = try UnitFile.read(unitPath) } catch let error as SystemdSyntaxError {
            return .refused("cannot parse the unit: \(error.message)")
        }
        let directory = dropInDirectory(for: unitPath)
        let ours = dropInPath(for: unitPath)
        var before: [UnitFile] = [unit]
        var existing: String? = nil
        var directoryExists = false
        if let st = fileStatusIfPresent(directory) {
            guard st.isDirectory else {
                return .refused("\(directory) is not a directory (a symlink is not written through)")
            }
            directoryExists = true
            for name in try directoryEntries(directory).sorted() where name.hasSuffix(".conf") {
                let path = directory + "/" + name
                if name == dropInName {
                    guard let st = fileStatusIfPresent(path), st.isRegularFile else {
                        return .refused("\(path) is not a regular file")
                    }
                    existing = try readTextFile(path)
                    continue
                }
                let dropIn: UnitFile
                do { dropIn = try UnitFile.read(path) } catch let error as SystemdSyntaxError {
                    return .refused("cannot parse \(path): \(error.message)")
                }
                if name < dropInName {
                    before.append(dropIn)
                } else if !dropIn.values("Service", "ExecStart").isEmpty {
                    return .refused("\(path) sets ExecStart= after \(dropInName) would, which would undo the wrap")
                }
            }
        }
        if let existing, !existing.hasPrefix(marker) {
            return .refused("\(ours) exists and was not written by guarded-run wrap; left alone")
        }
        let createsDirectory = !directoryExists || (existing?.contains("\n" + createdDirectoryNote + "\n") ?? false)
        var planned: DropIn
        switch dropIn(unitName: unitName, commands: ServiceCommands(before), options: options, createsDirectory: createsDirectory) {
        case .success(let made): planned = made
        case .failure(let refusal):
            if refusal.message == alreadyGuardedMessage { return .alreadyGuarded }
            return .refused(refusal.message)
        }
        planned.path = ours
        if let existing {
            if existing == planned.content { return .unchanged(dropIn: ours) }
            return .refused("\(ours) exists with different content (the unit's command or the options changed); run 'guarded-run unwrap systemd' first")
        }
        return .write(planned)
    }

    static let alreadyGuardedMessage = "the unit already starts guarded-run"

    /// The drop-in for a service whose effective ExecStart= lines are `commands` (its `path` is
    /// left empty for the caller).
    public static func dropIn(unitName: String, commands: ServiceCommands, options: Options,
                              createsDirectory: Bool = false) -> Result<DropIn, SystemdSyntaxError> {
        let lines = commands.execStart
        if lines.isEmpty { return .failure(SystemdSyntaxError("the unit has no ExecStart=; nothing to wrap")) }
        if lines.count > 1 && commands.type != "oneshot" {
            return .failure(SystemdSyntaxError("\(lines.count) ExecStart= lines in a Type=\(commands.type) unit; systemd allows several only for Type=oneshot"))
        }
        let agent: String
        if let given = options.agent { agent = given } else {
            guard let derived = agentName(forUnit: unitName) else {
                return .failure(SystemdSyntaxError("cannot make an agent name from '\(unitName)'; pass --agent NAME"))
            }
            agent = derived
        }
        // A service that runs as another user gets a state directory of its own, which systemd
        // creates and gives to that user (docs/architecture.md, "A fleet's state"), named on the
        // command line too: a unit with a StateDirectory= of its own lists that one first in
        // $STATE_DIRECTORY. An explicit --state-dir wins.
        let stateDir = options.launcher.stateDir == nil && commands.runsAsOtherUser ? agentStateDirectory(agent) : nil
        var wrapped: [String] = []
        var changes: [FileChange] = []
        var warnings: [String] = []
        for line in lines {
            switch wrapCommand(line.value, agent: agent, guardedRun: options.guardedRun, launcherArguments: options.launcher.arguments,
                                 stateDir: stateDir) {
            case .success(let text):
                wrapped.append(text)
                changes.append(FileChange(key: "ExecStart", before: line.value, after: text))
                if SystemdSyntax.execPrefix(of: line.value).contains("-") {
                    warnings.append("ExecStart= on line \(line.line) has the '-' prefix: systemd counts guarded-run's exit 78 (agent refused) as success, so 'systemctl --failed' will not list the agent; 'guarded-run status' will")
                }
            case .failure(let error):
                return .failure(SystemdSyntaxError(error.message == alreadyGuardedMessage ? error.message : "ExecStart= on line \(line.line): \(error.message)"))
            }
        }
        var text = ""
        if createsDirectory { text += createdDirectoryNote + "\n" }
        text += "# Starts the agent behind guarded-run, which refuses to start it on a broken venv (exit 78).\n"
        text += "[Service]\n"
        text += "ExecStart=\n"
        for w in wrapped { text += "ExecStart=" + w + "\n" }
        text += "# 78: the venv is broken and was not repaired: restarting cannot help.\n"
        text += "RestartPreventExitStatus=78\n"
        if commands.type == "oneshot" {
            // systemd refuses RestartForceExitStatus= in a Type=oneshot unit.
            text += "# 75 (transient) would ask for a restart, but Type=oneshot units cannot have RestartForceExitStatus=.\n"
        } else {
            text += "# 75: transient (a repair still running, a lock held): worth another start.\n"
            text += "RestartForceExitStatus=75\n"
        }
        if stateDir != nil {
            text += "# The agent runs as another user: its own state directory, made and owned for it by systemd\n"
            text += "# (root's status, metrics and venvs report read it there).\n"
            text += "StateDirectory=guarded-run-agents/" + agent + "\n"
            changes.append(FileChange(key: "StateDirectory", before: nil, after: "guarded-run-agents/" + agent))
        }
        text += "SyslogIdentifier=" + agent + "\n"
        if options.autoRepair { text += "Environment=ENABLE_AUTO_REPAIR=true\n" }
        changes.append(FileChange(key: "RestartPreventExitStatus", before: nil, after: "78"))
        if commands.type != "oneshot" { changes.append(FileChange(key: "RestartForceExitStatus", before: nil, after: "75")) }
        changes.append(FileChange(key: "SyslogIdentifier", before: nil, after: agent))
        if options.autoRepair { changes.append(FileChange(key: "Environment", before: nil, after: "ENABLE_AUTO_REPAIR=true")) }
        return .success(DropIn(path: "", content: withRecord(text), createsDirectory: createsDirectory, changes: changes, warnings: warnings))
    }

    /// The drop-in's text with the marker and the record line in front.
    static func withRecord(_ body: String) -> String {
        marker + "\n" + recordPrefix + SHA256.hex(Array((marker + "\n" + body).utf8)) + "\n" + body
    }

    /// Whether a drop-in wrap wrote is still exactly as written: true or false, or nil for a
    /// drop-in without a record (written by guarded-run 0.1.0).
    static func isUnchangedSinceWrap(_ text: String) -> Bool? {
        let head = marker + "\n" + recordPrefix
        guard text.hasPrefix(head) else { return nil }
        let rest = text.dropFirst(head.count)
        guard let end = rest.firstIndex(of: "\n") else { return false }
        return String(rest[..<end]) == SHA256.hex(Array((marker + "\n" + String(rest[rest.index(after: end)...])).utf8))
    }

    /// `ExecStart=` text starting `guarded-run --agent AGENT --` and then the original command.
    /// The original's prefixes (`-@:+!`) move in front of guarded-run and the rest of its text is
    /// copied byte for byte, so its quoting, escapes, specifiers and `$VARIABLES` mean what they
    /// meant. With `@` (argv[0] given separately) the custom argv[0] becomes guarded-run's own
    /// argv[0]: the launcher execs the agent with its path as argv[0].
    /// `stateDir` is written as it is, like the agent name, so a template's `%i` stays a specifier.
    public static func wrapCommand(_ value: String, agent: String, guardedRun: String,
                                   launcherArguments: [String] = [], stateDir: String? = nil) -> Result<String, SystemdSyntaxError> {
        let words: [SystemdWord]
        do { words = try SystemdSyntax.split(value) } catch { return .failure(error) }
        if words.contains(where: { $0.kind == .commandSeparator }) {
            return .failure(SystemdSyntaxError("several commands on one line (separated by ';'); split them first"))
        }
        guard let first = words.first else { return .failure(SystemdSyntaxError("empty command")) }
        let prefix = SystemdSyntax.execPrefix(of: first.text)
        let separateArgv0 = prefix.contains("@")
        let path = String(first.text.dropFirst(prefix.count))
        if path.isEmpty { return .failure(SystemdSyntaxError("empty path after the prefix '\(prefix)'")) }
        if baseName(of: path) == programName { return .failure(SystemdSyntaxError(alreadyGuardedMessage)) }
        if separateArgv0 && words.count < 2 { return .failure(SystemdSyntaxError("'@' prefix without an argv[0]")) }

        let raw = Array(value.utf8)
        func rawText(_ from: Int, _ to: Int) -> String { String(decoding: raw[from..<to], as: UTF8.self) }
        // The path word without its prefix characters: copied when the prefixes were written bare
        // in front of it (the usual case), re-quoted when they were inside the quotes.
        let rawFirst = rawText(first.rawStart, first.rawEnd)
        let pathWord = rawFirst.hasPrefix(prefix) ? String(rawFirst.dropFirst(prefix.count)) : SystemdSyntax.requote(path)
        // With ':' systemd does not expand variables, so a '$' must not be doubled either.
        var head = prefix + SystemdSyntax.quote(guardedRun, environmentExpansion: !prefix.contains(":"))
        var restStart = first.rawEnd
        if separateArgv0 {
            head += " " + rawText(words[1].rawStart, words[1].rawEnd)
            restStart = words[1].rawEnd
        }
        head += " --agent " + agent
        for word in launcherArguments { head += " " + SystemdSyntax.quote(word, environmentExpansion: !prefix.contains(":")) }
        if let stateDir { head += " --state-dir " + stateDir }
        head += " -- " + pathWord
        return .success(head + rawText(restStart, raw.count))
    }

    /// `/var/lib/guarded-run-agents/<agent>`: what `StateDirectory=guarded-run-agents/<agent>` gives
    /// (systemd resolves `%i` in both).
    public static func agentStateDirectory(_ agent: String) -> String { StateDirectory.systemdAgentStatesRoot + "/" + agent }

    /// The agent name for a unit: its name without `.service`; a template `name@.service`
    /// gives `name@%i`, which systemd resolves to the instance.
    public static func agentName(forUnit unitName: String) -> String? {
        var name = unitName
        if name.hasSuffix(".service") { name.removeLast(".service".count) }
        if name.hasSuffix("@") { name += "%i" }
        let check = name.hasSuffix("@%i") ? String(name.dropLast(2)) + "i" : name
        return isValidAgentName(check) ? name : nil
    }

    /// What unwrapping one unit would do.
    public enum UnwrapPlan: Equatable, Sendable {
        /// Remove the drop-in, and `<unit>.d` too when wrap created it and it is then empty.
        /// `edited`: the drop-in no longer matches its wrap record (someone changed it since).
        case remove(dropIn: String, directory: String?, edited: Bool)
        case notWrapped
        case refused(String)
    }

    public static func planUnwrap(unitPath: String) throws -> UnwrapPlan {
        let path = dropInPath(for: unitPath)
        guard let st = fileStatusIfPresent(path) else { return .notWrapped }
        guard st.isRegularFile else { return .refused("\(path) is not a regular file") }
        let text = try readTextFile(path)
        guard text.hasPrefix(marker) else {
            return .refused("\(path) was not written by guarded-run wrap; left alone")
        }
        let directory = dropInDirectory(for: unitPath)
        let created = text.contains("\n" + createdDirectoryNote + "\n")
        let others = try directoryEntries(directory).filter { $0 != dropInName }
        return .remove(dropIn: path, directory: created && others.isEmpty ? directory : nil,
                       edited: isUnchangedSinceWrap(text) == false)
    }
}
