import GuardedCheck
import GuardedCore
import GuardedSystem

/// What a generation is built from (docs/repair.md, "Where a rebuild comes from"): whatever the
/// source, a list of pinned requirement lines that becomes one requirements file in the build, so
/// pip and uv install the same thing by construction.
struct RebuildSource: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// `--requirements FILE`, in any format below.
        case requirements = "requirements"
        case knownGood = "known-good"
        case uvLock = "uv.lock"
        case pylock = "pylock.toml"
        case pipfileLock = "Pipfile.lock"
        /// The project's own fully pinned requirements.txt, requirements.lock or requirements-lock.txt.
        case pinnedRequirements = "pinned-requirements"
        case distInfo = "dist-info"
        case pyproject = "pyproject.toml"
        case unpinnedRequirements = "unpinned-requirements"
    }

    var kind: Kind
    /// The file (or site-packages directory) read; nil for the known-good set.
    var path: String?
    /// Why this source won, for the plan and the health log.
    var why: String
    var requirements: [PinnedRequirement]
    /// Index and find-links options a requirements file carried.
    var options: [String] = []
    /// Every line an exact pin.
    var pinned: Bool
    /// The venv had pip: build it with the interpreter's bundled ensurepip.
    var withPip = false
    /// dist-info only: the old RECORD of each distribution, to compare the reinstalled files with.
    var records: [OldRecord] = []
    /// When the known-good set was recorded (the plan shows it).
    var recordedAt: String?
    /// Which known-good set: when, by what and with which imports it was recorded (`KnownGood.summary`).
    var knownGoodSummary: String?

    /// `uv.lock /srv/mail/uv.lock`, `known-good`: the health log's and generation record's `source`.
    var description: String {
        switch kind {
        case .knownGood: return "known-good"
        case .requirements: return "requirements \(path ?? "")"
        case .pinnedRequirements, .unpinnedRequirements: return "\(baseName(of: path ?? "")) \(path ?? "")"
        default: return path.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue
        }
    }

    /// `--find-links` directories a requirements file named.
    var findLinks: [String] {
        options.indices.compactMap { i in i > 0 && (options[i - 1] == "--find-links" || options[i - 1] == "-f") ? options[i] : nil }
    }

    /// The requirements file's text (docs/repair.md): what the installer is given.
    var fileText: String {
        pinnedRequirementsText(requirements) + (options.isEmpty ? "" : optionLines())
    }

    private func optionLines() -> String {
        var out = ""
        var i = 0
        while i < options.count {
            if options[i] == "--no-index" { out += "--no-index\n"; i += 1; continue }
            if i + 1 < options.count { out += "\(options[i]) \(options[i + 1])\n" }
            i += 2
        }
        return out
    }

    /// The lines to install: pip and setuptools from a mirror of the old venv (known-good,
    /// dist-info) come from the interpreter's own ensurepip instead.
    func installable() -> RebuildSource {
        guard kind == .knownGood || kind == .distInfo else { return self }
        var copy = self
        copy.requirements = requirements.filter { !Installer.bootstrapPackages.contains($0.name) }
        return copy
    }
}

/// A candidate source the search passed over, and why (the plan's `passed over:` lines and
/// `repair --json`'s `passed_over`).
public struct PassedOver: Sendable, Equatable {
    /// `unpinned-requirements`, `dist-info` or `pyproject.toml` (RebuildSource.Kind's names).
    public var kind: String
    /// The file looked at; nil when there is none (no dist-info, a remark on every unpinned file).
    public var path: String?
    public var why: String
    /// The plan's line: `path: why`.
    public var text: String

    init(kind: RebuildSource.Kind, path: String?, why: String, text: String? = nil) {
        self.kind = kind.rawValue
        self.path = path
        self.why = why
        self.text = text ?? "\(path ?? kind.rawValue): \(why)"
    }

    public func json() -> JSONValue {
        .object([("kind", .string(kind)), ("path", .optional(path)), ("why", .string(why))])
    }
}

/// A distribution's RECORD in the broken venv: paths relative to site-packages and their hashes.
struct OldRecord: Sendable {
    var name: String
    var version: String
    var files: [(path: String, hash: String)]
}

