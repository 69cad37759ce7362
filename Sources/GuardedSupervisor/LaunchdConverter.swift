import GuardedCore
import GuardedSystem

/// Turns a launchd job into a systemd service (and a timer for periodic jobs), already started
/// behind guarded-run. Keys with no systemd equivalent are listed, never silently dropped.
public enum LaunchdConverter {
    public struct Options: Sendable {
        public var guardedRun: String
        /// User units (`systemctl --user`): WantedBy=default.target instead of multi-user.target.
        public var userUnits: Bool
        public init(guardedRun: String, userUnits: Bool = false) {
            self.guardedRun = guardedRun
            self.userUnits = userUnits
        }
    }

    public struct Conversion: Equatable, Sendable {
        /// The unit name without suffix, from the Label.
        public var name: String
        public var service: String
        public var timer: String?
        /// A `.path` unit for WatchPaths/QueueDirectories.
        public var path: String? = nil
        /// launchd keys (or parts of keys) that have no equivalent here.
        public var unmapped: [String]
        /// What each converted launchd key became.
        public var changes: [FileChange] = []
    }

    /// Keys the converter reads (and so does not list as unmapped).
    static let handledKeys: Set<String> = [
        "Label", "Program", "ProgramArguments", "EnvironmentVariables", "WorkingDirectory",
        "StandardOutPath", "StandardErrorPath", "StandardInPath", "KeepAlive", "RunAtLoad", "StartInterval",
        "StartCalendarInterval", "UserName", "GroupName", "Nice", "ThrottleInterval", "Umask", "ExitTimeOut",
        "LowPriorityIO", "WatchPaths", "QueueDirectories",
    ]

