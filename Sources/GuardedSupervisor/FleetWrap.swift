import GuardedCore
import GuardedSnapshot
import GuardedSystem

/// What a wrap, unwrap or convert did (or, in a dry run, would do) to one file.
public struct FileResult: Sendable {
    public enum Action: String, Sendable {
        /// The file is (or would be) written: a drop-in, a plist, a converted unit.
        case write
        /// The file is (or would be) removed: unwrap's drop-in.
        case remove
        case unchanged
        case refused
        case failed
    }
    public var path: String
    public var action: Action
    /// Why it was refused or failed, or why it is unchanged.
    public var reason: String?
    public var changes: [FileChange] = []
    public var warnings: [String] = []
    /// The files written or removed (or that would be).
    public var files: [String] = []
    /// For drop-ins and converted units: the text of each file in `files`.
    public var contents: [String] = []

    public init(path: String, action: Action, reason: String? = nil, changes: [FileChange] = [], warnings: [String] = [],
                files: [String] = [], contents: [String] = []) {
        self.contents = contents
        self.path = path
        self.action = action
        self.reason = reason
        self.changes = changes
        self.warnings = warnings
        self.files = files
    }
}

/// What a wrap, unwrap or convert over many files printed and whether anything went wrong.
/// Every file gets one result line (a dry run may add the text it would write, indented) and
/// one `FileResult` (for `--json`).
public struct WrapReport: Sendable {
    /// Lines for stdout.
    public var lines: [String] = []
    /// One-line errors for stderr (without the `guarded-run: <cmd>: ` prefix).
    public var errors: [String] = []
    /// Files refused or failed; the others were processed.
    public var problems = 0
    /// The snapshot could not be taken: nothing was written.
    public var snapshotFailed = false
    public var results: [FileResult] = []
    /// The snapshot taken before writing.
    public var snapshot: String?
    public var dryRun = true

    public init() {}

    /// 0 when every file was handled, 1 when some were refused or failed, 70 when the snapshot
    /// before writing failed (and so nothing was written).
    public var exitCode: Int32 {
        if snapshotFailed { return ExitCode.software }
        return problems == 0 ? ExitCode.success : ExitCode.degraded
    }

    mutating func refuse(_ file: String, _ reason: String) {
        // A reason may quote the file (a Label, a key): it stays one line.
        let reason = oneLine(reason)
        lines.append("\(oneLine(file)): refused: \(reason)")
        results.append(FileResult(path: file, action: .refused, reason: reason))
        problems += 1
    }

    mutating func fail(_ file: String, _ error: Error) {
        lines.append("\(oneLine(file)): failed")
        errors.append(oneLine("\(file): \(error)"))
        if let k = results.lastIndex(where: { $0.path == file && $0.action != .failed }) {
            results[k].action = .failed
            results[k].reason = "\(error)"
        } else {
            results.append(FileResult(path: file, action: .failed, reason: "\(error)"))
        }
        problems += 1
    }

    /// The closing line: what to do next after writing, or that a dry run wrote nothing.
    mutating func finish(changes: Int, force: Bool, next: String, dryRun: String) {
        self.dryRun = !force
        if changes > 0 { lines.append(force ? "next: " + next : "dry run: " + dryRun) }
    }

    mutating func show(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() { lines.append("    " + line) }
    }

    /// The changes, then the warnings and notes, indented under a file's line.
    mutating func detail(_ result: FileResult) {
        for c in result.changes { lines.append("    change: " + c.line) }
        for w in result.warnings { lines.append("    warning: " + w) }
    }

    /// `{"dry_run", "snapshot", "exit_code", "files": [{"path", "action", "reason", "changes":
    /// [{"key", "before", "after"}], "warnings", "files", "snapshot"}], "errors"}` (docs/systemd.md).
    public func json() -> JSONValue {
        .object([
            ("dry_run", .bool(dryRun)),
            ("snapshot", .optional(snapshot)),
            ("exit_code", JSONValue(Int(exitCode))),
            ("files", .array(results.map { r in
                .object([
                    ("path", .string(r.path)),
                    ("action", .string(r.action.rawValue)),
                    ("reason", .optional(r.reason)),
                    ("changes", .array(r.changes.map { c in
                        .object([("key", .string(c.key)), ("before", .optional(c.before)), ("after", .optional(c.after))])
                    })),
                    ("warnings", JSONValue(r.warnings)),
                    ("files", JSONValue(r.files)),
                    ("contents", JSONValue(r.contents)),
                    ("snapshot", .optional(dryRun || r.action == .unchanged || r.action == .refused ? nil : snapshot)),
                ])
            })),
            ("errors", JSONValue(errors)),
        ])
    }
}

