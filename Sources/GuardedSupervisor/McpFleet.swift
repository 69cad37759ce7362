import GuardedCore
import GuardedSnapshot
import GuardedSystem

/// `wrap mcp` and `unwrap mcp` over many config files: each read, edited in memory and shown;
/// with `force`, one snapshot of every file to be written, then each rewritten atomically.
public enum McpFleet {
    public static func wrap(_ files: [String], options: McpWrap.Options, force: Bool, state: StateDirectory) -> WrapReport {
        var taken: Set<String> = []
        return edit(files, force: force, state: state, verb: "wrap") { bytes, client in
            let result = McpWrap.wrap(bytes, client: client, options: options, taken: taken) { command in
                venvContaining(command: command, state: state)
            }
            if case .success(let edit) = result {
                for e in edit.entries {
                    switch e.outcome {
                    case .wrapped(let agent, _, _, _), .alreadyWrapped(let agent?): taken.insert(agent)
                    default: break
                    }
                }
            }
            return result
        }
    }

    public static func unwrap(_ files: [String], force: Bool, state: StateDirectory) -> WrapReport {
        edit(files, force: force, state: state, verb: "unwrap") { bytes, client in McpWrap.unwrap(bytes, client: client) }
    }

    /// A config file read for editing.
    struct Loaded {
        var path: String
        var status: FileStatus
        var client: McpClient
        var edit: McpWrap.Edit
        var actingAs: (uid: UInt32, gid: UInt32)?
    }

    static func edit(_ files: [String], force: Bool, state: StateDirectory, verb: String,
                     _ change: ([UInt8], McpClient) -> Result<McpWrap.Edit, McpConfigError>) -> WrapReport {
        var report = WrapReport()
        let home = Environment.homeDirectory()
        var loaded: [(String, Result<Loaded, Error>)] = []
        for file in files {
            do {
                let st = try fileStatus(file)
                let actingAs = userActingFor(file, owner: st.uid, group: st.gid)
                if st.isSymbolicLink { throw McpConfigError("is a symlink; pass the file it points to") }
                guard st.isRegularFile else { throw McpConfigError("not a regular file") }
                let bytes = try readFile(file, limit: McpConfig.maxBytes + 1)
                let client = McpClient.of(path: normalizedPath(absolutePath(file, relativeTo: currentDirectory())), home: home)
                switch change(bytes, client) {
                case .failure(let error): throw error
                case .success(let edit): loaded.append((file, .success(Loaded(path: file, status: st, client: client, edit: edit, actingAs: actingAs))))
                }
            } catch { loaded.append((file, .failure(error))) }
        }
        let writes = loaded.compactMap { file, r -> String? in
            if case .success(let l) = r, l.edit.isChanged { return file } else { return nil }
        }
        if force && !writes.isEmpty {
            guard takeSnapshot(writes, label: "\(verb) mcp", state: state, report: &report) != nil else { return report }
        }
        for (file, result) in loaded {
            let l: Loaded
            switch result {
            case .failure(let error as McpConfigError): report.refuse(file, error.message); continue
            case .failure(let error): report.fail(file, error); continue
            case .success(let found): l = found
            }
            guard let key = l.edit.serversKey else {
                report.lines.append("\(file): unchanged (no mcpServers or servers)")
                report.results.append(FileResult(path: file, action: .unchanged, reason: "no mcpServers or servers"))
                continue
            }
            var result = FileResult(path: file, action: .write, files: [file])
            if !l.edit.isChanged {
                let reason = verb == "wrap" ? "nothing to wrap" : "nothing wrapped"
                report.lines.append("\(file): unchanged (\(reason))")
                result = FileResult(path: file, action: .unchanged, reason: reason)
            } else if !force {
                report.lines.append("\(file): would \(verb):")
            } else {
                do {
                    // A client may have rewritten the file since it was read: never write over that.
                    try rewriteOperatorFile(file, read: l.edit.original, l.edit.bytes, status: l.status, actingAs: l.actingAs)
                    report.lines.append("\(file): \(verb == "wrap" ? "wrapped" : "unwrapped"):")
                } catch let error as ChangedWhileEditing {
                    report.refuse(file, error.description); continue
                } catch { report.fail(file, error); continue }
            }
            if verb == "wrap", l.edit.isChanged, let project = l.client.project, let work = gitWorkTree(containing: project) {
                let warning = "a project-scope config inside the git work tree \(work): usually committed and shared, and teammates' venv paths differ; prefer the user-scope config"
                report.lines.append("    warning: " + warning + (force ? "" : " (--force wraps it anyway)"))
                result.warnings.append(warning)
            }
            for e in l.edit.entries {
                describe(e, key: key, verb: verb, force: force, into: &report)
                record(e, key: key, into: &result)
            }
            report.results.append(result)
        }
        report.finish(changes: writes.count, force: force,
                      next: "restart the MCP client (or reload its servers) so it reads the new config (docs/mcp.md)",
                      dryRun: "nothing written; --force rewrites the configs after taking a snapshot")
        return report
    }

    static func describe(_ e: McpWrap.Entry, key: String, verb: String, force: Bool, into report: inout WrapReport) {
        let place = "\(printable(key)).\(printable(e.key)) (line \(e.line))"
        func words(_ list: [String]) -> String { JSONValue(list).serialized() }
        switch e.outcome {
        case .wrapped(let agent, let venv, let command, let now):
            report.lines.append("    \(place): \(force ? "wrapped" : "would wrap") as agent \(agent) (venv \(venv)):")
            report.lines.append("      - \(words(command))")
            report.lines.append("      + \(words(now))")
        case .unwrapped(_, let command):
            report.lines.append("    \(place): \(force ? "unwrapped" : "would unwrap") to \(words(command))")
        case .alreadyWrapped(let agent):
            report.lines.append("    \(place): already wrapped" + (agent.map { " (agent \($0))" } ?? ""))
        case .notWrapped:
            if verb == "unwrap" { report.lines.append("    \(place): not wrapped") }
        case .leftAlone(let reason):
            report.lines.append("    \(place): left alone: \(printable(reason))")
        }
    }

    /// An entry in the file's `--json` result: each command line changed under `changes` (`key`
    /// is `SERVERS.NAME`, `before`/`after` the command and arguments as a JSON array), each entry
    /// left alone under `warnings` with its reason.
    static func record(_ e: McpWrap.Entry, key: String, into result: inout FileResult) {
        let place = "\(key).\(e.key)"
        func words(_ list: [String]) -> String { JSONValue(list).serialized() }
        switch e.outcome {
        case .wrapped(_, _, let command, let now):
            result.changes.append(FileChange(key: place, before: words(command), after: words(now)))
        case .unwrapped(let wrapped, let command):
            result.changes.append(FileChange(key: place, before: words(wrapped), after: words(command)))
        case .leftAlone(let reason):
            result.warnings.append("\(place) (line \(e.line)): left alone: \(reason)")
        case .alreadyWrapped, .notWrapped:
            break
        }
    }

    /// The work tree holding `directory` (a `.git` entry in it or a parent), or nil.
    public static func gitWorkTree(containing directory: String) -> String? {
        var d = normalizedPath(directory)
        for _ in 0..<256 {
            if fileStatusIfPresent(d == "/" ? "/.git" : d + "/.git") != nil { return d }
            if d == "/" { return nil }
            d = parentDirectory(of: d)
        }
        return nil
    }
}