    public static func convert(_ root: PlistValue, options: Options) -> Result<Conversion, PlistError> {
        guard let label = root["Label"]?.string, !label.isEmpty else { return .failure(PlistError("no Label")) }
        let name = unitName(forLabel: label)
        guard isValidAgentName(label) else { return .failure(PlistError("the Label '\(label)' is not a usable agent name")) }
        var unmapped: [String] = []
        for e in root.entries ?? [] where !handledKeys.contains(e.key) { unmapped.append(e.key) }

        // The command: launchd's own shapes, with a separate argv[0] written as systemd's '@'.
        let program: LaunchdWrap.Program
        switch LaunchdWrap.program(of: root) {
        case .success(let p): program = p
        case .failure(let error): return .failure(error)
        }
        let command: String
        if let p = program.program, let args = program.arguments, !args.isEmpty {
            command = "@" + SystemdSyntax.join([p] + args)
        } else {
            command = SystemdSyntax.join(program.arguments ?? [program.program!])
        }
        let execStart: String
        switch SystemdWrap.wrapCommand(command, agent: label, guardedRun: options.guardedRun) {
        case .success(let text): execStart = text
        case .failure(let error): return .failure(PlistError(error.message))
        }

        var service: [String] = []
        var unit: [String] = []
        var install: [String] = []
        var changes: [FileChange] = []
        func mapped(_ key: String, _ after: String) { changes.append(FileChange(key: key, before: root[key]?.compactText, after: after)) }
        var restart = "no"
        var startsAtLoad = root["RunAtLoad"]?.boolean == true
        switch root["KeepAlive"] {
        case .boolean(true)?:
            restart = "always"
            startsAtLoad = true
        case .boolean(false)?, nil:
            break
        case .dictionary(let conditions)?:
            for c in conditions {
                switch (c.key, c.value) {
                case ("SuccessfulExit", .boolean(false)): restart = "on-failure"
                case ("SuccessfulExit", .boolean(true)): restart = "on-success"
                case ("Crashed", .boolean(true)): restart = restart == "no" ? "on-abnormal" : restart
                case ("NetworkState", .boolean(true)):
                    // launchd waits for a network to start the job; systemd's nearest is ordering
                    // it after network-online.target (and pulling that in).
                    unit += ["Wants=network-online.target", "After=network-online.target"]
                default: unmapped.append("KeepAlive.\(c.key)")
                }
            }
            startsAtLoad = true
        default:
            unmapped.append("KeepAlive")
        }

        // A periodic job runs to completion each time; with Type=oneshot systemd counts it as
        // running until it exits (so the timer never overlaps runs) and a failure shows as failed.
        let periodic = root["StartInterval"] != nil || root["StartCalendarInterval"] != nil
        let oneshot = periodic && ["no", "on-failure", "on-abnormal"].contains(restart)
        if oneshot { service.append("Type=oneshot") }
        service.append("ExecStart=" + execStart)
        service.append("Restart=" + restart)
        if root["KeepAlive"] != nil { mapped("KeepAlive", "Restart=" + restart + (unit.isEmpty ? "" : ", " + unit.joined(separator: ", "))) }
        if let throttle = root["ThrottleInterval"] {
            if let n = throttle.integer, n >= 0 { service.append("RestartSec=\(n)") } else { unmapped.append("ThrottleInterval") }
        } else if restart != "no" {
            service.append("# launchd's default ThrottleInterval")
            service.append("RestartSec=10")
        }
        service.append("RestartPreventExitStatus=78")
        if oneshot {
            // systemd refuses RestartForceExitStatus= in a Type=oneshot unit.
            service.append("# 75 (transient) would ask for a restart, but Type=oneshot units cannot have RestartForceExitStatus=.")
        } else {
            service.append("RestartForceExitStatus=75")
        }
        service.append("SyslogIdentifier=" + label)
        if let io = root["LowPriorityIO"] {
            switch io {
            case .boolean(true): service.append("IOSchedulingClass=idle"); mapped("LowPriorityIO", "IOSchedulingClass=idle")
            case .boolean(false): mapped("LowPriorityIO", "(the default)")
            default: unmapped.append("LowPriorityIO")
            }
        }
        if let env = root["EnvironmentVariables"] {
            if let entries = env.entries {
                for e in entries {
                    guard let v = e.value.string, isEnvironmentName(e.key) else { unmapped.append("EnvironmentVariables.\(e.key)"); continue }
                    service.append("Environment=" + SystemdSyntax.quote(e.key + "=" + v, environmentExpansion: false))
                }
            } else { unmapped.append("EnvironmentVariables") }
        }
        func path(_ key: String, _ render: (String) -> String) {
            guard let v = root[key] else { return }
            guard let s = v.string, s.hasPrefix("/"), !s.contains("\n"), UnitFile.trim(s) == s else { unmapped.append(key); return }
            service.append(render(pathValue(s)))
        }
        path("WorkingDirectory") { "WorkingDirectory=" + $0 }
        path("StandardInPath") { "StandardInput=file:" + $0 }
        path("StandardOutPath") { "StandardOutput=append:" + $0 }
        path("StandardErrorPath") { "StandardError=append:" + $0 }
        for (key, directive) in [("UserName", "User"), ("GroupName", "Group")] {
            guard let v = root[key] else { continue }
            if let s = v.string, !s.isEmpty, s.utf8.allSatisfy(isNameByte) { service.append("\(directive)=\(s)") } else { unmapped.append(key) }
        }
        if let nice = root["Nice"] {
            if let n = nice.integer, (-20...19).contains(n) { service.append("Nice=\(n)") } else { unmapped.append("Nice") }
        }
        if let umask = root["Umask"] {
            if let n = umask.integer, (0...0o777).contains(n) { service.append("UMask=0" + String(n, radix: 8)) } else { unmapped.append("Umask") }
        }
        if let timeout = root["ExitTimeOut"] {
            if let n = timeout.integer, n >= 0 { service.append("TimeoutStopSec=\(n)") } else { unmapped.append("ExitTimeOut") }
        }

        var timerLines: [String] = []
        if let interval = root["StartInterval"] {
            if let n = interval.integer, n > 0 {
                timerLines.append("OnActiveSec=\(n)")
                timerLines.append("OnUnitActiveSec=\(n)")
            } else { unmapped.append("StartInterval") }
        }
        if let calendar = root["StartCalendarInterval"] {
            let specs = calendar.array ?? [calendar]
            var any = false
            for spec in specs {
                switch onCalendar(spec) {
                case .success(let line): timerLines.append("OnCalendar=" + line); any = true
                case .failure: unmapped.append("StartCalendarInterval")
                }
            }
            // launchd starts a calendar job missed during sleep at wake: Persistent= is that.
            if any { timerLines.append("Persistent=true") }
        }
        if !timerLines.isEmpty { mapped(root["StartInterval"] != nil ? "StartInterval" : "StartCalendarInterval", "\(name).timer, Type=oneshot") }

        // WatchPaths start the job when a path changes, QueueDirectories while a directory is
        // not empty: a .path unit's PathChanged= and DirectoryNotEmpty=.
        var pathLines: [String] = []
        for (key, directive) in [("WatchPaths", "PathChanged"), ("QueueDirectories", "DirectoryNotEmpty")] {
            guard let v = root[key] else { continue }
            guard let paths = v.strings, !paths.isEmpty,
                  paths.allSatisfy({ $0.hasPrefix("/") && !$0.utf8.contains { $0 < 32 || $0 == 127 } && UnitFile.trim($0) == $0 && !$0.hasSuffix("\\") }) else {
                unmapped.append(key)
                continue
            }
            pathLines += paths.map { directive + "=" + pathValue($0) }
            mapped(key, "\(name).path: " + paths.map { directive + "=" + $0 }.joined(separator: ", "))
        }
        let target = options.userUnits ? "default.target" : "multi-user.target"
        if startsAtLoad { install.append("WantedBy=" + target) }
        let description = descriptionText(label, program: program)
        // Key names come from the plist: a newline in one would end the comment below and put
        // the rest of the name into the unit as directives.
        unmapped = unmapped.map { oneLine($0) }

        var text = "# Converted from the launchd job \(label) by 'guarded-run convert launchd-to-systemd'.\n"
        if !unmapped.isEmpty {
            text += "# launchd keys with no systemd equivalent here (not converted): " + unmapped.joined(separator: ", ") + "\n"
        }
        text += "[Unit]\nDescription=" + description + "\n"
        for line in unit { text += line + "\n" }
        if !timerLines.isEmpty && !startsAtLoad { text += "# Started by \(name).timer.\n" }
        if !pathLines.isEmpty { text += "# Also started by \(name).path.\n" }
        text += "\n[Service]\n" + service.joined(separator: "\n") + "\n"
        if !install.isEmpty { text += "\n[Install]\n" + install.joined(separator: "\n") + "\n" }

        var timer: String? = nil
        if !timerLines.isEmpty {
            timer = "# Converted from the launchd job \(label) by 'guarded-run convert launchd-to-systemd'.\n"
                + "[Unit]\nDescription=Schedule of " + description + "\n\n[Timer]\n"
                + timerLines.joined(separator: "\n") + "\nUnit=\(name).service\n\n[Install]\nWantedBy=timers.target\n"
        }
        var pathUnit: String? = nil
        if !pathLines.isEmpty {
            pathUnit = "# Converted from the launchd job \(label) by 'guarded-run convert launchd-to-systemd'.\n"
                + "[Unit]\nDescription=Paths watched for " + description + "\n\n[Path]\n"
                + pathLines.joined(separator: "\n") + "\nUnit=\(name).service\n\n[Install]\nWantedBy=paths.target\n"
        }
        for key in ["Program", "ProgramArguments"] where root[key] != nil { mapped(key, "ExecStart=" + execStart) }
        return .success(Conversion(name: name, service: text, timer: timer, path: pathUnit, unmapped: unmapped, changes: changes))
    }