/// The files a command works on: each argument that is a directory stands for its entries
/// ending in `suffix` (sorted), any other argument for itself.
public func expandFileArguments(_ arguments: [String], suffix: String) throws -> [String] {
    var files: [String] = []
    for argument in arguments {
        if isDirectory(argument) && !argument.hasSuffix(suffix) {
            let base = argument.hasSuffix("/") ? String(argument.dropLast()) : argument
            for name in try directoryEntries(argument).sorted() where name.hasSuffix(suffix) && !name.hasPrefix(".") {
                files.append(base + "/" + name)
            }
        } else {
            files.append(argument)
        }
    }
    return files
}

/// Plans every file, keeping going past one that cannot be read.
func planEach<Plan>(_ files: [String], _ plan: (String) throws -> Plan) -> [(String, Result<Plan, Error>)] {
    files.map { file in
        do { return (file, .success(try plan(file))) } catch { return (file, .failure(error)) }
    }
}

/// Takes the snapshot every writing command takes first, of the kind its label's verb names
/// (`wrap`, `unwrap`, `convert`). Returns its id, or nil (with the error recorded) when it
/// failed, in which case nothing may be written.
func takeSnapshot(_ paths: [String], label: String, state: StateDirectory, report: inout WrapReport) -> String? {
    do {
        let manifest = try SnapshotStore(state: state).create(paths: paths, label: label, tag: nil, kind: .init(command: label))
        report.lines.append("snapshot \(manifest.id) taken before writing")
        report.snapshot = manifest.id
        return manifest.id
    } catch {
        report.errors.append("snapshot before writing: \(error); nothing written")
        report.snapshotFailed = true
        return nil
    }
}

/// Writes a file an operator owns (a unit drop-in, a plist): atomically, with `mode`, and back
/// to the owner it had (a plist in a user's LaunchAgents stays theirs when root rewrites it).
func writeOperatorFile(_ path: String, _ bytes: [UInt8], mode: FileMode, owner: (uid: UInt32, gid: UInt32)?) throws {
    try writeFileAtomically(path, bytes, mode: mode, owner: owner)
    // Test hook (docs/auto-repair.md, "Testing"): a SIGKILL right after the file is in place.
    if Environment.value("GUARDED_RUN_TEST_KILL_AT") == "operator-file-written" { CurrentProcess.send(.kill) }
}

/// Writes an operator's file read earlier as `read`, unless it changed since (an editor or a
/// client saved it while this run was planning or taking the snapshot): that is never written over.
/// `actingAs` is `userActingFor` as it was when the file was read (afterwards the directory may
/// already be a planted link).
func rewriteOperatorFile(_ path: String, read: [UInt8], _ bytes: [UInt8], status: FileStatus,
                         actingAs: (uid: UInt32, gid: UInt32)?) throws {
    // Test hook (docs/auto-repair.md, "Testing"): creates the marker file and waits (up to 60 s)
    // until it is removed, so a test can change the file at this instant.
    if let pause = Environment.value("GUARDED_RUN_TEST_PAUSE_AT"), pause.hasPrefix("operator-file-write:") {
        let marker = String(pause.dropFirst("operator-file-write:".count))
        _ = try? writeFileAtomically(marker, "\(CurrentProcess.id)\n")
        let deadline = Clock.monotonicNanoseconds() + 60_000_000_000
        while fileStatusIfPresent(marker) != nil && Clock.monotonicNanoseconds() < deadline { Clock.sleep(microseconds: 5000) }
    }
    try asOwner(actingAs) {
        guard try readFile(path, limit: (16 << 20) + 1) == read else { throw ChangedWhileEditing() }
        try writeOperatorFile(path, bytes, mode: FileMode(status.permissions), owner: (status.uid, status.gid))
    }
}

/// The user root acts as when writing beside `file`: its owner, when that user also owns the
/// directory holding it (their LaunchAgents, their project, their unit directory), so they could
/// swap a directory on the way for a symlink while root writes; nil otherwise (root's own files,
/// a user's file in a directory only root controls).
func userActingFor(_ file: String, owner: UInt32, group: UInt32) -> (uid: UInt32, gid: UInt32)? {
    guard owner != 0, let directory = fileStatusIfPresent(parentDirectory(of: file), followSymlinks: true),
          directory.uid == owner else { return nil }
    return (owner, group)
}

