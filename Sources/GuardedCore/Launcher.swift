import GuardedSystem

/// The first thing the full binary's main does: when argv is a launcher command line in its common
/// form, decide from the cached fingerprint and exec (the same code the Embedded launcher runs,
/// GuardedLaunch/FastPath.swift). Returns on a miss, or for anything else (admin commands, unusual
/// forms), to the general code. `log` is what the launcher that handed the start over did with the
/// health-log line (`Handover`).
public func launcherFastPath(log: FastLogMode = .write) {
    let started = Clock.monotonicNanoseconds()
    guard let argv = ProcessArguments.vector else { return }
    FastPath.attempt(argc: ProcessArguments.count, argv: argv, startedNs: started, log: log, fallback: generalFallback)
}

/// Takes the launcher's GUARDED_RUN_HANDOVER out of the environment (COMMAND never sees it) and
/// returns what the Embedded launcher that handed this start over did with its health-log line. Only
/// a value naming this process's PID is a handover (the launcher exec'd this very process); any other
/// is the caller's, left as received, and changes nothing. A launcher of another cache format (half
/// an upgrade) is said once per boot; its cache files then never match (each side reads only its
/// own format), so every start takes this binary's path until both binaries come from one build.
public func takeHandover() -> FastLogMode {
    guard let raw = Environment.bytes(LaunchFormat.handoverVariable),
          let rest = Handover.fromThisProcess(raw) else { return .write }
    let parsed = Handover.parse(rest)
    Environment.removeFirst(String(describing: LaunchFormat.handoverVariable))
    if let parsed, parsed.format == LaunchFormat.fingerprintFormat { return parsed.log }
    let theirs = parsed.map { "cache format \($0.format)" } ?? "an unknown handover"
    BootNotice.say(.versionSkew, agent: "guarded-run", venv: nil,
                   reason: "the launcher speaks \(theirs), this full binary format \(LaunchFormat.fingerprintFormat)",
                   message: Diagnostics.line("warning: the launcher (guarded-run) speaks \(theirs) and this full binary (guarded-run-full) cache format \(LaunchFormat.fingerprintFormat): install both from one build (docs/guarded-run.md); until then every start runs the full binary's path (said once per boot)"))
    return .write
}

/// What the byte-level decision leaves to the general code after a hit: logging through
/// `HealthLog` (a first start, a rotation, a refused path), the once-per-boot notice of a lost
/// record, and running COMMAND when it needs a PATH search or its exec failed (`execCommand`, the
/// one place that reports an exec failure).
func generalFallback(_ fallback: FastFallback) {
    switch fallback {
    case .logElsewhere(let hit):
        guard let state = StateDirectory(bytes: hit.input.state) else { return }
        appendHealthRecord(HealthRecord(hit), state: state)
        if hit.input.giveUpAfter { FailureStreak.reset(state: state, agent: HealthRecord.text(hit.input.agent)) }
    case .logFailed(let hit, let errno):
        healthLogNotWritten(agent: HealthRecord.text(hit.input.agent), venv: HealthRecord.text(hit.input.venv), Errno(rawValue: errno))
        if hit.input.giveUpAfter, let state = StateDirectory(bytes: hit.input.state) {
            FailureStreak.reset(state: state, agent: HealthRecord.text(hit.input.agent))
        }
    case .execute(let hit, _):
        CurrentProcess.exit(execCommand(argv: hit.command, agent: HealthRecord.text(hit.input.agent)))
    }
}

extension HealthRecord {
    /// The fast path's hit as the record `FastPath.formatHealthLine` writes.
    init(_ hit: FastHit) {
        self.init(agent: HealthRecord.text(hit.input.agent), venv: HealthRecord.text(hit.input.venv),
                  status: hit.degraded ? "degraded" : "healthy", decision: .fastOK,
                  reasons: (0..<hit.reasons.count).map { HealthRecord.text(hit.reasons[$0]) },
                  checkMicroseconds: hit.checkMicroseconds, extra: hit.input.observe ? [("observe", .bool(true))] : [])
    }

