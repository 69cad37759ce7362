import GuardedCore
import GuardedSystem

/// Reading each kind of rebuild source into pinned requirement lines. Every reader works on the
/// file's bytes only (no interpreter: the venv's may be gone) and refuses what it does not
/// understand with one line, so a rebuild never starts from a half-read source.
enum SourceReaders {
    /// Upper bound on any source file read here.
    static let maxFileBytes = 16 << 20

    // MARK: requirements.txt

    /// Options a requirements file may carry through to the rebuild: both pip and uv take them.
    static let passedOptions: Set<String> = ["--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--no-index"]

    struct RequirementsFile {
        var requirements: [PinnedRequirement] = []
        /// Index and find-links options, absolute (relative find-links resolved against the file).
        var options: [String] = []
        /// The first line that is not an exact pin (`name==version`, hashes allowed), for the plan.
        var firstUnpinned: String?
        /// Every file read (includes too): the safety rules apply to each.
        var files: [String] = []
    }

    /// A requirements.txt (pip-compile and `uv pip compile` output included): `-r` includes are read
    /// in (relative to the file, at most 4 deep), editable and local paths made absolute.
    static func requirements(_ path: String, depth: Int = 0, into result: inout RequirementsFile,
                             check: (String) -> RepairError?) -> RepairError? {
        guard depth <= 4 else { return .step("\(path): -r includes nested deeper than 4") }
        if let e = check(path) { return e }
        if result.files.count > 64 { return .step("\(path): more than 64 included files") }
        result.files.append(path)
        let text: String
        switch readText(path) {
        case .success(let t): text = t
        case .failure(let e): return e
        }
        let base = parentDirectory(of: path)
        var lineNumber = 0
        var pending = ""
        // Any line end ("\r\n" is one Character in Swift: splitting on "\n" alone would miss it).
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            var line = String(raw)
            // A trailing backslash continues the line.
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            line = pending + line
            pending = ""
            // A comment starts at a `#` at the start or after a blank.
            if let hash = line.firstIndex(of: "#"), hash == line.startIndex || line[line.index(before: hash)] == " " || line[line.index(before: hash)] == "\t" {
                line = String(line[..<hash])
            }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first else { continue }
            func bad(_ why: String) -> RepairError { .step("\(path):\(lineNumber): \(why)") }
            if first.hasPrefix("-") {
                var option = first, value: String? = words.count > 1 ? words[1] : nil
                if let eq = first.firstIndex(of: "="), first.hasPrefix("--") {
                    option = String(first[..<eq])
                    value = String(first[first.index(after: eq)...])
                }
                switch option {
                case "-r", "--requirement":
                    guard let v = value else { return bad("\(option) without a file") }
                    if let e = requirements(normalizedPath(absolutePath(v, relativeTo: base)), depth: depth + 1, into: &result, check: check) {
                        return e
                    }
                case "-e", "--editable":
                    guard let v = value, words.count == 2 else { return bad("\(option) takes one path") }
                    if v.contains("://") || v.hasPrefix("git+") {
                        guard isSafeLineText(v) else { return bad("an editable URL this reader does not pass on") }
                        result.requirements.append(PinnedRequirement(name: "", requirement: "-e " + v))
                    } else {
                        let dir = normalizedPath(absolutePath(v, relativeTo: base))
                        guard isPlainPath(dir) else { return bad("an editable path with blanks or special characters") }
                        result.requirements.append(PinnedRequirement(name: "", requirement: "-e " + dir))
                    }
                    if result.firstUnpinned == nil { result.firstUnpinned = "line \(lineNumber): an editable install" }
                case "-c", "--constraint":
                    return bad("constraints files (\(option)) are not read here")
                default:
                    guard passedOptions.contains(option) else { return bad("the option \(option) is not passed on to a rebuild") }
                    if option == "--no-index" { result.options.append(option); continue }
                    guard var v = value, isSafeLineText(v), !v.hasPrefix("-") else { return bad("\(option) without a value") }
                    if (option == "--find-links" || option == "-f"), !v.contains("://") { v = normalizedPath(absolutePath(v, relativeTo: base)) }
                    result.options += [option, v]
                }
                continue
            }
            // A requirement, with its --hash options.
            var spec: [String] = []
            var hashes: [String] = []
            for w in words {
                if w.hasPrefix("--hash=") {
                    guard let h = normalizedHash(String(w.dropFirst(7))) else { return bad("a hash other than sha256:<64 hex>") }
                    hashes.append(h)
                } else if w.hasPrefix("-") {
                    return bad("the per-requirement option \(w) is not passed on to a rebuild")
                } else {
                    spec.append(w)
                }
            }
            let joined = spec.joined(separator: " ")
            guard var req = parseRequirement(joined, base: base) else { return bad("not a requirement this reader understands: \(joined.prefix(80))") }
            req.hashes = hashes
            if !req.pinned, result.firstUnpinned == nil { result.firstUnpinned = "line \(lineNumber): \(joined.prefix(80))" }
            result.requirements.append(req)
        }
        return nil
    }

    /// One PEP 508 requirement as a requirements line holds it: `name[extras] (specifier) ; marker`,
    /// `name @ url ; marker`, or a local path (made absolute). Nil when it is none of these.
    static func parseRequirement(_ text: String, base: String) -> PinnedRequirement? {
        var body = text
        var marker: String?
        if let semi = text.firstIndex(of: ";") {
            body = String(text[..<semi])
            marker = trimmedLine(text[text.index(after: semi)...])
            guard let m = marker, !m.isEmpty, isSafeLineText(m) else { return nil }
        }
        body = trimmedLine(body)
        guard !body.isEmpty, isSafeLineText(body) else { return nil }
        // A local path or archive: ./pkg, /w/pkg.whl
        if body.hasPrefix("/") || body.hasPrefix("./") || body.hasPrefix("../") {
            let p = normalizedPath(absolutePath(body, relativeTo: base))
            guard isPlainPath(p) else { return nil }
            return PinnedRequirement(name: "", requirement: p, marker: marker)
        }
        // The name: up to the first character that is not part of one.
        let nameEnd = body.firstIndex { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") } ?? body.endIndex
        let name = String(body[..<nameEnd])
        guard isValidProjectName(name), name.allSatisfy({ $0.isASCII }) else { return nil }
        var rest = trimmedLine(body[nameEnd...])
        var extras = ""
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            extras = String(rest[...close]).filter { $0 != " " }
            rest = trimmedLine(rest[rest.index(after: close)...])
        }
        if rest.hasPrefix("@") {
            let url = trimmedLine(rest.dropFirst())
            guard !url.isEmpty, url.contains(":"), !url.contains(" ") else { return nil }
            return PinnedRequirement(name: normalizedProjectName(name), requirement: "\(name)\(extras) @ \(url)", marker: marker)
        }
        let specifier = rest.filter { $0 != " " }
        var pinned = false
        if specifier.hasPrefix("=="), !specifier.dropFirst(2).contains(","), !specifier.hasSuffix("*"),
           isValidVersion(String(specifier.dropFirst(2))) {
            pinned = true
        }
        guard specifier.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return nil }
        return PinnedRequirement(name: normalizedProjectName(name), requirement: name + extras + specifier, marker: marker, pinned: pinned)
    }

    /// An absolute path a requirements line can hold as it is.
    static func isPlainPath(_ p: String) -> Bool {
        p.hasPrefix("/") && !p.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F || $0 == "#" || $0 == ";" || $0 == "\\" }
    }

    // MARK: TOML files

    static func readTOML(_ path: String) -> Result<TOMLTable, RepairError> {
        let bytes: [UInt8]
        do { bytes = try readFile(path, followSymlinks: true, limit: maxFileBytes) } catch {
            return .failure(.step("\(path): \(error)"))
        }
        switch parseTOML(bytes) {
        case .success(let t): return .success(t)
        case .failure(let e): return .failure(.step("\(path): not valid TOML here: \(e)"))
        }
    }

    static func readText(_ path: String) -> Result<String, RepairError> {
        do {
            let bytes = try readFile(path, followSymlinks: true, limit: maxFileBytes)
            guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.step("\(path): not UTF-8 text")) }
            return .success(text)
        } catch {
            return .failure(.step("\(path): \(error)"))
        }
    }

    // MARK: uv.lock

    /// uv.lock (format version 1): the packages the root project needs at run time, found by walking
    /// its `dependencies` (and the extras they name) through the lock: what `uv export --frozen
    /// --no-dev` gives, read directly so pip and uv get the same file. The project itself is
    /// included only when `installed` says the venv had it (editable when its source is).
    static func uvLock(_ path: String, installed: (String) -> Bool) -> Result<[PinnedRequirement], RepairError> {
        let doc: TOMLTable
        switch readTOML(path) {
        case .success(let d): doc = d
        case .failure(let e): return .failure(e)
        }
        func bad(_ why: String) -> Result<[PinnedRequirement], RepairError> { .failure(.step("\(path): \(why)")) }
        guard case .integer(let version)? = doc["version"] else { return bad("no `version` (is this a uv.lock?)") }
        guard version == 1 else { return bad("lock version \(version) is not one this reader knows (1)") }
        guard let packages = doc["package"]?.arrayValue else { return bad("no [[package]] entries") }
        let root = parentDirectory(of: path)

        struct Entry { var name: String; var version: String?; var table: TOMLTable }
        var entries: [Entry] = []
        for p in packages {
            guard let t = p.tableValue, let name = t["name"]?.stringValue, isValidProjectName(name) else {
                return bad("a [[package]] without a valid name")
            }
            let version = t["version"]?.stringValue
            if let version, !isValidVersion(version) { return bad("\(name): a version this reader does not understand") }
            entries.append(Entry(name: normalizedProjectName(name), version: version, table: t))
        }
        func find(_ name: String, _ version: String?) -> [Int] {
            entries.indices.filter { entries[$0].name == name && (version == nil || entries[$0].version == version) }
        }
        // The roots: the workspace members, else the project at the lock's own directory.
        var roots: [Int] = []
        if let members = doc["manifest"]?["members"]?.arrayValue {
            for m in members { if let n = m.stringValue { roots += find(normalizedProjectName(n), nil) } }
        }
        if roots.isEmpty {
            roots = entries.indices.filter { i in
                let s = entries[i].table["source"]
                return s?["editable"]?.stringValue == "." || s?["virtual"]?.stringValue == "."
            }
        }
        guard !roots.isEmpty else { return bad("no root project (a package whose source is the lock's directory)") }

        // Walk the run-time dependencies (never dev-dependencies); a dependency may carry a marker,
        // which is kept on its line; extras pull in the package's optional-dependencies.
        var wanted: [Int: String?] = [:]
        var order: [Int] = []
        var queue: [(Int, [String], String?)] = roots.map { ($0, [], nil) }
        var seenEdges = Set<String>()
        var steps = 0
        while let (index, extras, marker) = queue.popLast() {
            steps += 1
            if steps > 200_000 { return bad("a dependency graph too large to walk") }
            if let existing = wanted[index] {
                // Two paths to one package: it is needed where either marker holds.
                switch (existing, marker) {
                case (nil, _), (_, nil): wanted[index] = .some(nil)
                case (let a?, let b?): wanted[index] = .some(a == b ? a : "(\(a)) or (\(b))")
                }
            } else {
                order.append(index)
                wanted[index] = .some(marker)
            }
            let t = entries[index].table
            var deps = t["dependencies"]?.arrayValue ?? []
            for extra in extras { deps += t["optional-dependencies"]?[extra]?.arrayValue ?? [] }
            for d in deps {
                guard let dt = d.tableValue, let n = dt["name"]?.stringValue else { return bad("\(entries[index].name): a dependency without a name") }
                let targets = find(normalizedProjectName(n), dt["version"]?.stringValue)
                guard !targets.isEmpty else { return bad("\(entries[index].name) needs \(n), which the lock does not list") }
                let depMarker = dt["marker"]?.stringValue
                if let depMarker, !isSafeLineText(depMarker) { return bad("\(n): a marker this reader does not pass on") }
                let depExtras = (dt["extra"]?.arrayValue ?? []).compactMap(\.stringValue)
                // A dependency under a marker holds only where its parent's marker holds too; a
                // marker grown past 2000 characters is dropped (the package is then installed everywhere).
                var combined = depMarker
                if let m = marker { combined = depMarker.map { "(\(m)) and (\($0))" } ?? m }
                if let c = combined, c.utf8.count > 2000 { combined = nil }
                for target in targets {
                    let key = "\(index)>\(target)/\(depExtras.joined(separator: ","))/\(combined ?? "")"
                    if seenEdges.insert(key).inserted { queue.append((target, depExtras, combined)) }
                }
            }
        }

        var list: [PinnedRequirement] = []
        for index in order.sorted(by: { entries[$0].name < entries[$1].name }) {
            let e = entries[index]
            let marker = wanted[index] ?? nil
            let source = e.table["source"]?.tableValue ?? TOMLTable()
            if roots.contains(index) || source["editable"] != nil || source["virtual"] != nil || source["directory"] != nil {
                // A local project: the root, a workspace member, a path dependency.
                if source["virtual"] != nil { continue }
                guard let rel = source["editable"]?.stringValue ?? source["directory"]?.stringValue else {
                    return bad("\(e.name): a local source this reader does not understand")
                }
                if roots.contains(index) && !installed(e.name) { continue }
                let dir = normalizedPath(absolutePath(rel, relativeTo: root))
                guard isPlainPath(dir) else { return bad("\(e.name): a path with blanks or special characters") }
                list.append(PinnedRequirement(name: e.name, requirement: source["editable"] != nil ? "-e " + dir : dir, marker: marker))
                continue
            }
            if source["registry"] != nil {
                guard let v = e.version else { return bad("\(e.name): a registry package without a version") }
                var hashes: [String] = []
                for w in e.table["wheels"]?.arrayValue ?? [] { if let h = w["hash"]?.stringValue.flatMap(normalizedHash) { hashes.append(h) } }
                if let h = e.table["sdist"]?["hash"]?.stringValue.flatMap(normalizedHash) { hashes.append(h) }
                list.append(PinnedRequirement(name: e.name, requirement: "\(e.name)==\(v)", marker: marker, hashes: hashes))
            } else if let git = source["git"]?.stringValue {
                // `https://host/repo?rev=…#<commit>`: installed at the locked commit.
                guard let hash = git.firstIndex(of: "#") else { return bad("\(e.name): a git source without a locked commit") }
                let commit = String(git[git.index(after: hash)...])
                let url = String(git[..<hash].prefix { $0 != "?" })
                guard commit.count >= 7, commit.allSatisfy(\.isHexDigit), isSafeLineText(url) else { return bad("\(e.name): a git source this reader does not understand") }
                list.append(PinnedRequirement(name: e.name, requirement: "\(e.name) @ git+\(url)@\(commit)", marker: marker))
            } else if let url = source["url"]?.stringValue {
                guard isSafeLineText(url), !url.contains(" ") else { return bad("\(e.name): a URL this reader does not pass on") }
                list.append(PinnedRequirement(name: e.name, requirement: "\(e.name) @ \(url)", marker: marker,
                                              hashes: [e.table["sdist"]?["hash"]?.stringValue ?? "", e.table["wheels"]?.arrayValue?.first?["hash"]?.stringValue ?? ""].compactMap(normalizedHash)))
            } else if let p = source["path"]?.stringValue {
                let file = normalizedPath(absolutePath(p, relativeTo: root))
                guard isPlainPath(file) else { return bad("\(e.name): a path with blanks or special characters") }
                list.append(PinnedRequirement(name: e.name, requirement: file, marker: marker))
            } else {
                return bad("\(e.name): a source this reader does not understand")
            }
        }
        return .success(list)
    }

    // MARK: pylock.toml (PEP 751)

    static func pylock(_ path: String) -> Result<[PinnedRequirement], RepairError> {
        let doc: TOMLTable
        switch readTOML(path) {
        case .success(let d): doc = d
        case .failure(let e): return .failure(e)
        }
        func bad(_ why: String) -> Result<[PinnedRequirement], RepairError> { .failure(.step("\(path): \(why)")) }
        guard let lockVersion = doc["lock-version"]?.stringValue else { return bad("no lock-version (is this a pylock.toml?)") }
        guard lockVersion == "1.0" || lockVersion.hasPrefix("1.") else { return bad("lock-version \(lockVersion) is not one this reader knows (1.x)") }
        guard let packages = doc["packages"]?.arrayValue else { return bad("no [[packages]] entries") }
        let root = parentDirectory(of: path)
        var list: [PinnedRequirement] = []
        for p in packages {
            guard let t = p.tableValue, let rawName = t["name"]?.stringValue, isValidProjectName(rawName) else {
                return bad("a [[packages]] entry without a valid name")
            }
            let name = normalizedProjectName(rawName)
            let marker = t["marker"]?.stringValue
            if let marker {
                guard isSafeLineText(marker) else { return bad("\(name): a marker this reader does not pass on") }
                // PEP 751 adds `extras` and `dependency_groups` to markers; installers do not evaluate them.
                if marker.contains("extras") || marker.contains("dependency_groups") {
                    return bad("\(name): a marker on extras or dependency groups, which this reader does not evaluate")
                }
            }
            if let vcs = t["vcs"]?.tableValue {
                guard let commit = vcs["commit-id"]?.stringValue, commit.allSatisfy(\.isHexDigit), commit.count >= 7 else {
                    return bad("\(name): a vcs source without a commit-id")
                }
                if let url = vcs["url"]?.stringValue {
                    let type = vcs["type"]?.stringValue ?? "git"
                    guard ["git", "hg", "bzr", "svn"].contains(type), isSafeLineText(url), !url.contains(" ") else { return bad("\(name): a vcs source this reader does not understand") }
                    list.append(PinnedRequirement(name: name, requirement: "\(name) @ \(type)+\(url)@\(commit)", marker: marker))
                } else {
                    return bad("\(name): a vcs source by path is not read here")
                }
            } else if let dir = t["directory"]?.tableValue {
                guard let rel = dir["path"]?.stringValue else { return bad("\(name): a directory without a path") }
                let abs = normalizedPath(absolutePath(rel, relativeTo: root))
                guard isPlainPath(abs) else { return bad("\(name): a path with blanks or special characters") }
                list.append(PinnedRequirement(name: name, requirement: (dir["editable"]?.boolValue == true ? "-e " : "") + abs, marker: marker))
            } else if let archive = t["archive"]?.tableValue {
                let hash = archive["hashes"]?["sha256"]?.stringValue.flatMap { normalizedHash("sha256:" + $0) }
                if let url = archive["url"]?.stringValue {
                    guard isSafeLineText(url), !url.contains(" ") else { return bad("\(name): an archive URL this reader does not pass on") }
                    list.append(PinnedRequirement(name: name, requirement: "\(name) @ \(url)", marker: marker, hashes: hash.map { [$0] } ?? []))
                } else if let rel = archive["path"]?.stringValue {
                    let abs = normalizedPath(absolutePath(rel, relativeTo: root))
                    guard isPlainPath(abs) else { return bad("\(name): a path with blanks or special characters") }
                    list.append(PinnedRequirement(name: name, requirement: abs, marker: marker, hashes: hash.map { [$0] } ?? []))
                } else {
                    return bad("\(name): an archive without a url or path")
                }
            } else {
                // From an index: wheels and/or an sdist, at `version`.
                guard let v = t["version"]?.stringValue, isValidVersion(v) else { return bad("\(name): no version") }
                var hashes: [String] = []
                for w in t["wheels"]?.arrayValue ?? [] { if let h = w["hashes"]?["sha256"]?.stringValue { hashes += normalizedHash("sha256:" + h).map { [$0] } ?? [] } }
                if let h = t["sdist"]?["hashes"]?["sha256"]?.stringValue { hashes += normalizedHash("sha256:" + h).map { [$0] } ?? [] }
                list.append(PinnedRequirement(name: name, requirement: "\(name)==\(v)", marker: marker, hashes: hashes))
            }
        }
        return .success(list)
    }

    // MARK: Pipfile.lock

    /// Pipfile.lock (pipenv, JSON): the `default` section only (never `develop`): `==version` with
    /// its hashes and markers, a git source at its `ref`, a path (editable when it says so; the
    /// project itself, `path = "."`, only when `installed` says the venv had it).
    static func pipfileLock(_ path: String, installed: (String) -> Bool) -> Result<[PinnedRequirement], RepairError> {
        func bad(_ why: String) -> Result<[PinnedRequirement], RepairError> { .failure(.step("\(path): \(why)")) }
        let bytes: [UInt8]
        do { bytes = try readFile(path, followSymlinks: true, limit: maxFileBytes) } catch { return bad("\(error)") }
        guard let doc = JSONValue.parse(bytes: bytes), let meta = doc["_meta"], meta["pipfile-spec"] != nil else {
            return bad("not a Pipfile.lock this reader understands (JSON with _meta.pipfile-spec)")
        }
        guard let entries = doc["default"]?.objectValue else { return bad("no default section") }
        let root = parentDirectory(of: path)
        var list: [PinnedRequirement] = []
        for (rawName, e) in entries {
            guard isValidProjectName(rawName) else { return bad("a package name this reader does not pass on") }
            let name = normalizedProjectName(rawName)
            let marker = e["markers"]?.stringValue
            if let marker, !isSafeLineText(marker) { return bad("\(name): a marker this reader does not pass on") }
            let extras = (e["extras"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard extras.allSatisfy(isValidProjectName) else { return bad("\(name): extras this reader does not pass on") }
            let withExtras = rawName + (extras.isEmpty ? "" : "[" + extras.joined(separator: ",") + "]")
            let hashes = (e["hashes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(normalizedHash) }
            if let version = e["version"]?.stringValue {
                guard version.hasPrefix("=="), isValidVersion(String(version.dropFirst(2))) else { return bad("\(name): version \(version.prefix(40)) is not an exact pin") }
                list.append(PinnedRequirement(name: name, requirement: withExtras + version, marker: marker, hashes: hashes))
            } else if let git = e["git"]?.stringValue {
                guard let ref = e["ref"]?.stringValue, ref.count >= 7, ref.allSatisfy(\.isHexDigit), isSafeLineText(git), !git.contains(" ") else {
                    return bad("\(name): a git source without a locked commit")
                }
                list.append(PinnedRequirement(name: name, requirement: "\(withExtras) @ git+\(git)@\(ref)", marker: marker))
            } else if let rel = e["path"]?.stringValue {
                let dir = normalizedPath(absolutePath(rel, relativeTo: root))
                guard isPlainPath(dir) else { return bad("\(name): a path with blanks or special characters") }
                if dir == root && !installed(name) { continue }
                list.append(PinnedRequirement(name: name, requirement: (e["editable"]?.boolValue == true ? "-e " : "") + dir, marker: marker))
            } else if let file = e["file"]?.stringValue {
                guard isSafeLineText(file), !file.contains(" ") else { return bad("\(name): a file URL this reader does not pass on") }
                list.append(PinnedRequirement(name: name, requirement: "\(withExtras) @ \(file)", marker: marker, hashes: hashes))
            } else {
                return bad("\(name): neither a version, a git source nor a path")
            }
        }
        return .success(list)
    }

    // MARK: pyproject.toml

    /// `[project] name` and `dependencies`: unpinned, so only for a repair an operator runs.
    static func pyproject(_ path: String) -> Result<(name: String?, requirements: [PinnedRequirement]), RepairError> {
        let doc: TOMLTable
        switch readTOML(path) {
        case .success(let d): doc = d
        case .failure(let e): return .failure(e)
        }
        guard let project = doc["project"]?.tableValue else {
            return .failure(.step("\(path): no [project] table (dependencies declared elsewhere are not read)"))
        }
        var list: [PinnedRequirement] = []
        for d in project["dependencies"]?.arrayValue ?? [] {
            guard let s = d.stringValue, let r = parseRequirement(s, base: parentDirectory(of: path)) else {
                return .failure(.step("\(path): [project] dependencies: an entry this reader does not understand"))
            }
            list.append(r)
        }
        let name = project["name"]?.stringValue.flatMap { isValidProjectName($0) ? normalizedProjectName($0) : nil }
        return .success((name, list))
    }
}