struct ChangedWhileEditing: Error, CustomStringConvertible {
    var description: String { "changed while being edited; run again" }
}

public enum SystemdFleet {
    public static func wrap(_ files: [String], options: SystemdWrap.Options, force: Bool, state: StateDirectory) -> WrapReport {
        var report = WrapReport()
        // Who owns each unit and its directory, decided now: by the time of writing the
        // directory may be a planted link.
        var units: [String: (owner: (UInt32, UInt32)?, actingAs: (uid: UInt32, gid: UInt32)?)] = [:]
        for file in files {
            let owner = fileStatusIfPresent(file, followSymlinks: true).map { ($0.uid, $0.gid) }
            units[file] = (owner, owner.flatMap { userActingFor(file, owner: $0.0, group: $0.1) })
        }
        let plans = planEach(files) { try SystemdWrap.plan(unitPath: $0, options: options) }
        let writes = plans.compactMap { file, plan -> String? in
            if case .success(.write) = plan { return file } else { return nil }
        }
        if force && !writes.isEmpty {
            let paths = writes.flatMap { [$0] + (isDirectory(SystemdWrap.dropInDirectory(for: $0)) ? [SystemdWrap.dropInDirectory(for: $0)] : []) }
            guard takeSnapshot(paths, label: "wrap systemd", state: state, report: &report) != nil else { return report }
        }
        for (file, plan) in plans {
            switch plan {
            case .failure(let error): report.fail(file, error)
            case .success(.refused(let reason)): report.refuse(file, reason)
            case .success(.unchanged(let dropIn)):
                report.lines.append("\(file): unchanged (already wrapped)")
                report.results.append(FileResult(path: file, action: .unchanged, reason: "already wrapped", files: [dropIn]))
            case .success(.alreadyGuarded):
                report.lines.append("\(file): unchanged (the unit itself already starts guarded-run)")
                report.results.append(FileResult(path: file, action: .unchanged, reason: "the unit itself already starts guarded-run"))
            case .success(.write(let dropIn)):
                let result = FileResult(path: file, action: .write, changes: dropIn.changes, warnings: dropIn.warnings,
                                        files: [dropIn.path], contents: [dropIn.content])
                report.results.append(result)
                if !force {
                    report.lines.append("\(file): would write \(dropIn.path):")
                    report.show(dropIn.content)
                    for w in dropIn.warnings { report.lines.append("    warning: " + w) }
                    continue
                }
                do {
                    try asOwner(units[file]?.actingAs) {
                        if dropIn.createsDirectory { try makeDirectories(SystemdWrap.dropInDirectory(for: file), mode: 0o755) }
                        try writeOperatorFile(dropIn.path, Array(dropIn.content.utf8), mode: 0o644, owner: units[file]?.owner)
                    }
                    report.lines.append("\(file): wrote \(dropIn.path)")
                    for w in dropIn.warnings { report.lines.append("    warning: " + w) }
                } catch { report.fail(file, error) }
            }
        }
        report.finish(changes: writes.count, force: force, next: "systemctl daemon-reload, then restart the wrapped units (docs/systemd.md)",
                      dryRun: "nothing written; --force writes the drop-ins after taking a snapshot")
        return report
    }

    static let editedWarning = "edited since wrap (it no longer matches its wrap record)"

    public static func unwrap(_ files: [String], force: Bool, state: StateDirectory) -> WrapReport {
        var report = WrapReport()
        let plans = planEach(files) { try SystemdWrap.planUnwrap(unitPath: $0) }
        let removals = plans.compactMap { file, plan -> String? in
            if case .success(.remove) = plan { return SystemdWrap.dropInDirectory(for: file) } else { return nil }
        }
        if force && !removals.isEmpty {
            guard takeSnapshot(removals, label: "unwrap systemd", state: state, report: &report) != nil else { return report }
        }
        for (file, plan) in plans {
            switch plan {
            case .failure(let error): report.fail(file, error)
            case .success(.refused(let reason)): report.refuse(file, reason)
            case .success(.notWrapped):
                report.lines.append("\(file): unchanged (not wrapped)")
                report.results.append(FileResult(path: file, action: .unchanged, reason: "not wrapped"))
            case .success(.remove(let dropIn, let directory, let edited)):
                if edited && !force {
                    report.refuse(file, "\(dropIn) was \(editedWarning); --force removes it anyway, after a snapshot that keeps a copy")
                    continue
                }
                let what = dropIn + (directory.map { " and \($0)" } ?? "")
                let warnings = edited ? ["\(dropIn) was \(editedWarning): removed with your edits (the snapshot keeps a copy)"] : []
                report.results.append(FileResult(path: file, action: .remove, warnings: warnings, files: [dropIn] + (directory.map { [$0] } ?? [])))
                if !force { report.lines.append("\(file): would remove \(what)"); continue }
                do {
                    try removeFile(dropIn)
                    if let directory { try removeEmptyDirectory(directory) }
                    report.lines.append("\(file): removed \(what)")
                    for w in warnings { report.lines.append("    warning: " + w) }
                } catch { report.fail(file, error) }
            }
        }
        report.finish(changes: removals.count, force: force, next: "systemctl daemon-reload, then restart the units",
                      dryRun: "nothing removed; --force removes the drop-ins after taking a snapshot")
        return report
    }
}