    static func text(_ bytes: Bytes) -> String { String(decoding: bytes.buffer, as: UTF8.self) }
}

extension StateDirectory {
    /// The state directory the fast path resolved (an absolute path).
    init?(bytes: Bytes) {
        let path = HealthRecord.text(bytes)
        guard path.utf8.first == UInt8(ascii: "/") else { return nil }
        self.init(path: path)
    }
}

/// Everything the slow path needs to know about this start.
public struct LaunchContext: Sendable {
    public let request: LaunchRequest
    public let agent: String
    public let venv: String
    public let state: StateDirectory
    /// Observe mode: check and log everything, refuse nothing, change nothing (no repair).
    public var observe = false
    /// False when no state directory could be used (none chosen, or it cannot be created or is not
    /// ours): the start goes on with the full check, without cache, health log or streak.
    public let stateUsable: Bool
    /// CLOCK_MONOTONIC at the start of launcher mode: `check_us` is measured from here.
    public let startedNs: Int64
    /// How COMMAND starts the agent (its working directory, PYTHONPATH, argv): in the cache key
    /// with `--import`, and mirrored by the probe's import checks.
    public var agentContext: AgentContext? = nil

    public var elapsedMicroseconds: Int64 { (Clock.monotonicNanoseconds() - startedNs) / 1000 }

    /// This start's health-log record: its agent and venv, the time since the start of launcher mode.
    public func record(_ status: String, _ decision: Decision, reasons: [String], extra: [(String, JSONValue)] = []) -> HealthRecord {
        HealthRecord(agent: agent, venv: venv, status: status, decision: decision, reasons: reasons,
                     checkMicroseconds: elapsedMicroseconds, extra: extra)
    }
}

/// What the slow path (full check, repair, rollback) decided.
public enum SlowPathOutcome: Sendable {
    /// Start the agent; the record goes to the health log first.
    case start(HealthRecord)
    /// Do not start it: log the record (when there is one), print `message` on stderr, exit with `exitCode`.
    case refuse(HealthRecord?, exitCode: Int32, message: String)
}