/// Where a rebuild's packages come from, in order (docs/repair.md):
/// 1. `--requirements FILE`; 2. the known-good set; 3. the project's own pins next to the venv or
/// in the agent's working directory (uv.lock, pylock.toml, a fully pinned requirements.txt,
/// requirements.lock, requirements-lock.txt, Pipfile.lock); 4. the broken venv's own dist-info; 5. unpinned
/// sources (pyproject.toml, an unpinned requirements file), only with `--from` or `--allow-unpinned`
/// and never in an unattended repair. A source that is found but unsafe or malformed stops the
/// repair (one line); one that is only not fully pinned is passed over and named in the plan.
struct SourceFinder {
    let venv: String
    let state: StateDirectory
    let options: RepairOptions
    /// The uid the venv belongs to: source files must be this user's or root's.
    let owner: UInt32

    init(venv: String, state: StateDirectory, options: RepairOptions) {
        self.venv = venv
        self.state = state
        self.options = options
        owner = venvOwner(venv)
    }

    /// Pinned-file names looked for in each project directory, in order.
    static let pinnedNames = ["requirements.txt", "requirements.lock", "requirements-lock.txt"]

    /// The names `--from` takes.
    static let fromNames = ["known-good", "uv.lock", "pylock.toml", "requirements.txt", "requirements.lock",
                            "requirements-lock.txt", "Pipfile.lock", "dist-info", "pyproject.toml"]

    /// The venv's parent, then the agent's working directory when known.
    var projectDirectories: [String] {
        var dirs = [parentDirectory(of: venv)]
        if let wd = options.workingDirectory, wd != "/", !dirs.contains(wd) { dirs.append(wd) }
        return dirs
    }

    /// The source a rebuild uses, and notes on the candidates passed over.
    func choose() -> (source: Result<RebuildSource, RepairError>, notes: [PassedOver]) {
        var notes: [PassedOver] = []
        let allowUnpinned = (options.allowUnpinned || options.from != nil) && !options.unattended

        if let file = options.requirements {
            return (explicitRequirements(file, allowUnpinned: !options.unattended), notes)
        }
        if let from = options.from { return (pick(from), notes) }

        if let kg = KnownGood.load(state: state, venv: venv), !kg.distributions.isEmpty || !kg.pythonVersion.isEmpty {
            return (knownGood(kg, why: "recorded by the last passing check"), notes)
        }
        var unpinnedCandidates: [RebuildSource] = []
        for dir in projectDirectories {
            for name in ["uv.lock", "pylock.toml"] + SourceFinder.pinnedNames + ["Pipfile.lock"] {
                let path = dir + "/" + name
                guard fileStatusIfPresent(path, followSymlinks: true) != nil else { continue }
                switch read(name: name, path: path) {
                case .failure(let e): return (.failure(e), notes)
                case .success(let s) where s.pinned:
                    return (.success(s), notes)
                case .success(var s):
                    notes.append(PassedOver(kind: .unpinnedRequirements, path: path, why: "not fully pinned (\(s.why))"))
                    s.why = "an unpinned requirements file next to the venv (--allow-unpinned)"
                    unpinnedCandidates.append(s)
                }
            }
        }
        switch distInfo(why: "no known-good set and no pinned project file: the broken venv's own dist-info") {
        case .success(let s) where !s.requirements.isEmpty: return (.success(s), notes)
        case .success: notes.append(PassedOver(kind: .distInfo, path: nil, why: "none in \(venv)"))
        case .failure(let e): notes.append(PassedOver(kind: .distInfo, path: nil, why: e.description))
        }
        for dir in projectDirectories where fileStatusIfPresent(dir + "/pyproject.toml", followSymlinks: true) != nil {
            guard allowUnpinned else {
                notes.append(PassedOver(kind: .pyproject, path: dir + "/pyproject.toml",
                                        why: "unpinned: used only with --allow-unpinned or --from pyproject.toml, by hand"))
                continue
            }
            return (pyproject(dir + "/pyproject.toml", why: "--allow-unpinned: the project's declared dependencies (newest versions that match)"), notes)
        }
        if allowUnpinned, let s = unpinnedCandidates.first { return (.success(s), notes) }
        if !unpinnedCandidates.isEmpty && !allowUnpinned {
            let why = "unpinned requirements files are used only with --allow-unpinned, by hand"
            notes.append(PassedOver(kind: .unpinnedRequirements, path: nil, why: why, text: why))
        }
        let looked = projectDirectories.joined(separator: " and ")
        return (.failure(.step("nothing to rebuild from: no --requirements FILE, no known-good set, no pinned uv.lock, pylock.toml, requirements file or Pipfile.lock in \(looked), and no dist-info in \(venv)")), notes)
    }