public enum LaunchdFleet {
    /// One plist read for editing, with what it takes to write it back the same way.
    struct Job {
        var path: String
        var status: FileStatus
        var bytes: [UInt8]
        var actingAs: (uid: UInt32, gid: UInt32)?
    }

    static func load(_ path: String) throws -> Result<Job, PlistError> {
        let st = try fileStatus(path)
        if st.isSymbolicLink { return .failure(PlistError("is a symlink; pass the file it points to")) }
        guard st.isRegularFile else { return .failure(PlistError("not a regular file")) }
        let actingAs = userActingFor(path, owner: st.uid, group: st.gid)
        return .success(Job(path: path, status: st, bytes: try readFile(path, limit: 16 << 20), actingAs: actingAs))
    }

    public static func wrap(_ files: [String], options: LaunchdWrap.Options, force: Bool, state: StateDirectory) -> WrapReport {
        edit(files, force: force, state: state, label: "wrap launchd") { bytes in
            var edit = try LaunchdWrap.wrap(bytes, options: options)
            if case .refused = edit.outcome {} else if !options.keepAlive, let root = try? PlistDocument(edit.bytes).root,
                                                      let advice = LaunchdWrap.keepAliveAdvice(root) {
                edit.notes.append(advice)
            }
            return edit
        }
    }

    public static func unwrap(_ files: [String], force: Bool, state: StateDirectory) -> WrapReport {
        edit(files, force: force, state: state, label: "unwrap launchd") { try LaunchdWrap.unwrap($0) }
    }

    static func edit(_ files: [String], force: Bool, state: StateDirectory, label: String,
                     _ change: ([UInt8]) throws -> LaunchdWrap.Edit) -> WrapReport {
        var report = WrapReport()
        enum Step { case failed(Error), refused(String), edited(Job, LaunchdWrap.Edit) }
        var steps: [(String, Step)] = []
        for file in files {
            do {
                switch try load(file) {
                case .failure(let error): steps.append((file, .refused(error.message)))
                case .success(let job):
                    do { steps.append((file, .edited(job, try change(job.bytes)))) }
                    catch let error as PlistError { steps.append((file, .refused("cannot read the plist: \(error.message)"))) }
                }
            } catch { steps.append((file, .failed(error))) }
        }
        let writes = steps.compactMap { file, step -> String? in
            if case .edited(_, let edit) = step, edit.outcome == .changed { return file } else { return nil }
        }
        if force && !writes.isEmpty {
            guard takeSnapshot(writes, label: label, state: state, report: &report) != nil else { return report }
        }
        let verb = label.hasPrefix("unwrap") ? "unwrap" : "wrap"
        for (file, step) in steps {
            switch step {
            case .failed(let error): report.fail(file, error)
            case .refused(let reason): report.refuse(file, reason)
            case .edited(_, let edit):
                if case .refused(let reason) = edit.outcome { report.refuse(file, reason); continue }
                guard edit.outcome == .changed else {
                    let reason = verb == "wrap" ? "already wrapped" : "not wrapped"
                    report.lines.append("\(file): unchanged (\(reason))")
                    for n in edit.notes { report.lines.append("    note: " + n) }
                    report.results.append(FileResult(path: file, action: .unchanged, reason: reason, warnings: edit.notes))
                    continue
                }
                var notes = edit.notes
                if edit.becomesXML { notes.append("binary plist: written back as XML (launchd reads both)") }
                let result = FileResult(path: file, action: .write, changes: edit.changes, warnings: notes, files: [file])
                report.results.append(result)
                let summary = (try? PlistDocument(edit.bytes)).map { LaunchdWrap.describe($0.root) } ?? "(unreadable)"
                if !force {
                    report.lines.append("\(file): would \(verb): \(summary)")
                } else {
                    guard case .edited(let job, _) = step else { continue }
                    do {
                        try rewriteOperatorFile(file, read: job.bytes, edit.bytes, status: job.status, actingAs: job.actingAs)
                        report.lines.append("\(file): \(verb == "wrap" ? "wrapped" : "unwrapped"): \(summary)")
                    } catch let error as ChangedWhileEditing {
                        report.results.removeLast()
                        report.refuse(file, error.description); continue
                    } catch { report.fail(file, error); continue }
                }
                for c in edit.changes where c.key != "Program" && c.key != "ProgramArguments" { report.lines.append("    change: " + c.line) }
                for n in notes { report.lines.append("    note: " + n) }
            }
        }
        report.finish(changes: writes.count, force: force,
                      next: "launchctl bootout and bootstrap each job (or log out and in) so launchd reads the new plists (docs/launchd.md)",
                      dryRun: "nothing written; --force rewrites the plists after taking a snapshot")
        return report
    }
}

