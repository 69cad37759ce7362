import GuardedCore
import GuardedSystem

/// Wrapping a launchd job in guarded-run by rewriting its program arguments, and unwrapping it.
///
/// The three shapes a job can have, and what wrap makes of each (unwrap reverses it exactly):
/// - `ProgramArguments = [a0, a1...]`: becomes `[GR, OPTIONS..., --, a0, a1...]`.
/// - a lone `Program = P`: `Program` becomes GR and `ProgramArguments = [GR, OPTIONS..., --, P]`
///   is inserted right after it.
/// - `Program = P` with `ProgramArguments = [a0, a1...]` (a0 is only argv[0]): `Program` becomes
///   GR and `ProgramArguments = [a0, OPTIONS..., --, P, a1...]`: a0 stays guarded-run's argv[0]
///   and the agent is started with its path as argv[0].
public enum LaunchdWrap {
    public struct Options: Sendable {
        public var agent: String?
        public var autoRepair: Bool
        public var giveUpAfter: Int?
        public var keepAlive: Bool
        public var throttleInterval: Int
        public var guardedRun: String
        public init(agent: String? = nil, autoRepair: Bool = false, giveUpAfter: Int? = nil, keepAlive: Bool = false,
                    throttleInterval: Int = 30, guardedRun: String) {
            self.agent = agent
            self.autoRepair = autoRepair
            self.giveUpAfter = giveUpAfter
            self.keepAlive = keepAlive
            self.throttleInterval = throttleInterval
            self.guardedRun = guardedRun
        }
    }

    /// The original shape and arguments of a job, wrapped or not.
    public struct Program: Equatable, Sendable {
        /// `Program`, when the plist has one.
        public var program: String?
        /// `ProgramArguments`, when the plist has them.
        public var arguments: [String]?
    }

    public enum Outcome: Equatable, Sendable {
        case changed
        case unchanged
        case refused(String)
    }

    /// The job's program as written, or a refusal.
    static func program(of root: PlistValue) -> Result<Program, PlistError> {
        var program: String? = nil
        var arguments: [String]? = nil
        if let p = root["Program"] {
            guard let s = p.string else { return .failure(PlistError("Program is not a string")) }
            program = s
        }
        if let a = root["ProgramArguments"] {
            guard let list = a.strings else { return .failure(PlistError("ProgramArguments is not an array of strings")) }
            arguments = list
        }
        if program == nil && (arguments ?? []).isEmpty {
            return .failure(PlistError("no Program and no ProgramArguments: nothing to start"))
        }
        return .success(Program(program: program, arguments: arguments))
    }

    /// The executable launchd starts: `Program`, else the first argument.
    static func executable(_ p: Program) -> String { p.program ?? p.arguments![0] }

    static func isGuarded(_ p: Program) -> Bool {
        baseName(of: executable(p)) == programName && (p.arguments ?? []).contains("--")
    }

    /// The job as it was before wrap, from a wrapped one.
    static func unwrapped(_ p: Program) -> Program? {
        guard isGuarded(p), let args = p.arguments, let dash = args.firstIndex(of: "--"), dash + 1 < args.count else { return nil }
        let after = Array(args[(dash + 1)...])
        if p.program == nil { return Program(program: nil, arguments: after) }
        if args[0] == p.program { return Program(program: after[0], arguments: nil) }
        return Program(program: after[0], arguments: [args[0]] + after.dropFirst())
    }

    static func wrapped(_ p: Program, agent: String, options: Options) -> Program {
        var guardOptions = ["--agent", agent]
        if options.autoRepair { guardOptions.append("--auto-repair") }
        if let n = options.giveUpAfter { guardOptions += ["--give-up-after", String(n)] }
        guardOptions.append("--")
        let gr = options.guardedRun
        switch (p.program, p.arguments) {
        case (nil, let args?):
            return Program(program: nil, arguments: [gr] + guardOptions + args)
        case (let program?, nil):
            return Program(program: gr, arguments: [gr] + guardOptions + [program])
        case (let program?, let args?):
            let rest = args.isEmpty ? [] : Array(args.dropFirst())
            return Program(program: gr, arguments: [args.first ?? program] + guardOptions + [program] + rest)
        case (nil, nil):
            return p
        }
    }

