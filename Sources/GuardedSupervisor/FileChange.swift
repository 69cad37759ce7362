/// One setting a wrap, unwrap or convert changes in a file: its key, and its value before and
/// after as text (nil: absent). The dry run prints these, `--json` lists them.
public struct FileChange: Equatable, Sendable {
    public var key: String
    public var before: String?
    public var after: String?

    public init(key: String, before: String?, after: String?) {
        self.key = key
        self.before = before
        self.after = after
    }

    /// The top-level keys whose values differ between two plist dictionaries: the old keys in
    /// their order, then the new ones.
    static func between(_ old: PlistValue, _ new: PlistValue) -> [FileChange] {
        let oldEntries = old.entries ?? [], newEntries = new.entries ?? []
        var changes: [FileChange] = []
        for e in oldEntries where new[e.key] != e.value {
            changes.append(FileChange(key: e.key, before: e.value.compactText, after: new[e.key]?.compactText))
        }
        for e in newEntries where old[e.key] == nil {
            changes.append(FileChange(key: e.key, before: nil, after: e.value.compactText))
        }
        return changes
    }

    /// `KEY: BEFORE -> AFTER`, as the dry run prints it.
    public var line: String { "\(key): \(before ?? "(absent)") -> \(after ?? "(absent)")" }
}

extension PlistValue {
    /// One line in the old NeXTSTEP plist style (`{SuccessfulExit = false; Crashed = true}`,
    /// `["a", "b"]`), for showing a value to the operator.
    public var compactText: String {
        switch self {
        case .string(let s): return LaunchdWrap.quoted(s)
        case .integer(let t), .real(let t), .date(let t): return t
        case .boolean(let b): return b ? "true" : "false"
        case .data(let bytes): return "<\(bytes.count) bytes>"
        case .array(let items): return "[" + items.map(\.compactText).joined(separator: ", ") + "]"
        case .dictionary(let entries): return "{" + entries.map { "\($0.key) = \($0.value.compactText)" }.joined(separator: "; ") + "}"
        }
    }
}