public enum ConvertFleet {
    public static func launchdToSystemd(_ files: [String], options: LaunchdConverter.Options, outputDirectory: String?,
                                        force: Bool, state: StateDirectory) -> WrapReport {
        var report = WrapReport()
        var outputs: [(file: String, conversion: LaunchdConverter.Conversion)] = []
        var names: Set<String> = []
        for file in files {
            do {
                let document = try PlistDocument(try readFile(file, followSymlinks: true, limit: 16 << 20))
                switch LaunchdConverter.convert(document.root, options: options) {
                case .failure(let error): report.refuse(file, error.message)
                case .success(let conversion):
                    guard names.insert(conversion.name).inserted else {
                        report.refuse(file, "another plist already converts to \(conversion.name).service")
                        continue
                    }
                    outputs.append((file, conversion))
                }
            } catch let error as PlistError {
                report.refuse(file, "cannot read the plist: \(error.message)")
            } catch { report.fail(file, error) }
        }
        func targets(_ c: LaunchdConverter.Conversion, _ dir: String) -> [(String, String)] {
            [(dir + "/" + c.name + ".service", c.service)] + (c.timer.map { [(dir + "/" + c.name + ".timer", $0)] } ?? [])
                + (c.path.map { [(dir + "/" + c.name + ".path", $0)] } ?? [])
        }
        var writable = outputs
        if let dir = outputDirectory {
            writable = outputs.filter { out in
                let existing = targets(out.conversion, dir).map(\.0).filter { fileStatusIfPresent($0) != nil }
                if !existing.isEmpty && !force {
                    report.refuse(out.file, "\(existing.joined(separator: ", ")) exists; --force overwrites it after taking a snapshot")
                    return false
                }
                return true
            }
            let overwritten = writable.flatMap { targets($0.conversion, dir).map(\.0) }.filter { fileStatusIfPresent($0) != nil }
            if !overwritten.isEmpty {
                guard takeSnapshot(overwritten, label: "convert launchd-to-systemd", state: state, report: &report) != nil else { return report }
            }
        }
        for out in writable {
            let c = out.conversion
            var warnings: [String] = []
            if !c.unmapped.isEmpty {
                warnings.append("no systemd equivalent for \(c.unmapped.joined(separator: ", ")) (listed in a comment in \(c.name).service)")
                report.errors.append("\(out.file): " + warnings[0])
            }
            let units = targets(c, outputDirectory ?? ".")
            report.results.append(FileResult(path: out.file, action: .write, changes: c.changes, warnings: warnings,
                                             files: units.map(\.0), contents: units.map(\.1)))
            guard let dir = outputDirectory else {
                report.lines.append("\(out.file): " + targets(c, ".").map { baseName(of: $0.0) }.joined(separator: ", "))
                for (path, text) in targets(c, ".") {
                    report.lines.append("==> \(baseName(of: path)) <==")
                    report.lines.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
                }
                continue
            }
            do {
                try makeDirectories(dir, mode: 0o755)
                var written: [String] = []
                for (path, text) in targets(c, dir) {
                    try writeOperatorFile(path, Array(text.utf8), mode: 0o644, owner: nil)
                    written.append(path)
                }
                report.lines.append("\(out.file): wrote \(written.joined(separator: ", "))")
            } catch { report.fail(out.file, error) }
        }
        report.dryRun = outputDirectory == nil
        return report
    }
}