/// Launcher mode, as a straight line: parse argv, find the venv and the agent, read the cached
/// fingerprint, re-stat its watch list, append one health-log line, execve COMMAND. Only a cache miss
/// leaves the line, through `slowPath` (the full check and, behind the flag, repair).
public func runLauncher(slowPath: (LaunchContext) -> SlowPathOutcome) -> Int32 {
    let started = Clock.monotonicNanoseconds()
    let argc = Int(CommandLine.argc)
    let argv = CommandLine.unsafeArgv

    let request: LaunchRequest
    switch LaunchRequest.parse(argc: argc, argv: argv) {
    case .success(let r): request = r
    case .failure(let error):
        reportError(error.message, event: JournalEvent(.usage))
        writeStandardError(LaunchRequest.usage, event: JournalEvent(.usage))
        return ExitCode.usage
    }
    let command = String(cString: argv[request.commandIndex]!)

    // No state directory (HOME unset) is not a reason to keep an agent down: it runs on the full
    // check alone (below), and says so once per boot. The empty path opens nothing.
    let resolved = StateDirectory.resolve(explicit: request.stateDir)
    let state = resolved ?? StateDirectory(path: "", source: .home)
    let venv: String
    if let given = request.venv {
        venv = normalizedPath(absolutePath(given, relativeTo: currentDirectory()))
    } else if let found = venvContaining(command: command, state: state) {
        venv = found
    } else {
        reportError("no venv for \(command): it is not in a venv's bin/ (beside pyvenv.cfg); name the venv with --venv DIR",
                    event: JournalEvent(.usage, agent: request.agent))
        return ExitCode.usage
    }
    let agent = request.agent ?? defaultAgentName(venv: venv)
    let observeSetting = request.observe.map { (enabled: $0, note: String?.none) } ?? observeFromEnvironment()
    if let note = observeSetting.note {
        Diagnostics.warning(note, agent: agent, venv: venv)
    }
    let observe = observeSetting.enabled
    for setting in Setting.all {
        guard let problem = setting.problem else { continue }
        Diagnostics.warning("\(problem); using the default, \(Setting.text(setting.defaultValue))", agent: agent, venv: venv)
    }

    // Unusual command lines (relative paths, --name=value, names that need cleaning) reach the
    // same byte-level decision here, with the values normalized; it execs on a hit.
    withFastPathInput(venv: venv, agent: agent, state: state.path, imports: request.imports,
                      giveUpAfter: request.giveUpAfter != nil, observe: observe) { input in
        FastPath.decideAndExec(input, argv: argv + request.commandIndex, startedNs: started, fallback: generalFallback)
    }

    let stateUsable = stateIsUsable(resolved, agent: agent, venv: venv)
    var context = LaunchContext(request: request, agent: agent, venv: venv, state: state,
                                stateUsable: stateUsable, startedNs: started)
    context.observe = observe
    // Off the fast path's line: only a miss gets here. The profile lets `check --agent` and the
    // other admin commands act as this start would.
    let agentContext = AgentContext.launcher(argv: argv, commandIndex: request.commandIndex)
    context.agentContext = agentContext
    if stateUsable {
        do {
            try AgentProfile(agent: agent, venv: venv, request: request, context: agentContext).record(state: state)
        } catch {
            Diagnostics.warning("cannot record the agent's profile: \(error.errno)", agent: agent, venv: venv)
        }
    }
    var observeExtra: [(String, JSONValue)] = observe ? [("observe", .bool(true))] : []
    if let note = observeSetting.note { observeExtra.append(("observe_note", .string(note))) }
    switch slowPath(context) {
    case .start(var record):
        record.extra.insert(contentsOf: observeExtra, at: 0)
        return startAgent(record, request: request, state: stateUsable ? state : nil, argv: argv)
    case .refuse(var record?, let exitCode, let message)
        where observe && (exitCode == ExitCode.broken || exitCode == ExitCode.temporaryFailure):
        // Observe mode: say what would have happened, then start the agent all the same.
        let would = record.decision
        record.decision = .observed
        record.extra.insert(contentsOf: observeExtra + [("would", .string(would.rawValue))], at: 0)
        let prefix = Diagnostics.line("", agent: agent)
        let what = message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
        writeStandardError("\(prefix)observe mode: would refuse the start (\(would.rawValue), exit \(exitCode)); starting it anyway: \(what)", priority: 4,
                           event: JournalEvent(.observed, agent: agent, venv: venv, decision: record.decision.rawValue, would: would.rawValue))
        return startAgent(record, request: request, state: stateUsable ? state : nil, argv: argv)
    case .refuse(var record, let exitCode, let message):
        record?.extra.insert(contentsOf: observeExtra, at: 0)
        var givingUp = false
        if exitCode == ExitCode.broken, let limit = request.giveUpAfter, stateUsable {
            let streak = FailureStreak.increment(state: state, agent: agent)
            givingUp = streak >= limit
            record?.extra.append(("failed_closed_streak", .number(Double(streak))))
            if givingUp { record?.extra.append(("gave_up", .bool(true))) }
        }
        if let record, stateUsable { appendHealthRecord(record, state: state) }
        if let record { writeStandardError(message, priority: 3, event: .refusal(record)) } else {
            writeStandardError(message, priority: 3, event: JournalEvent(.error, agent: agent, venv: venv))
        }
        guard givingUp, let limit = request.giveUpAfter else { return exitCode }
        writeStandardError(Diagnostics.line("GIVING UP: \(limit) consecutive failed-closed starts; exiting 0 so the supervisor stops restarting (fix the venv, then start the agent by hand)", agent: agent), priority: 2,
                           event: JournalEvent(.gaveUp, agent: agent, venv: venv, decision: Decision.failedClosed.rawValue))
        return ExitCode.success
    }
}

