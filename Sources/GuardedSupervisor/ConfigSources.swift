import GuardedCore
import GuardedSystem

/// The commands a fleet's own configs start, read from systemd units and drop-ins, launchd plists
/// and MCP client configs, wrapped in guarded-run or not: `venvs --from-config` and
/// `status --from-config` (docs/venvs.md).
public enum ConfigSources {
    /// One command a config starts.
    public struct Started: Equatable, Sendable {
        public var file: String
        /// Where in the file: `line 7 (ExecStart=)`, `ProgramArguments[3]`, `mcpServers.ads.command (line 4)`.
        public var place: String
        /// The program started: for a wrapped entry, guarded-run's COMMAND.
        public var command: String
        /// guarded-run's `--venv` and `--agent`, when wrapped with them.
        public var venv: String?
        public var agent: String?
    }

    /// A file or command that could not be used, with why: one line each.
    public struct Problem: Equatable, Sendable {
        public var path: String
        public var reason: String
    }

    public struct Scan: Sendable {
        public var started: [Started] = []
        /// Files that could not be read or parsed.
        public var unreadable: [Problem] = []
        /// Commands whose path depends on something only the supervisor or client knows
        /// (`%h`, `$VAR`, `${workspaceFolder}`), or guarded-run lines without a COMMAND.
        public var unresolved: [Problem] = []
        public init() {}
    }

    /// What the configs start, resolved on disk.
    public struct Resolved: Sendable {
        /// Venvs in the order the configs name them, each once.
        public var venvs: [String] = []
        /// Commands (or `--venv` directories) that no longer exist.
        public var missing: [Started] = []
        /// Agent names of wrapped entries, in order, each once.
        public var agents: [String] = []
        /// The venvs of entries that name no agent (not wrapped, or wrapped without `--agent`):
        /// their agents are known only by the venv they start.
        public var venvsWithoutAgent: [String] = []
        public init() {}
    }

    /// Reads every file, and every unit, drop-in, plist and JSON file in every directory, of `paths`.
    public static func scan(_ paths: [String]) -> Scan {
        var scan = Scan()
        for file in expand(paths, into: &scan) { read(file, into: &scan) }
        return scan
    }

    static let suffixes = [".service", ".conf", ".plist", ".json"]

    /// Files named directly stand for themselves; a directory for its entries with a known suffix
    /// and the `.conf` files of its `*.service.d` drop-in directories (one level, sorted).
    static func expand(_ paths: [String], into scan: inout Scan) -> [String] {
        var files: [String] = []
        for path in paths {
            guard isDirectory(path) else { files.append(path); continue }
            let base = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
            let names: [String]
            do { names = try directoryEntries(path).sorted() } catch {
                scan.unreadable.append(Problem(path: path, reason: "\(error)"))
                continue
            }
            for name in names where !name.hasPrefix(".") || name == ".mcp.json" {
                let full = base + "/" + name
                if name.hasSuffix(".service.d") && isDirectory(full) {
                    let inner = (try? directoryEntries(full).sorted()) ?? []
                    files += inner.filter { $0.hasSuffix(".conf") && !$0.hasPrefix(".") }.map { full + "/" + $0 }
                } else if suffixes.contains(where: { name.hasSuffix($0) }) && !name.hasSuffix(".conf") && !isDirectory(full) {
                    files.append(full)
                }
            }
        }
        return files
    }

    static func read(_ file: String, into scan: inout Scan) {
        do {
            if file.hasSuffix(".service") || file.hasSuffix(".conf") {
                try readUnit(file, into: &scan)
            } else if file.hasSuffix(".plist") {
                try readPlist(file, into: &scan)
            } else if file.hasSuffix(".json") {
                try readMcp(file, into: &scan)
            } else {
                scan.unreadable.append(Problem(path: file, reason: "not a .service, .conf, .plist or .json file"))
            }
        } catch {
            scan.unreadable.append(Problem(path: file, reason: "\(error)"))
        }
    }

    static func readUnit(_ file: String, into scan: inout Scan) throws {
        let unit = try UnitFile.read(file)
        for a in unit.values("Service", "ExecStart") where !a.value.isEmpty {
            let place = "line \(a.line) (ExecStart=)"
            var words: [String]
            do { words = try SystemdSyntax.words(a.value) } catch {
                scan.unresolved.append(Problem(path: file, reason: "\(place): \(error.message)"))
                continue
            }
            guard !words.isEmpty else { continue }
            let prefix = SystemdSyntax.execPrefix(of: words[0])
            words[0] = String(words[0].dropFirst(prefix.count))
            // `@`: the second word is only argv[0].
            if prefix.contains("@") && words.count > 1 { words.remove(at: 1) }
            add(words, file: file, place: { _ in place }, specifier: "%", into: &scan)
        }
    }