    /// A unit name from a launchd Label: characters systemd does not allow in unit names become `-`.
    public static func unitName(forLabel label: String) -> String {
        var out = ""
        for ch in label.unicodeScalars {
            let ok = ch.isASCII && (ch.properties.isAlphabetic || ("0"..."9").contains(ch) || ch == "." || ch == "_" || ch == "-" || ch == ":")
            out += ok ? String(ch) : "-"
        }
        return out
    }

    /// `StartCalendarInterval` dictionary to OnCalendar=: absent fields are wildcards, as in
    /// launchd (so `{Hour = 9}` is every minute of 09:xx). Weekday 0 and 7 are Sunday.
    static func onCalendar(_ spec: PlistValue) -> Result<String, PlistError> {
        guard let entries = spec.entries else { return .failure(PlistError("not a dictionary")) }
        var fields: [String: Int] = [:]
        for e in entries {
            guard ["Minute", "Hour", "Day", "Weekday", "Month"].contains(e.key), let n = e.value.integer else {
                return .failure(PlistError("unknown field \(e.key)"))
            }
            fields[e.key] = n
        }
        func two(_ key: String, _ range: ClosedRange<Int>) -> String?? {
            guard let n = fields[key] else { return .some(nil) }
            guard range.contains(n) else { return nil }
            return .some(n < 10 ? "0\(n)" : "\(n)")
        }
        guard let minute = two("Minute", 0...59), let hour = two("Hour", 0...23), let day = two("Day", 1...31),
              let month = two("Month", 1...12) else { return .failure(PlistError("field out of range")) }
        var text = ""
        if let w = fields["Weekday"] {
            let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            guard (0...7).contains(w) else { return .failure(PlistError("Weekday out of range")) }
            text = names[w] + " "
        }
        text += "*-\(month ?? "*")-\(day ?? "*") \(hour ?? "*"):\(minute ?? "*"):00"
        return .success(text)
    }

    /// Path settings take the rest of the line verbatim after specifier expansion: only `%` needs
    /// escaping.
    static func pathValue(_ s: String) -> String { s.replacingAll("%", with: "%%") }

    /// `LABEL: PROGRAM ARGS...` (the program by its file name, the first arguments, at most 80
    /// characters), as Description= reads it: `%` doubled, control characters as spaces, and no
    /// trailing backslash (which would continue the line).
    static func descriptionText(_ label: String, program: LaunchdWrap.Program) -> String {
        let args = program.arguments ?? []
        let executable = program.program ?? args.first ?? ""
        var words = [baseName(of: executable)] + args.dropFirst().prefix(4)
        words.removeAll { $0.isEmpty }
        var command = words.joined(separator: " ")
        if command.count > 80 { command = String(command.prefix(77)) + "..." }
        var text = String(decoding: (label + ": " + command).utf8.map { $0 < 32 || $0 == 127 ? 32 : $0 }, as: UTF8.self)
        while text.hasSuffix("\\") || text.hasSuffix(" ") { text.removeLast() }
        return text.replacingAll("%", with: "%%")
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !ASCII.isDigit(first) else { return false }
        return name.utf8.allSatisfy(ASCII.isWordByte)
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        ASCII.isWordByte(c) || c == 45 || c == 46
    }
}
