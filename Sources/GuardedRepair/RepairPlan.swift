import GuardedCheck
import GuardedCore
import GuardedSystem

/// What `repair` would do for one venv (its dry run), as data: `lines()` for a person, `json()` for
/// `repair --json` and `venvs repair --json` (docs/repair.md, "--json"). Made by `Repairer.plan`.
public struct RepairPlan: Sendable {
    public var venv: String
    /// The check's verdict now, and its reasons.
    public var status: CheckReport.Status
    public var reasons: [String]
    /// False when the venv passes the check and `--rebuild` was not given: nothing to do.
    public var needed: Bool
    /// `plain`, `generations`, `missing`, or what a foreign path is (then it is left alone).
    public var layout: String
    var layoutLine: String?
    /// The generation the venv path names now (nil: not in the generations layout).
    public var currentGeneration: Int?
    /// The generation a repair would build (nil when none would be).
    public var newGeneration: Int?
    var source: RebuildSource?
    public var passedOver: [PassedOver] = []
    public var interpreter: InterpreterChoice?
    var installer: Installer?
    var findLinks: [String] = []
    var imports: [String] = []
    /// Why no repair can start (`repair impossible: …`); the rollback may still work.
    public var impossible: String?
    /// What a failed rebuild would fall back to, newest first.
    public var rollbackCandidates: [Int] = []
    public var lastFailure: RepairFailure?
    public var lockHeld = false

    /// The plan's lines on the source: which one, its path, why it won, what it holds, and the
    /// candidates passed over.
    static func sourceLines(_ source: RebuildSource, notes: [PassedOver]) -> [String] {
        let list = source.requirements
        let shown = list.prefix(8).map { $0.line(withHashes: false) }.joined(separator: " ") + (list.count > 8 ? " …" : "")
        var what: String
        switch source.kind {
        case .knownGood: what = "the known-good set " + (source.knownGoodSummary ?? "of \(source.recordedAt ?? "?")")
        case .distInfo: what = "the broken venv's own dist-info in \(source.path ?? "?")"
        default: what = source.description
        }
        var lines = ["rebuild from: \(what) (\(list.count) packages\(list.isEmpty ? "" : ": " + shown))",
                     "why this source: \(source.why)" + (source.pinned ? "" : "; NOT pinned: the newest versions that match are installed")]
        lines += notes.map { "passed over: " + $0.text }
        if !source.records.isEmpty {
            lines.append("after the build: the reinstalled files are compared with the \(source.records.count) old RECORD files; every difference is reported")
        }
        return lines
    }

    /// The plan in lines for a person (the dry run of `guarded-run repair`).
    public func lines() -> [String] {
        var lines = ["venv \(venv): " + status.rawValue + (reasons.first.map { " (\($0))" } ?? "")]
        guard needed else { return lines + ["nothing to repair (--rebuild builds a fresh generation anyway)"] }
        if let layoutLine { lines.append(layoutLine) }
        guard layoutLine == nil || !isForeign else { return lines }
        if let source, let interpreter, let installer, let newGeneration {
            lines += RepairPlan.sourceLines(source, notes: passedOver)
            lines.append("interpreter: \(interpreter.path) (Python \(interpreter.version)): \(interpreter.reason)")
            lines.append("installer: \(installer.name)" + (findLinks.isEmpty ? "" : ", --find-links \(findLinks.joined(separator: " "))")
                         + (installer.runAs.map { ", run as uid \($0.uid) (the venv's owner)" } ?? ""))
            let importsText = imports.isEmpty ? "" : " (imports: \(imports.joined(separator: ", ")))"
            lines.append("would build \(GenerationLayout(venv: venv).path(of: newGeneration)), verify it with the full check\(importsText), then point \(venv) at it")
        } else if let impossible {
            lines.append("repair impossible: \(impossible)")
            lines += passedOver.map { "passed over: " + $0.text }
        }
        lines.append(rollbackCandidates.isEmpty ? "if that fails: no earlier generation to roll back to: fail closed"
                     : "if that fails: roll back to generation \(rollbackCandidates.map(String.init).joined(separator: " or ")) (checked first)")
        if let failure = lastFailure {
            lines.append("last failure: \(failure.failedAt) (attempt \(failure.attempts)): \(failure.reasons.first ?? ""); automatic attempts wait until \(failure.retryAfterText) unless something changes; --force ignores that")
        }
        if lockHeld { lines.append("note: a repair of this venv is running right now") }
        return lines
    }

    private var isForeign: Bool { !["plain", "generations", "missing"].contains(layout) }