/// Gives the byte-level fast path views of these Strings for the duration of `body`.
func withFastPathInput(venv: String, agent: String, state: String, imports: [String], giveUpAfter: Bool,
                       observe: Bool = false, _ body: (FastPathInput) -> Void) {
    for m in imports where !isValidModuleName(m) || m.utf8.contains(where: { $0 >= 0x80 }) { return }
    withByteViews([venv, agent, state] + imports) { views in
        var list = BytesList(capacity: max(imports.count, 1))
        defer { list.free() }
        for v in views.dropFirst(3) { _ = list.append(v) }
        body(FastPathInput(venv: views[0], agent: views[1], state: views[2], imports: list, giveUpAfter: giveUpAfter, observe: observe))
    }
}

/// Byte views (`Bytes`, NUL-terminated behind their count) of copies of `strings` that live until
/// `body` returns.
func withByteViews<R>(_ strings: [String], _ body: ([Bytes]) -> R) -> R {
    let buffers = strings.map { s -> UnsafeMutableBufferPointer<UInt8> in
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: s.utf8.count + 1)
        _ = b.initialize(from: s.utf8)
        b[s.utf8.count] = 0
        return b
    }
    defer { buffers.forEach { $0.deallocate() } }
    return body(zip(buffers, strings).map { Bytes(UnsafePointer($0.0.baseAddress!), $0.1.utf8.count) })
}

/// Logs the start, then replaces this process with COMMAND. Returns only when exec failed.
private func startAgent(_ record: HealthRecord, request: LaunchRequest, state: StateDirectory?,
                        argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    if let state {
        appendHealthRecord(record, state: state)
        if request.giveUpAfter != nil { FailureStreak.reset(state: state, agent: record.agent) }
    }
    return execCommand(argv: argv + request.commandIndex, agent: record.agent)
}

/// A health log that cannot be written does not keep the agent from starting; it is said on
/// stderr, once per agent per boot (`BootNotice`).
func appendHealthRecord(_ record: HealthRecord, state: StateDirectory) {
    do {
        try HealthLog.append(record, state: state)
    } catch {
        healthLogNotWritten(agent: record.agent, venv: record.venv, error.errno)
    }
}

/// The once-per-boot line for a start whose health-log record was lost (both paths use it).
func healthLogNotWritten(agent: String, venv: String, _ errno: Errno) {
    BootNotice.say(.healthLogNotWritten, agent: agent, venv: venv, reason: "cannot write the health log: \(errno)",
                   message: Diagnostics.line("warning: cannot write the health log: \(errno); starts are not logged (said once per boot)", agent: agent))
}

/// Whether the chosen state directory can hold this agent's state (made 0700 when missing, ours).
/// When it cannot, the start goes on without it and says so once per agent per boot; the message
/// names where the directory came from, never its path (it may come from the environment).
func stateIsUsable(_ state: StateDirectory?, agent: String, venv: String) -> Bool {
    let failure: String
    if let state {
        do {
            _ = try state.openDirectory([], create: true)
            return true
        } catch {
            failure = "the state directory (from \(state.source.rawValue)) cannot be used: \(error.errno)"
        }
    } else {
        failure = "no state directory (HOME is not set, not absolute or not UTF-8)"
    }
    BootNotice.say(.noStateDirectory, agent: agent, venv: venv, reason: failure,
                   message: Diagnostics.line("warning: \(failure); every start runs the full check and none is logged; give the unit a StateDirectory= or pass --state-dir DIR (said once per boot)", agent: agent))
    return false
}

