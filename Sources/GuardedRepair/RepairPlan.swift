import GuardedCheck
import GuardedCore
import GuardedSystem

extension Repairer {
    /// The plan's lines on the source: which one, its path, why it won, what it holds, and the
    /// candidates passed over.
    static func sourceLines(_ source: RebuildSource, notes: [String]) -> [String] {
        let list = source.requirements
        let shown = list.prefix(8).map { $0.line(withHashes: false) }.joined(separator: " ") + (list.count > 8 ? " …" : "")
        var what: String
        switch source.kind {
        case .knownGood: what = "the known-good set of \(source.recordedAt ?? "?")"
        case .distInfo: what = "the broken venv's own dist-info in \(source.path ?? "?")"
        default: what = source.description
        }
        var lines = ["rebuild from: \(what) (\(list.count) packages\(list.isEmpty ? "" : ": " + shown))",
                     "why this source: \(source.why)" + (source.pinned ? "" : "; NOT pinned: the newest versions that match are installed")]
        lines += notes.map { "passed over: " + $0 }
        if !source.records.isEmpty {
            lines.append("after the build: the reinstalled files are compared with the \(source.records.count) old RECORD files; every difference is reported")
        }
        return lines
    }

    /// What `repair` would do, in lines for a person (the dry run of `guarded-run repair`). Runs
    /// the full check and asks the candidate interpreters their version; changes nothing.
    public func plan(venv: String, options: RepairOptions) -> [String] {
        let report = FullCheck.run(venv: venv, imports: options.imports)
        let layout = GenerationLayout(venv: venv)
        var lines: [String] = []
        let status = report.status.rawValue + (report.reasons.first.map { " (\($0))" } ?? "")
        lines.append("venv \(venv): \(status)")
        if report.status != .broken && !options.rebuild {
            lines.append("nothing to repair (--rebuild builds a fresh generation anyway)")
            return lines
        }
        switch layout.state() {
        case .plain:
            lines.append("layout: a plain directory: it would be adopted as \(layout.path(of: 0)) and a symlink put in its place")
        case .generation(let n):
            lines.append("layout: \(venv) -> generation \(n) (generations: \(layout.generations().map(String.init).joined(separator: ", ")))")
        case .missing:
            lines.append("layout: \(venv) does not exist: a symlink to the new generation would be created")
        case .foreign(let what):
            lines.append("layout: \(venv) is \(what): not managed by \(programName); it would be left alone")
            return lines
        }
        switch recipe(venv: venv, report: report, options: options) {
        case .success(let r):
            lines.append(contentsOf: Repairer.sourceLines(r.source, notes: r.notes))
            lines.append("interpreter: \(r.interpreter.path) (Python \(r.interpreter.version)): \(r.interpreter.reason)")
            lines.append("installer: \(r.installer.name)" + (options.findLinks.isEmpty ? "" : ", --find-links \(options.findLinks.joined(separator: " "))")
                         + (r.installer.runAs.map { ", run as uid \($0.uid) (the venv's owner)" } ?? ""))
            let n = layout.nextNumber()
            let imports = options.imports.isEmpty ? "" : " (imports: \(options.imports.joined(separator: ", ")))"
            lines.append("would build \(layout.path(of: n)), verify it with the full check\(imports), then point \(venv) at it")
        case .failure(let e):
            lines.append("repair impossible: \(e.message)")
            lines += SourceFinder(venv: venv, state: state, options: options).choose().notes.map { "passed over: " + $0 }
        }
        let earlier = layout.generations().filter { $0 != layout.currentGeneration }.sorted(by: >)
        lines.append(earlier.isEmpty ? "if that fails: no earlier generation to roll back to: fail closed"
                     : "if that fails: roll back to generation \(earlier.map(String.init).joined(separator: " or ")) (checked first)")
        if let failure = RepairFailure.load(venv: venv) {
            lines.append("last failure: \(failure.failedAt) (attempt \(failure.attempts)): \(failure.reasons.first ?? ""); automatic attempts wait until \(failure.retryAfterText) unless something changes; --force ignores that")
        }
        if RepairLock.isHeld(venv: venv) { lines.append("note: a repair of this venv is running right now") }
        return lines
    }
}

/// One generation as `generations` lists it.
public struct GenerationInfo: Sendable {
    public var generation: Int
    public var path: String
    public var current: Bool
    public var record: GenerationRecord?

    public func json() -> JSONValue {
        var pairs: [(String, JSONValue)] = [("generation", .number(Double(generation))), ("path", .string(path)),
                                            ("current", .bool(current))]
        if let r = record {
            pairs += [("created", .string(r.created)), ("source", .string(r.source)), ("interpreter", .string(r.interpreter)),
                      ("python_version", .string(r.pythonVersion)), ("installer", .string(r.installer)),
                      ("packages", .number(Double(r.packages)))]
        }
        return .object(pairs)
    }
}

extension Repairer {
    /// The venv's layout and generations, newest first.
    public func generations(venv: String) -> (layout: String, generations: [GenerationInfo]) {
        let layout = GenerationLayout(venv: venv)
        let state = layout.state()
        let describe: String
        switch state {
        case .missing: describe = "missing"
        case .plain: describe = "plain"
        case .generation: describe = "generations"
        case .foreign(let what): describe = what
        }
        let current = layout.currentGeneration
        let list = layout.generations().sorted(by: >).map { n in
            GenerationInfo(generation: n, path: layout.path(of: n), current: n == current,
                           record: GenerationRecord.load(state: self.state, venv: venv, generation: n))
        }
        return (describe, list)
    }

    /// Deletes generations beyond the newest `keep` besides the current one (under the lock).
    public func prune(venv: String, keep: Int, waitSeconds: Double) -> Result<[Int], RepairStepFailure> {
        underLock(venv: venv, waitSeconds: waitSeconds) { layout in
            let removed = layout.prune(keep: keep)
            for n in removed { GenerationRecord.remove(state: state, venv: venv, generation: n) }
            return .success(removed)
        }
    }

    /// Undoes adoption: the current generation's directory goes back to the venv path.
    public func restorePlain(venv: String, waitSeconds: Double) -> Result<Int, RepairStepFailure> {
        underLock(venv: venv, waitSeconds: waitSeconds) { layout in
            guard let n = layout.currentGeneration else {
                return .failure(RepairStepFailure(message: "\(venv) is not in the generations layout", transient: false))
            }
            do { try layout.restorePlain() } catch {
                return .failure(RepairStepFailure(message: "\(error)", transient: false))
            }
            GenerationRecord.remove(state: state, venv: venv, generation: n)
            return .success(n)
        }
    }

    /// Runs `body` on the venv's layout under its repair lock, after tidying a killed repair's leftovers.
    private func underLock<T>(venv: String, waitSeconds: Double,
                              _ body: (GenerationLayout) -> Result<T, RepairStepFailure>) -> Result<T, RepairStepFailure> {
        switch RepairLock.acquire(venv: venv, waitSeconds: waitSeconds) {
        case .success(let lock):
            return withExtendedLifetime(lock) {
                let layout = GenerationLayout(venv: venv)
                _ = layout.recover(current: nil)
                return body(layout)
            }
        case .failure(let failure):
            return .failure(RepairStepFailure(message: failure.message(venv: venv), transient: failure.isTransient))
        }
    }
}

/// An admin operation on generations that failed; `transient` means exit 75.
public struct RepairStepFailure: Error, Sendable {
    public var message: String
    public var transient: Bool
}