    /// `--from SOURCE`.
    func pick(_ from: String) -> Result<RebuildSource, RepairError> {
        switch from {
        case "known-good":
            guard let kg = KnownGood.load(state: state, venv: venv) else {
                return .failure(.step("--from known-good: no known-good set is recorded for \(venv)"))
            }
            return knownGood(kg, why: "--from known-good")
        case "dist-info":
            return distInfo(why: "--from dist-info")
        default:
            for dir in projectDirectories {
                let path = dir + "/" + from
                guard fileStatusIfPresent(path, followSymlinks: true) != nil else { continue }
                return read(name: from, path: path).map { s in
                    var s = s
                    s.why = "--from \(from)"
                    return s
                }
            }
            return .failure(.step("--from \(from): no \(from) in \(projectDirectories.joined(separator: " or "))"))
        }
    }

    /// A project file by its name: uv.lock, pylock.toml, pyproject.toml or a requirements file.
    func read(name: String, path: String) -> Result<RebuildSource, RepairError> {
        if let e = safety(path) { return .failure(e) }
        if name == "uv.lock" {
            return SourceReaders.uvLock(path, installed: installedInVenv).map {
                RebuildSource(kind: .uvLock, path: path, why: "the project's own uv.lock", requirements: $0, pinned: true)
            }
        }
        if name == "pylock.toml" || (name.hasPrefix("pylock.") && name.hasSuffix(".toml")) {
            return SourceReaders.pylock(path).map {
                RebuildSource(kind: .pylock, path: path, why: "the project's own pylock.toml", requirements: $0, pinned: true)
            }
        }
        if name == "Pipfile.lock" {
            return SourceReaders.pipfileLock(path, installed: installedInVenv).map {
                RebuildSource(kind: .pipfileLock, path: path, why: "the project's own Pipfile.lock (its default packages)", requirements: $0, pinned: true)
            }
        }
        if name == "pyproject.toml" { return pyproject(path, why: "the project's declared dependencies") }
        var file = SourceReaders.RequirementsFile()
        if let e = SourceReaders.requirements(path, into: &file, check: safety) { return .failure(e) }
        let pinned = file.firstUnpinned == nil
        return .success(RebuildSource(kind: pinned ? .pinnedRequirements : .unpinnedRequirements, path: path,
                                      why: pinned ? "the project's own fully pinned \(name)" : file.firstUnpinned ?? "",
                                      requirements: file.requirements, options: file.options, pinned: pinned))
    }

    /// `--requirements FILE`: the format from its name (uv.lock, pylock.toml, pyproject.toml, else
    /// a requirements file). An unattended repair refuses an unpinned one.
    func explicitRequirements(_ file: String, allowUnpinned: Bool) -> Result<RebuildSource, RepairError> {
        guard fileStatusIfPresent(file, followSymlinks: true)?.isRegularFile == true else {
            return .failure(.step("requirements: \(file): \(Errno.noSuchFileOrDirectory)"))
        }
        let name = baseName(of: file)
        let format = name == "uv.lock" ? "uv.lock" : (name.hasPrefix("pylock.") && name.hasSuffix(".toml")) ? "pylock.toml"
            : name == "pyproject.toml" ? "pyproject.toml" : name == "Pipfile.lock" ? "Pipfile.lock" : "requirements.txt"
        switch read(name: format, path: file) {
        case .failure(let e): return .failure(e)
        case .success(var s):
            if !s.pinned && !allowUnpinned {
                return .failure(.step("\(file) is not fully pinned (\(s.why)): an unattended repair never installs whatever is newest; pin it, or run \(programName) repair --venv \(venv) --requirements \(file) --force by hand"))
            }
            s.why = "--requirements" + (s.pinned ? "" : " (not fully pinned: \(s.why))")
            s.kind = .requirements
            return .success(s)
        }
    }