    /// The steps a repair takes, as objects (`{"step": "create-venv", …}`): empty when nothing
    /// would be built.
    public func steps() -> [JSONValue] {
        guard needed, let source, let interpreter, let installer, let newGeneration else { return [] }
        let layout = GenerationLayout(venv: venv)
        var steps: [JSONValue] = []
        if self.layout == "plain" {
            steps.append(.object([("step", .string("adopt")), ("path", .string(layout.path(of: 0)))]))
        }
        steps.append(.object([("step", .string("create-venv")), ("path", .string(layout.path(of: newGeneration))),
                              ("interpreter", .string(interpreter.path)), ("python_version", .string(interpreter.version)),
                              ("why", .string(interpreter.reason)), ("with_pip", .bool(source.withPip))]))
        let toInstall = source.installable().requirements
        if !toInstall.isEmpty {
            let (name, path): (String, String?)
            switch installer.kind {
            case .uv(let uv): (name, path) = ("uv", uv)
            case .pip: (name, path) = ("pip", nil)
            }
            steps.append(.object([("step", .string("install")), ("installer", .string(name)), ("installer_path", .optional(path)),
                                  ("requirements", JSONValue(toInstall.map { $0.line(withHashes: false) })),
                                  ("find_links", JSONValue(findLinks + source.findLinks)),
                                  ("run_as_uid", installer.runAs.map { .number(Double($0.uid)) } ?? .null)]))
        }
        steps.append(.object([("step", .string("verify")), ("imports", JSONValue(imports))]))
        if !source.records.isEmpty {
            steps.append(.object([("step", .string("compare-records")), ("records", .number(Double(source.records.count)))]))
        }
        steps.append(.object([("step", .string("swap")), ("generation", .number(Double(newGeneration))), ("path", .string(venv))]))
        return steps
    }

    /// The plan as one object, the same in `repair --json` and `venvs repair --json`.
    public func json() -> JSONValue {
        func number(_ n: Int?) -> JSONValue { n.map { .number(Double($0)) } ?? .null }
        let sourceJSON: JSONValue = source.map { s in
            .object([("kind", .string(s.kind.rawValue)), ("path", .optional(s.path)), ("why", .string(s.why)),
                     ("pinned", .bool(s.pinned)), ("packages", .number(Double(s.requirements.count))),
                     ("recorded_at", .optional(s.recordedAt)), ("known_good", .optional(s.knownGoodSummary))])
        } ?? .null
        return .object([
            ("status", .string(status.rawValue)), ("reasons", JSONValue(reasons)), ("needed", .bool(needed)),
            ("layout", .string(layout)), ("current_generation", number(currentGeneration)),
            ("new_generation", number(newGeneration)),
            ("source", sourceJSON), ("passed_over", .array(passedOver.map { $0.json() })),
            ("steps", .array(steps())), ("impossible", .optional(impossible)),
            ("rollback_candidates", .array(rollbackCandidates.map { .number(Double($0)) })),
            ("last_failure", lastFailure.map { f in
                .object([("failed_at", .string(f.failedAt)), ("attempts", .number(Double(f.attempts))),
                         ("retry_after", .string(f.retryAfterText)), ("reasons", JSONValue(f.reasons))])
            } ?? .null),
            ("repair_running", .bool(lockHeld)),
        ])
    }
}

extension Repairer {
    /// What `repair` would do. Runs the full check and asks the candidate interpreters their
    /// version; changes nothing.
    public func plan(venv: String, options: RepairOptions) -> RepairPlan {
        let report = FullCheck.run(venv: venv, imports: options.imports, context: options.context, start: options.start)
        let layout = GenerationLayout(venv: venv)
        var plan = RepairPlan(venv: venv, status: report.status, reasons: report.reasons,
                              needed: report.status == .broken || options.rebuild, layout: "", currentGeneration: layout.currentGeneration)
        plan.findLinks = options.findLinks
        plan.imports = options.imports
        switch layout.state() {
        case .plain:
            plan.layout = "plain"
            plan.layoutLine = "layout: a plain directory: it would be adopted as \(layout.path(of: 0)) and a symlink put in its place"
        case .generation(let n):
            plan.layout = "generations"
            plan.layoutLine = "layout: \(venv) -> generation \(n) (generations: \(layout.generations().map(String.init).joined(separator: ", ")))"
        case .missing:
            plan.layout = "missing"
            plan.layoutLine = "layout: \(venv) does not exist: a symlink to the new generation would be created"
        case .foreign(let what):
            plan.layout = what
            plan.layoutLine = "layout: \(venv) is \(what): not managed by \(programName); it would be left alone"
            if plan.needed { plan.impossible = "\(venv) is \(what), not a venv or a generation link of \(programName): left alone" }
            return plan
        }
        guard plan.needed else { return plan }
        switch recipe(venv: venv, report: report, options: options) {
        case .success(let r):
            plan.source = r.source
            plan.passedOver = r.notes
            plan.interpreter = r.interpreter
            plan.installer = r.installer
            plan.newGeneration = layout.nextNumber()
        case .failure(let e):
            plan.impossible = e.description
            plan.passedOver = SourceFinder(venv: venv, state: state, options: options).choose().notes
        }
        plan.rollbackCandidates = layout.generations().filter { $0 != layout.currentGeneration }.sorted(by: >)
        plan.lastFailure = RepairFailure.load(venv: venv)
        plan.lockHeld = RepairLock.isHeld(venv: venv)
        return plan
    }
}
