import GuardedCore
import GuardedSystem

/// What `snapshot list` and `show` print, as text and as JSON.
extension SnapshotManifest {
    /// One object of `list --json`.
    public func summaryJSON() -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("id", JSONValue(id)), ("time", JSONValue(time)), ("kind", JSONValue(kind.rawValue)),
            ("label", .optional(label)), ("tag", .optional(tag)), ("host", JSONValue(host)),
            ("files", JSONValue(fileCount)), ("entries", JSONValue(entries.count)), ("bytes", .number(Double(totalBytes))),
            ("roots", JSONValue(roots.map(\.path))), ("manifest_sha256", JSONValue(sha256)),
        ]
        if let guards { pairs.insert(("guards", JSONValue(guards)), at: 3) }
        return .object(pairs)
    }

    /// `show --json`: the manifest itself plus its own hash.
    public func detailJSON() -> JSONValue {
        guard case .object(var pairs) = json() else { return json() }
        pairs.append(("manifest_sha256", JSONValue(sha256)))
        return .object(pairs)
    }

    public func detailText() -> String {
        var out = "id:               \(id)\nkind:             \(kind.rawValue)"
        if let guards { out += " (guards the restore of \(guards))" }
        out += "\nlabel:            \(label ?? "-")\ntag:              \(tag ?? "-")\ntime:             \(time)\n"
        out += "host:             \(host)\nmanifest sha256:  \(sha256)\n"
        out += "entries:          \(entries.count) (\(fileCount) files, \(totalBytes) bytes)\nroots:\n"
        for root in roots {
            out += "  \(root.path)"
            if let patterns = root.patterns { out += " (matching \(patterns.joined(separator: ", ")))" }
            if let git = root.git {
                out += "\n    git: \(git.repository) \(git.branch ?? "(detached)") \(git.commit.map { String($0.prefix(12)) } ?? "(no commit)")"
                out += git.dirty ? " dirty" : " clean"
            }
            out += "\n"
        }
        out += "entries:\n"
        for e in entries {
            let mode = e.type == .symlink ? "   -" : String(e.mode, radix: 8).leftPadded(to: 4)
            let size = e.type == .directory ? "-" : String(e.size)
            let hash = e.sha256 ?? "-"
            var line = "  \(typeName(e.type).rightPadded(to: 10)) \(mode) \(e.uid):\(e.gid) \(size.leftPadded(to: 9)) \(hash.rightPadded(to: 64)) \(absolutePath(of: e))"
            if let target = e.target { line += " -> \(target)" }
            out += line + "\n"
        }
        return out
    }
}

/// `list` as a table, oldest first.
public func snapshotListText(_ items: [(id: String, manifest: SnapshotManifest?, problem: String?)]) -> String {
    var out = "ID".rightPadded(to: 28) + "TIME".rightPadded(to: 21) + "KIND".rightPadded(to: 12) + "FILES".leftPadded(to: 6) + "  LABEL [TAG]\n"
    for item in items {
        guard let m = item.manifest else {
            out += item.id.rightPadded(to: 28) + "DAMAGED: \(item.problem ?? "")\n"
            continue
        }
        let time = String(m.time.prefix(19)) + "Z"
        var label = m.label ?? ""
        if let tag = m.tag { label += (label.isEmpty ? "" : " ") + "[\(tag)]" }
        out += m.id.rightPadded(to: 28) + time.rightPadded(to: 21) + m.kind.rawValue.rightPadded(to: 12)
            + String(m.fileCount).leftPadded(to: 6) + "  " + label + "\n"
    }
    return out
}

public func snapshotListJSON(_ items: [(id: String, manifest: SnapshotManifest?, problem: String?)]) -> JSONValue {
    .object([("snapshots", .array(items.map { item in
        item.manifest?.summaryJSON() ?? .object([("id", JSONValue(item.id)), ("damaged", JSONValue(item.problem ?? "damaged"))])
    }))])
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func rightPadded(to width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