    /// The known-good set as pins; an entry that is not a plain name and version (a damaged state
    /// file) refuses the set rather than become an installer option.
    func knownGood(_ kg: KnownGood, why: String) -> Result<RebuildSource, RepairError> {
        if let bad = kg.distributions.first(where: { !isValidProjectName($0.name) || !isValidVersion($0.version) }) {
            return .failure(.step("the known-good set of \(venv) holds an entry that is not a name and version (\(bad.name.prefix(40))); pass --from or --requirements"))
        }
        return .success(RebuildSource(kind: .knownGood, path: nil, why: why,
                                      requirements: kg.distributions.map {
                                          PinnedRequirement(name: normalizedProjectName($0.name), requirement: "\($0.name)==\($0.version)")
                                      },
                                      pinned: true, withPip: kg.distributions.contains { $0.name.lowercased() == "pip" }, recordedAt: kg.checkedAt, knownGoodSummary: kg.summary))
    }

    func pyproject(_ path: String, why: String) -> Result<RebuildSource, RepairError> {
        if let e = safety(path) { return .failure(e) }
        return SourceReaders.pyproject(path).map { project in
            var list = project.requirements
            // The project itself, when the venv had it: editable as it was.
            if let name = project.name, let own = installedRequirement(name) { list.append(own) }
            return RebuildSource(kind: .pyproject, path: path, why: why, requirements: list, pinned: false)
        }
    }

    // MARK: the venv's own dist-info

    /// site-packages of the venv (the first `lib/python*/site-packages`), read without Python.
    var sitePackages: String? {
        let lib = venv + "/lib"
        let names = ((try? directoryEntries(lib)) ?? []).filter { $0.hasPrefix("python") }.sorted()
        for n in names where isDirectory(lib + "/" + n + "/site-packages") { return lib + "/" + n + "/site-packages" }
        return nil
    }

    struct InstalledDistribution {
        var name: String
        var version: String
        var directory: String
        var requirement: PinnedRequirement
    }

    /// Every `*.dist-info` with a METADATA Name and Version; direct_url.json turns editable,
    /// local-path and VCS installs into `-e /path`, `name @ file://…`, `name @ git+…@commit`.
    func installedDistributions() -> Result<[InstalledDistribution], RepairError> {
        guard let site = sitePackages else { return .success([]) }
        let entries: [String]
        do { entries = try directoryEntries(site) } catch { return .failure(.step("\(site): \(error)")) }
        var list: [InstalledDistribution] = []
        for entry in entries.sorted() where entry.hasSuffix(".dist-info") {
            if list.count >= 10_000 { return .failure(.step("\(site): more than 10000 dist-info directories")) }
            let dir = site + "/" + entry
            guard let meta = try? readFile(dir + "/METADATA", limit: 4 << 20) else { continue }
            let headers = metadataHeaders(meta)
            guard let rawName = headers["name"], isValidProjectName(rawName), let version = headers["version"], isValidVersion(version) else { continue }
            let name = normalizedProjectName(rawName)
            var req = PinnedRequirement(name: name, requirement: "\(rawName)==\(version)")
            if let bytes = try? readFile(dir + "/direct_url.json", limit: 1 << 16), let json = JSONValue.parse(bytes: bytes),
               let url = json["url"]?.stringValue {
                if let path = filePath(fromURL: url) {
                    guard SourceReaders.isPlainPath(path) else {
                        return .failure(.step("\(dir)/direct_url.json: a path with blanks or special characters (\(path))"))
                    }
                    if json["dir_info"]?["editable"]?.boolValue == true {
                        req.requirement = "-e " + path
                    } else {
                        req.requirement = "\(rawName) @ \(fileURL(path))"
                    }
                } else if let commit = json["vcs_info"]?["commit_id"]?.stringValue, let vcs = json["vcs_info"]?["vcs"]?.stringValue,
                          ["git", "hg", "bzr", "svn"].contains(vcs), commit.allSatisfy(\.isHexDigit), isSafeLineText(url), !url.contains(" ") {
                    req.requirement = "\(rawName) @ \(vcs)+\(url)@\(commit)"
                } else if json["archive_info"] != nil, isSafeLineText(url), !url.contains(" ") {
                    req.requirement = "\(rawName) @ \(url)"
                }
            }
            list.append(InstalledDistribution(name: name, version: version, directory: dir, requirement: req))
        }
        return .success(list)
    }