    /// Applies `p` to the document: Program and ProgramArguments set, inserted or removed.
    static func apply(_ p: Program, to doc: inout PlistDocument) {
        if let program = p.program { doc.set("Program", .string(program)) } else { doc.remove("Program") }
        if let args = p.arguments {
            doc.set("ProgramArguments", .array(args.map { .string($0) }), after: "Program")
        } else {
            doc.remove("ProgramArguments")
        }
    }

    /// Wraps the job in `doc`. Already wrapped is left as is (unwrap first to change its options).
    public static func wrap(_ doc: inout PlistDocument, options: Options) -> Outcome {
        let p: Program
        switch program(of: doc.root) {
        case .success(let found): p = found
        case .failure(let error): return .refused(error.message)
        }
        var outcome = Outcome.unchanged
        if isGuarded(p) {
            outcome = .unchanged
        } else if baseName(of: executable(p)) == programName {
            return .refused("the job already starts guarded-run, but not in launcher form ('--' missing)")
        } else if let given = p.arguments, given.first.map({ baseName(of: $0) == programName }) == true {
            return .refused("ProgramArguments[0] is guarded-run but Program is something else")
        } else {
            guard let agent = options.agent ?? doc.root["Label"]?.string else {
                return .refused("no Label to name the agent after; pass --agent NAME")
            }
            guard isValidAgentName(agent) else {
                return .refused("the Label '\(agent)' is not a usable agent name; pass --agent NAME")
            }
            apply(wrapped(p, agent: agent, options: options), to: &doc)
            outcome = .changed
        }
        if options.keepAlive {
            let before = doc.isChanged
            doc.set("KeepAlive", .dictionary([PlistEntry("SuccessfulExit", .boolean(false))]))
            doc.set("ThrottleInterval", .integer(String(options.throttleInterval)), after: "KeepAlive")
            if doc.isChanged && !before { outcome = .changed }
        }
        return outcome
    }

    /// Restores the job's original program. KeepAlive and ThrottleInterval set by `--keepalive`
    /// are left as they are (the snapshot taken before wrap holds the originals).
    public static func unwrap(_ doc: inout PlistDocument) -> Outcome {
        let p: Program
        switch program(of: doc.root) {
        case .success(let found): p = found
        case .failure(let error): return .refused(error.message)
        }
        guard isGuarded(p) else { return .unchanged }
        guard let original = unwrapped(p) else { return .refused("guarded-run has no COMMAND after '--'") }
        apply(original, to: &doc)
        return .changed
    }

    /// The launchd advice wrap prints for a job: how it will be respawned after guarded-run
    /// refuses to start it.
    public static func keepAliveAdvice(_ root: PlistValue) -> String? {
        switch root["KeepAlive"] {
        case .boolean(true)?:
            return "KeepAlive is true: launchd respawns the job even after it fails closed (exit 78), every ThrottleInterval seconds; --keepalive sets KeepAlive = {SuccessfulExit = false} so --give-up-after can stop that"
        case nil, .boolean(false)?:
            return nil
        default:
            return nil
        }
    }

    /// The arguments launchd would run: for tests and the dry-run display.
    public static func describe(_ root: PlistValue) -> String {
        guard case .success(let p) = program(of: root) else { return "(none)" }
        var text = ""
        if let program = p.program { text += "Program = \(quoted(program)); " }
        text += "ProgramArguments = " + (p.arguments.map { "[" + $0.map(quoted).joined(separator: ", ") + "]" } ?? "(none)")
        return text
    }

    static func quoted(_ s: String) -> String { "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\"" }
}

extension String {
    /// Every occurrence of `target` replaced (the stdlib has no Foundation-free spelling).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
