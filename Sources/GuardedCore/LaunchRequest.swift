import GuardedSystem

/// The launcher's command line, parsed straight from argv. Only guarded-run's own options are turned
/// into Strings; COMMAND and its arguments stay raw C strings (non-UTF-8 bytes pass through exactly).
public struct LaunchRequest: Sendable {
    public var agent: String?
    public var venv: String?
    public var imports: [String] = []
    public var requirements: String?
    public var python: String?
    /// nil: take ENABLE_AUTO_REPAIR from the environment.
    public var autoRepair: Bool?
    public var stateDir: String?
    public var findLinks: [String] = []
    /// After this many consecutive failed-closed starts, exit 0 so launchd stops respawning.
    public var giveUpAfter: Int?
    /// `--observe`: check and log, never refuse (nil: GUARDED_RUN_OBSERVE decides).
    public var observe: Bool?
    /// Index in argv of COMMAND (the word after `--`).
    public var commandIndex: Int = 0

    public init() {}

    /// Every launcher option, for "did you mean" (LaunchRequestTests parse each one).
    public static let optionNames = ["--agent", "--venv", "--import", "--requirements", "--python", "--find-links",
                                     "--auto-repair", "--no-auto-repair", "--give-up-after", "--observe", "--state-dir"]

    /// The launcher's usage line (docs/guarded-run.md).
    public static let usage = "usage: \(programName) [--agent NAME] [--venv DIR] [--import MODULE]... [--requirements FILE] [--python PATH] [--find-links DIR] [--auto-repair | --no-auto-repair] [--give-up-after N] [--observe] [--state-dir DIR] -- COMMAND [ARG]..."