    func distInfo(why: String) -> Result<RebuildSource, RepairError> {
        installedDistributions().flatMap { dists in
            var requirements: [PinnedRequirement] = []
            var records: [OldRecord] = []
            for d in dists {
                if d.requirement.editable, let e = safety(String(d.requirement.requirement.dropFirst(3))) { return .failure(e) }
                requirements.append(d.requirement)
                if let r = oldRecord(d) { records.append(r) }
            }
            return .success(RebuildSource(kind: .distInfo, path: sitePackages, why: why, requirements: requirements, pinned: true,
                                          withPip: dists.contains { $0.name == "pip" }, records: records))
        }
    }

    /// The venv had `name` installed (a project's own package): the line that reinstalls it as it was.
    func installedRequirement(_ name: String) -> PinnedRequirement? {
        guard case .success(let dists) = installedDistributions(), let d = dists.first(where: { $0.name == name }) else { return nil }
        return d.requirement
    }

    func installedInVenv(_ name: String) -> Bool { installedRequirement(name) != nil }

    /// RECORD entries inside site-packages with a sha256, except the installer's own files and bytecode.
    func oldRecord(_ d: InstalledDistribution) -> OldRecord? {
        guard let bytes = try? readFile(d.directory + "/RECORD", limit: 16 << 20) else { return nil }
        let distDir = baseName(of: d.directory) + "/"
        var files: [(String, String)] = []
        // Split on any line end: pip writes RECORD with CRLF, and "\r\n" is one Character in Swift.
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2, fields[1].hasPrefix("sha256=") else { continue }
            let path = String(fields[0])
            if path.hasPrefix("/") || path.hasPrefix("../") || path.contains("/../") || path.hasPrefix(distDir)
                || path.hasSuffix(".pyc") || path.hasPrefix("__editable__") || path.hasSuffix(".pth") { continue }
            files.append((path, String(fields[1].dropFirst(7))))
        }
        return files.isEmpty ? nil : OldRecord(name: d.name, version: d.version, files: files)
    }

    // MARK: safety

    /// A source file or directory is used only when no one but the venv's owner or root can have
    /// written it: owned by one of them, and not group- or world-writable.
    func safety(_ path: String) -> RepairError? {
        guard let st = fileStatusIfPresent(path, followSymlinks: true) else {
            return .step("\(path): \(Errno.noSuchFileOrDirectory)")
        }
        if st.permissions & 0o022 != 0 {
            return .step("refused \(path): it is group- or world-writable (mode \(String(st.permissions, radix: 8))); a rebuild source must be writable only by the venv's owner or root")
        }
        if st.uid != 0 && st.uid != owner {
            return .step("refused \(path): it is owned by uid \(st.uid), not by the venv's owner (uid \(owner)) or root")
        }
        return nil
    }
}

/// The uid the venv (or, when it is missing, its parent directory) belongs to.
func venvOwner(_ venv: String) -> UInt32 {
    (fileStatusIfPresent(venv, followSymlinks: true) ?? fileStatusIfPresent(parentDirectory(of: venv), followSymlinks: true))?.uid ?? 0
}

/// METADATA's header fields (lowercased names), up to the first blank line; the first of each wins.
func metadataHeaders(_ bytes: [UInt8]) -> [String: String] {
    var headers: [String: String] = [:]
    for l in String(decoding: bytes.prefix(1 << 20), as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
        if l.isEmpty { break }
        guard let colon = l.firstIndex(of: ":"), !l.hasPrefix(" "), !l.hasPrefix("\t") else { continue }
        let key = l[..<colon].lowercased()
        if headers[key] == nil { headers[key] = trimmedLine(l[l.index(after: colon)...]) }
    }
    return headers
}