/// execve COMMAND with the environment as received. A COMMAND without a slash is looked up on PATH
/// (like env(1) and execvp); 127 when it is nowhere, 126 when found but not executable.
func execCommand(argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, agent: String) -> Int32 {
    let name = argv[0]!
    let nameText = String(cString: name)
    let env = processEnvironment
    var failure: Errno
    // A '/' byte, as execve and the fast path see it (a '/' before a combining mark is no Character "/").
    if nameText.utf8.contains(UInt8(ascii: "/")) {
        failure = replaceProcess(path: name, arguments: argv, environment: env)
    } else {
        failure = .noSuchFileOrDirectory
        var sawPermissionDenied = false
        let searchPath = Environment.value("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + nameText
            let e = replaceProcess(path: candidate, arguments: argv, environment: env)
            if e == .permissionDenied { sawPermissionDenied = true; continue }
            if e == .noSuchFileOrDirectory || e == .notDirectory { continue }
            failure = e
            break
        }
        if failure == .noSuchFileOrDirectory && sawPermissionDenied { failure = .permissionDenied }
    }
    reportError("\(agent): cannot run \(nameText): \(failure)", event: JournalEvent(.execFailed, agent: agent))
    return failure == .noSuchFileOrDirectory || failure == .notDirectory ? ExitCode.notFound : ExitCode.cannotExecute
}

/// The venv COMMAND lives in: COMMAND (looked up on PATH when it has no slash) sits in a `bin/`
/// directory whose parent holds `pyvenv.cfg`, or whose parent we have checked before (its state
/// directory exists: a venv that lost its pyvenv.cfg is still that venv, and broken). Symlinks are not
/// resolved: `venv/bin/python` points at the base interpreter; the venv is the directory named.
public func venvContaining(command: String, state: StateDirectory) -> String? {
    var path = command
    if !command.utf8.contains(UInt8(ascii: "/")) {
        guard let found = Subprocess.findExecutable(command) else { return nil }
        path = found
    }
    let bin = parentDirectory(of: normalizedPath(absolutePath(path, relativeTo: currentDirectory())))
    guard baseName(of: bin) == "bin" else { return nil }
    let venv = parentDirectory(of: bin)
    if fileStatusIfPresent(venv + "/pyvenv.cfg", followSymlinks: true)?.isRegularFile == true { return venv }
    return isDirectory(state.venvDirectory(for: venv)) ? venv : nil
}

/// The default agent name: the venv directory's name, or its parent's when the venv has a generic
/// name (`.venv`, `venv`, `env`, `.env`, `virtualenv`), with anything outside [A-Za-z0-9._@-] made `-`.
public func defaultAgentName(venv: String) -> String {
    var name = baseName(of: venv)
    if [".venv", "venv", "env", ".env", "virtualenv", ".virtualenv"].contains(name) {
        name = baseName(of: parentDirectory(of: venv))
    }
    var cleaned = String(name.unicodeScalars.map { c -> Character in
        let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-" || c == "@"
        return ok ? Character(c) : "-"
    })
    while cleaned.hasPrefix(".") { cleaned.removeFirst() }
    return isValidAgentName(cleaned) ? cleaned : "agent"
}

/// Consecutive failed-closed starts of one agent (for `--give-up-after`), in
/// `agents/<agent>/failed-closed-streak`. Garbage, and a count no run of restarts reaches, reads as 0.
public enum FailureStreak {
    static let name = "failed-closed-streak"
    static let limit = 1_000_000_000

    public static func current(state: StateDirectory, agent: String) -> Int {
        guard let bytes = state.readFile(["agents", agent], name, limit: 64),
              let n = Int(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n")), n >= 0, n < limit else { return 0 }
        return n
    }

    @discardableResult
    public static func increment(state: StateDirectory, agent: String) -> Int {
        let n = current(state: state, agent: agent) + 1
        try? state.writeFile(["agents", agent], name, Array("\(n)\n".utf8))
        return n
    }

    public static func reset(state: StateDirectory, agent: String) {
        try? state.removeFile(["agents", agent], name)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