    /// Parses `argv[1...]` up to `--`. Returns an error message for a bad command line (exit 64).
    public static func parse(argc: Int, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result<LaunchRequest, LaunchUsageError> {
        var request = LaunchRequest()
        var i = 1
        func next(_ name: String) -> Result<String, LaunchUsageError> {
            i += 1
            guard i < argc, let p = argv[i] else { return .failure(LaunchUsageError("\(name) needs a value")) }
            return .success(String(cString: p))
        }
        while i < argc {
            guard let p = argv[i] else { break }
            let arg = String(cString: p)
            if arg == "--" {
                guard i + 1 < argc, argv[i + 1] != nil, argv[i + 1]![0] != 0 else {
                    return .failure(LaunchUsageError("no COMMAND after --"))
                }
                request.commandIndex = i + 1
                return .success(request)
            }
            var name = arg
            var inline: String? = nil
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            func value() -> Result<String, LaunchUsageError> {
                if let inline { return .success(inline) }
                return next(name)
            }
            switch name {
            case "--agent":
                guard case .success(let v) = value() else { return .failure(LaunchUsageError("--agent needs a value")) }
                guard isValidAgentName(v) else {
                    return .failure(LaunchUsageError("--agent '\(v)': use letters, digits, '.', '_', '-', '@' (not starting with '.')"))
                }
                request.agent = v
            case "--venv":
                guard case .success(let v) = value(), !v.isEmpty else { return .failure(LaunchUsageError("--venv needs a directory")) }
                request.venv = v
            case "--import":
                guard case .success(let v) = value(), isValidModuleName(v) else {
                    return .failure(LaunchUsageError("--import needs a module name like 'pkg.mod'"))
                }
                request.imports.append(v)
            case "--requirements":
                guard case .success(let v) = value() else { return .failure(LaunchUsageError("--requirements needs a file")) }
                request.requirements = v
            case "--python":
                guard case .success(let v) = value() else { return .failure(LaunchUsageError("--python needs a path")) }
                request.python = v
            case "--find-links":
                guard case .success(let v) = value() else { return .failure(LaunchUsageError("--find-links needs a directory")) }
                request.findLinks.append(v)
            case "--state-dir":
                guard case .success(let v) = value(), !v.isEmpty else { return .failure(LaunchUsageError("--state-dir needs a directory")) }
                request.stateDir = v
            case "--give-up-after":
                guard case .success(let v) = value(), let n = Int(v), n >= 1 else {
                    return .failure(LaunchUsageError("--give-up-after needs a whole number of at least 1"))
                }
                request.giveUpAfter = n
            case "--auto-repair":
                guard inline == nil else { return .failure(LaunchUsageError("--auto-repair takes no value")) }
                request.autoRepair = true
            case "--no-auto-repair":
                guard inline == nil else { return .failure(LaunchUsageError("--no-auto-repair takes no value")) }
                request.autoRepair = false
            case "--observe":
                guard inline == nil else { return .failure(LaunchUsageError("--observe takes no value")) }
                request.observe = true
            default:
                if arg.hasPrefix("-") {
                    return .failure(LaunchUsageError("unknown option '\(name)'" + didYouMean(name, among: optionNames)))
                }
                return .failure(LaunchUsageError("'\(arg)' before --: put COMMAND after --"))
            }
            i += 1
        }
        return .failure(LaunchUsageError("no -- before COMMAND"))
    }
}

public struct LaunchUsageError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// A dotted Python module name: identifiers separated by dots.
public func isValidModuleName(_ name: String) -> Bool {
    guard !name.isEmpty else { return false }
    for part in name.split(separator: ".", omittingEmptySubsequences: false) {
        guard let first = part.utf8.first, !ASCII.isDigit(first) else { return false }
        guard part.utf8.allSatisfy({ ASCII.isWordByte($0) || $0 >= 0x80 }) else { return false }
    }
    return true
}

/// GUARDED_RUN_OBSERVE, for fleets wrapped by drop-in: the same spellings as ENABLE_AUTO_REPAIR;
/// anything else is enforce (the documented default), with a note saying so.
public func observeFromEnvironment() -> (enabled: Bool, note: String?) {
    switchFromEnvironment("GUARDED_RUN_OBSERVE", offMeans: "observe mode is off (the launcher enforces)")
}

/// A boolean environment switch: `true`, `1`, `yes` (any case) on; `false`, `0`, `no`, empty or
/// unset off; anything else off, with a note naming the variable (its value is not repeated).
func switchFromEnvironment(_ name: String, offMeans: String) -> (enabled: Bool, note: String?) {
    guard let raw = Environment.value(name) else { return (false, nil) }
    switch raw.lowercased() {
    case "true", "1", "yes": return (true, nil)
    case "false", "0", "no", "": return (false, nil)
    default: return (false, "\(name) has an unrecognised value (use true/1/yes or false/0/no): \(offMeans)")
    }
}

/// ENABLE_AUTO_REPAIR: `true`, `1`, `yes` (any case) on; `false`, `0`, `no`, empty or unset off;
/// anything else off, with a note for the health log saying why.
public func autoRepairFromEnvironment() -> (enabled: Bool, note: String?) {
    // The value is the user's own flag, not a secret, but it is not echoed either.
    switchFromEnvironment("ENABLE_AUTO_REPAIR", offMeans: "auto-repair is off")
}

/// True when the general parser's reading of a command line says what the fast path's did: the same
/// venv, agent, state directory and `--import` list (byte for byte), `--give-up-after` and
/// `--observe` given or not alike, and COMMAND at the same index. The fast path must never accept a
/// command line the general parser refuses or reads otherwise (LaunchOptionsDifferentialTests, and
/// the `launcher_argv` fuzz target, hold every accepted line to this).
public func sameMeaning(_ fast: FastCommandLine, _ request: LaunchRequest) -> Bool {
    func same(_ bytes: Bytes?, _ text: String?) -> Bool {
        guard let bytes, let text else { return bytes == nil && text == nil }
        return Array(bytes.buffer) == Array(text.utf8)
    }
    guard same(fast.venv, request.venv), same(fast.agent, request.agent), same(fast.state, request.stateDir),
          fast.imports.count == request.imports.count,
          fast.giveUpAfter == (request.giveUpAfter != nil), fast.observe == (request.observe == true),
          fast.commandIndex == request.commandIndex else { return false }
    for k in 0..<fast.imports.count where !same(fast.imports[k], request.imports[k]) { return false }
    return true
}