    static func readPlist(_ file: String, into scan: inout Scan) throws {
        let document: PlistDocument
        do { document = try PlistDocument(try readFile(file, followSymlinks: true, limit: 16 << 20)) } catch let error as PlistError {
            throw McpConfigError("cannot read the plist: \(error.message)")
        }
        guard case .success(let p) = LaunchdWrap.program(of: document.root) else {
            scan.unresolved.append(Problem(path: file, reason: "no Program or ProgramArguments"))
            return
        }
        // argv as launchd execs it: Program's path, then ProgramArguments after argv[0].
        var words = p.arguments ?? []
        if let program = p.program {
            if words.isEmpty { words = [program] } else { words[0] = program }
        }
        add(words, file: file, place: { k in k == 0 && p.program != nil ? "Program" : "ProgramArguments[\(k)]" }, specifier: nil, into: &scan)
    }

    static func readMcp(_ file: String, into scan: inout Scan) throws {
        let bytes = try readFile(file, followSymlinks: true, limit: McpConfig.maxBytes + 1)
        let client = McpClient.of(path: normalizedPath(absolutePath(file, relativeTo: currentDirectory())), home: Environment.homeDirectory())
        let config = try McpConfig(bytes, client: client)
        guard let key = config.serversKey else { return }
        for (name, span, value) in config.entries {
            guard case .success(let shape) = McpWrap.classify(value, span: span) else { continue }
            let words = [shape.command] + shape.args
            add(words, file: file, place: { k in
                let s = k == 0 ? shape.commandMember.value : shape.argsSpan?.elements[k - 1]
                let at = s.map { " (line \(config.line(of: $0.range.lowerBound)))" } ?? ""
                return k == 0 ? "\(key).\(printable(name)).command\(at)" : "\(key).\(printable(name)).args[\(k - 1)]\(at)"
            }, specifier: nil, into: &scan)
        }
    }

    /// Records the program `words` start: guarded-run's COMMAND when `words[0]` is guarded-run.
    static func add(_ words: [String], file: String, place: (Int) -> String, specifier: Character?, into scan: inout Scan) {
        guard let first = words.first else { return }
        var index = 0
        var venv: String? = nil
        var agent: String? = nil
        if baseName(of: first) == programName {
            var k = 1
            var found = false
            while k < words.count {
                let w = words[k]
                if w == "--" { found = true; break }
                for name in ["--venv", "--agent"] {
                    var value: String? = nil
                    if w == name, k + 1 < words.count { value = words[k + 1]; k += 1 } else if w.hasPrefix(name + "=") { value = String(w.dropFirst(name.count + 1)) }
                    if let value { if name == "--venv" { venv = value } else { agent = value } }
                }
                k += 1
            }
            guard found, k + 1 < words.count else {
                scan.unresolved.append(Problem(path: file, reason: "\(place(0)): guarded-run with no COMMAND after '--'"))
                return
            }
            index = k + 1
        }
        let command = words[index]
        if command.contains("${") || command.contains("$") || (specifier.map { command.contains($0) } ?? false) {
            scan.unresolved.append(Problem(path: file, reason: "\(place(index)): '\(printable(command))' names a path only the supervisor or client can resolve"))
            return
        }
        // A bare name is looked up on PATH by the supervisor or client: not one of the fleet's venvs.
        guard command.hasPrefix("/") else { return }
        scan.started.append(Started(file: file, place: place(index), command: command, venv: venv, agent: agent))
    }

    /// The venvs the started commands run from, and the paths that are gone. A command outside any
    /// venv (a system interpreter, a binary) is not the venv doctor's business and is left out.
    public static func resolve(_ scan: Scan, state: StateDirectory?) -> Resolved {
        var r = Resolved()
        var seen: Set<String> = []
        for s in scan.started {
            if let agent = s.agent, !r.agents.contains(agent) { r.agents.append(agent) }
            let venv: String?
            if let given = s.venv {
                let v = normalizedPath(absolutePath(given, relativeTo: parentDirectory(of: s.file)))
                guard isDirectory(v) else { r.missing.append(Started(file: s.file, place: s.place + " (--venv)", command: v, venv: nil, agent: s.agent)); continue }
                venv = v
            } else {
                // lstat: a venv's python whose base interpreter is gone still exists (a dangling
                // link): that venv is broken, which the check reports; only an absent path is missing.
                guard fileStatusIfPresent(s.command) != nil else { r.missing.append(s); continue }
                venv = venvOf(s.command, state: state)
            }
            if let venv, seen.insert(venv).inserted { r.venvs.append(venv) }
            if let venv, s.agent == nil, !r.venvsWithoutAgent.contains(venv) { r.venvsWithoutAgent.append(venv) }
        }
        return r
    }

    static func venvOf(_ command: String, state: StateDirectory?) -> String? {
        if let state { return venvContaining(command: command, state: state) }
        let bin = parentDirectory(of: normalizedPath(command))
        guard baseName(of: bin) == "bin" else { return nil }
        let venv = parentDirectory(of: bin)
        return fileStatusIfPresent(venv + "/pyvenv.cfg", followSymlinks: true)?.isRegularFile == true ? venv : nil
    }
}
