import GuardedSystem

extension SnapshotStore {
    /// `snapshot diff ID --patch`: what a restore would do to the text of the files, as a unified
    /// diff from the files as they are now (`a/`) to the snapshot (`b/`), paths without their
    /// leading `/` (so `patch -p1 -d /` or `git apply --directory=/`-style tools apply it, and
    /// `patch -R` shows the change since the snapshot). What a text patch cannot say (types,
    /// modes, owners, symlinks, directories, binary or too large files) is one `# ` line each,
    /// which patch and git apply skip as commentary.
    public func patch(_ manifest: SnapshotManifest, plan: RestorePlan) throws(SnapshotError) -> [UInt8] {
        let blobs = blobs()
        var out: [UInt8] = []
        func note(_ path: String, _ what: String) { out += Array("# \(quotedPatchPath(path)): \(what)\n".utf8) }
        func file(_ path: String, old: [UInt8]?, new: [UInt8]?) {
            let hunks = UnifiedDiff.hunks(old: old ?? [], new: new ?? [])
            if hunks.isEmpty {
                if old == nil || new == nil { note(path, old == nil ? "create empty file" : "delete empty file") }
                return
            }
            out += Array("--- \(old == nil ? "/dev/null" : patchName("a", path))\n".utf8)
            out += Array("+++ \(new == nil ? "/dev/null" : patchName("b", path))\n".utf8)
            out += hunks
        }
        for item in plan.items {
            let changes: [String]
            switch item.action {
            case .unchanged: continue
            case .create: changes = []
            case .modify(let c): changes = c
            }
            let others = changes.filter { $0 != "content" }
            if !others.isEmpty { note(item.path, others.joined(separator: ", ")) }
            guard item.entry.type == .file else {
                if item.action == .create {
                    note(item.path, item.entry.type == .directory ? "create directory" : "create symlink -> \(item.entry.target ?? "")")
                } else if changes.contains("target") {
                    note(item.path, "symlink target -> \(item.entry.target ?? "")")
                }
                continue
            }
            let replacesOther = changes.contains { $0.hasPrefix("type ") }
            guard item.action == .create || changes.contains("content") || replacesOther else { continue }
            let now = replacesOther ? nil : currentText(item.path)
            if item.action != .create && !replacesOther && now == nil {
                note(item.path, "binary or too large; content not shown")
                continue
            }
            guard item.entry.size <= Int64(UnifiedDiff.maxBytes) else {
                note(item.path, "binary or too large; content not shown")
                continue
            }
            let restored = try blobs.read(item.entry.sha256 ?? "", size: item.entry.size)
            guard UnifiedDiff.isDiffable(restored) else {
                note(item.path, "binary or too large; content not shown")
                continue
            }
            file(item.path, old: now, new: restored)
        }
        for path in plan.delete {
            guard let st = fileStatusIfPresent(path), st.isRegularFile else {
                note(path, "delete (not a regular file)")
                continue
            }
            guard let now = currentText(path) else { note(path, "delete; binary or too large, content not shown"); continue }
            file(path, old: now, new: nil)
        }
        return out
    }

    /// The current content of a regular file when it is diffable text, opened as a restore
    /// opens it: its directory walked from `/` without symlinks, then the name with O_NOFOLLOW.
    private func currentText(_ path: String) -> [UInt8]? {
        guard let directory = try? openDirectoryStrictly(parentDirectory(of: path)) else { return nil }
        guard let fd = try? directory.openAt(baseName(of: path), [.readOnly, .noFollow, .nonBlocking]) else { return nil }
        guard let st = try? fd.status(), st.isRegularFile, st.size <= Int64(UnifiedDiff.maxBytes),
              let bytes = try? readAllSized(fd, expected: Int(st.size), limit: UnifiedDiff.maxBytes, path: path),
              UnifiedDiff.isDiffable(bytes) else { return nil }
        return bytes
    }
}

/// `a/etc/x.service`: the absolute path without its `/`, quoted as git quotes names.
func patchName(_ side: String, _ path: String) -> String {
    let name = side + "/" + String(path.drop(while: { $0 == "/" }))
    let quoted = quotedPatchPath(name)
    // As git: a name with a space ends with a tab, so patch does not take a date from its end.
    return quoted == name && name.contains(" ") ? name + "\t" : quoted
}

/// A path as git's C-style quoting has it when it holds a control character, `"` or `\`.
func quotedPatchPath(_ path: String) -> String {
    guard path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return path }
    var out: [UInt8] = [UInt8(ascii: "\"")]
    for b in path.utf8 {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
        case UInt8(ascii: "\t"): out += Array("\\t".utf8)
        case UInt8(ascii: "\n"): out += Array("\\n".utf8)
        case ..<0x20, 0x7f:
            let octal = String(b, radix: 8)
            out += Array(("\\" + String(repeating: "0", count: 3 - octal.count) + octal).utf8)
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
}
