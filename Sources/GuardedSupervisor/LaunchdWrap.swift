import GuardedCore
import GuardedSnapshot
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
        /// The launcher's options, written after `--agent NAME`.
        public var launcher: LauncherOptions
        public init(agent: String? = nil, autoRepair: Bool = false, giveUpAfter: Int? = nil, keepAlive: Bool = false,
                    throttleInterval: Int = 30, guardedRun: String, launcher: LauncherOptions = LauncherOptions()) {
            self.launcher = launcher
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

    /// What wrap or unwrap does to one plist file: its new bytes (the old ones when nothing
    /// changes), every top-level key it changes, and notes for the operator.
    public struct Edit: Sendable {
        public var outcome: Outcome
        public var bytes: [UInt8]
        public var changes: [FileChange] = []
        public var notes: [String] = []
        /// The plist was binary and is written back as XML.
        public var becomesXML = false
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
        var guardOptions = ["--agent", agent] + options.launcher.arguments
        if options.autoRepair { guardOptions.append("--auto-repair") }
        if let n = options.giveUpAfter { guardOptions += ["--give-up-after", String(n)] }
        guardOptions.append("--")
        return wrapped(p, guardedRun: options.guardedRun, guardOptions: guardOptions)
    }

    /// `p` behind guarded-run `gr` with `guardOptions` (ending in `--`).
    static func wrapped(_ p: Program, guardedRun gr: String, guardOptions: [String]) -> Program {
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

    /// Wraps the job in the plist `bytes`. An already wrapped job is left as it is (unwrap first
    /// to change its options). A record of the original file goes into the new one as a comment
    /// (`WrapRecord`), so that unwrap can restore it byte for byte.
    public static func wrap(_ bytes: [UInt8], options: Options) throws(PlistError) -> Edit {
        var doc = try PlistDocument(bytes)
        let before = doc.root
        var notes: [String] = []
        let outcome = wrap(&doc, options: options, notes: &notes)
        guard outcome == .changed else { return Edit(outcome: outcome, bytes: bytes, notes: notes) }
        var written = doc.serialized()
        let wrote = ["KeepAlive", "ThrottleInterval"].compactMap { key in
            doc.root[key].flatMap { $0 == before[key] ? nil : PlistEntry(key, $0) }
        }
        if let recorded = WrapRecord(original: bytes, wrapped: written, wrote: wrote).attached(to: written, root: doc.root) {
            written = recorded
        } else {
            notes.append("the plist is too large for a wrap record: unwrap will reverse the wrap's changes but cannot restore the file byte for byte (the snapshot can)")
        }
        return Edit(outcome: .changed, bytes: written, changes: FileChange.between(before, doc.root), notes: notes,
                    becomesXML: doc.format == .binary)
    }

    static func wrap(_ doc: inout PlistDocument, options: Options, notes: inout [String]) -> Outcome {
        let p: Program
        switch program(of: doc.root) {
        case .success(let found): p = found
        case .failure(let error): return .refused(error.message)
        }
        if isGuarded(p) { return .unchanged }
        if baseName(of: executable(p)) == programName {
            return .refused("the job already starts guarded-run, but not in launcher form ('--' missing)")
        }
        if let given = p.arguments, given.first.map({ baseName(of: $0) == programName }) == true {
            return .refused("ProgramArguments[0] is guarded-run but Program is something else")
        }
        if WrapRecord.find(in: doc.original) != nil {
            return .refused("the plist holds a guarded-run wrap record but does not start guarded-run: run 'guarded-run unwrap launchd' on it first")
        }
        guard let agent = options.agent ?? doc.root["Label"]?.string else {
            return .refused("no Label to name the agent after; pass --agent NAME")
        }
        guard isValidAgentName(agent) else {
            return .refused("the Label '\(agent)' is not a usable agent name; pass --agent NAME")
        }
        var options = options
        // A daemon that runs as another user: a state directory of its own (docs/launchd.md),
        // unless one was given.
        if options.launcher.stateDir == nil, let user = doc.root["UserName"]?.string, !user.isEmpty, user != "root", user != "0" {
            options.launcher.stateDir = StateDirectory.launchdAgentStatesRoot + "/" + agent
        }
        apply(wrapped(p, agent: agent, options: options), to: &doc)
        if options.keepAlive { keepAlive(&doc, throttleInterval: options.throttleInterval, notes: &notes) }
        return .changed
    }

    /// `--keepalive`, conservatively: respawn only after a non-zero exit (so `--give-up-after`'s
    /// exit 0 ends a respawn loop), merged into what the job already says, and never on a
    /// periodic job (KeepAlive would restart it between its scheduled runs).
    static func keepAlive(_ doc: inout PlistDocument, throttleInterval: Int, notes: inout [String]) {
        let root = doc.root
        if let periodic = ["StartCalendarInterval", "StartInterval"].first(where: { root[$0] != nil }) {
            notes.append("a periodic job (\(periodic)): --keepalive left KeepAlive and ThrottleInterval alone (KeepAlive would restart it between its runs)")
            return
        }
        let successfulExitFalse = PlistEntry("SuccessfulExit", .boolean(false))
        switch root["KeepAlive"] {
        case nil, .boolean(true)?:
            doc.set("KeepAlive", .dictionary([successfulExitFalse]))
        case .boolean(false)?:
            notes.append("KeepAlive is false (the job is never respawned): --keepalive left KeepAlive and ThrottleInterval alone")
            return
        case .dictionary(let conditions)?:
            if let existing = conditions.first(where: { $0.key == "SuccessfulExit" }) {
                if existing.value == .boolean(true) {
                    notes.append("KeepAlive.SuccessfulExit is true: launchd respawns the job after exit 0, so --give-up-after cannot stop it; left as it is")
                }
            } else {
                doc.set("KeepAlive", .dictionary(conditions + [successfulExitFalse]))
            }
        default:
            notes.append("KeepAlive is neither a boolean nor a dictionary: --keepalive left it alone")
            return
        }
        switch root["ThrottleInterval"] {
        case nil:
            doc.set("ThrottleInterval", .integer(String(throttleInterval)), after: "KeepAlive")
        case .integer(let text)? where Int(text) != nil:
            if let now = Int(text), now < throttleInterval { doc.set("ThrottleInterval", .integer(String(throttleInterval))) }
        default:
            notes.append("ThrottleInterval is not a whole number: left alone")
        }
    }

    /// Unwraps the job in the plist `bytes`. A file unchanged since wrap is restored from its wrap
    /// record byte for byte. A file edited since loses only what wrap added: the launcher in
    /// front of the program, and KeepAlive/ThrottleInterval where they still hold what wrap set
    /// (a value changed since is left as it is, with a note).
    public static func unwrap(_ bytes: [UInt8]) throws(PlistError) -> Edit {
        let found = WrapRecord.find(in: bytes)
        let stripped = found.map { Array(bytes[..<$0.range.lowerBound] + bytes[$0.range.upperBound...]) } ?? bytes
        var doc = try PlistDocument(stripped)
        let before = doc.root
        var notes: [String] = []
        var record = found?.record
        if found != nil && record == nil { notes.append("the wrap record is damaged: reversing the wrap's changes instead of restoring the file") }
        if record != nil, (try? PlistDocument(bytes))?.root != before {
            // The comment is not where wrap puts it (it sits inside a value): not a record.
            record = nil
            notes.append("the wrap record is not a comment of its own: reversing the wrap's changes instead of restoring the file")
        }
        if let r = record, SHA256.hex(stripped) == r.sha256 {
            // The hash only says the file was not edited since the record was written; whoever
            // wrote the record chose it. So the recorded original is restored only when wrapping
            // it gives exactly this job back: a planted record cannot put anything else in place.
            if let original = try? PlistDocument(r.original), describes(r, original: original.root, wrappedJob: before) {
                return Edit(outcome: .changed, bytes: r.original, changes: FileChange.between(before, original.root), notes: notes)
            }
            record = nil
            notes.append("the wrap record does not describe this job (wrapping its original does not give this file): reversing the wrap's changes instead of restoring the file; KeepAlive and ThrottleInterval are left as they are")
        }
        let p: Program
        switch program(of: doc.root) {
        case .success(let found): p = found
        case .failure(let error): return Edit(outcome: .refused(error.message), bytes: bytes)
        }
        if isGuarded(p) {
            guard let original = unwrapped(p) else { return Edit(outcome: .refused("guarded-run has no COMMAND after '--'"), bytes: bytes) }
            apply(original, to: &doc)
        } else if found == nil {
            return Edit(outcome: .unchanged, bytes: bytes)
        }
        if let record {
            if found != nil { notes.append("edited since wrap: only the wrap's own changes are reversed") }
            let originalRoot = try? PlistDocument(record.original).root
            for entry in record.wrote {
                guard doc.root[entry.key] == entry.value else {
                    notes.append("\(entry.key) was changed since wrap: left as it is")
                    continue
                }
                if let value = originalRoot?[entry.key] { doc.set(entry.key, value) } else { doc.remove(entry.key) }
            }
        } else if found == nil {
            notes.append("no wrap record (wrapped by guarded-run 0.1.0): KeepAlive and ThrottleInterval are left as they are; the snapshot taken before wrap holds the originals")
        }
        return Edit(outcome: .changed, bytes: doc.serialized(), changes: FileChange.between(before, doc.root), notes: notes)
    }

    /// Whether wrapping `original` gives `wrappedJob`: the same program behind the same guarded-run
    /// options, the record's KeepAlive/ThrottleInterval as `wrappedJob` holds them, and every other
    /// key and value the same (order aside: wrap may insert a key elsewhere than the original had it).
    static func describes(_ record: WrapRecord, original: PlistValue, wrappedJob: PlistValue) -> Bool {
        guard case .success(let now) = program(of: wrappedJob), isGuarded(now), let args = now.arguments,
              let dash = args.firstIndex(of: "--"), case .success(let before) = program(of: original),
              wrapped(before, guardedRun: executable(now), guardOptions: Array(args[1...dash])) == now,
              let originalEntries = original.entries, let wrappedEntries = wrappedJob.entries else { return false }
        let programKeys: Set<String> = ["Program", "ProgramArguments"]
        var expected: [String: PlistValue] = [:]
        for e in originalEntries where !programKeys.contains(e.key) { expected[e.key] = e.value }
        for e in record.wrote { expected[e.key] = e.value }
        var got: [String: PlistValue] = [:]
        for e in wrappedEntries where !programKeys.contains(e.key) {
            guard got.updateValue(e.value, forKey: e.key) == nil else { return false }
        }
        return got == expected
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
