/// A plist file being edited at its top level (launchd's keys all live there). An XML file is
/// rewritten by splicing: only the edited entries change, every other byte (comments, layout,
/// entity spelling, key order) stays as it was. A binary file is written back whole, as XML.
public struct PlistDocument: Sendable {
    public enum Format: Equatable, Sendable { case xml, binary }

    public let format: Format
    public let original: [UInt8]
    public private(set) var root: PlistValue
    let xml: XMLPlist?
    var edits: [Edit] = []

    enum Edit: Sendable {
        case set(key: String, value: PlistValue, after: String?)
        case remove(key: String)
    }

    public init(_ bytes: [UInt8]) throws(PlistError) {
        original = bytes
        if BinaryPlist.isBinary(bytes) {
            format = .binary
            root = try BinaryPlist.read(bytes)
            xml = nil
        } else {
            format = .xml
            let parsed = try XMLPlist(bytes)
            root = parsed.root
            xml = parsed
        }
        guard let entries = root.entries else { throw PlistError("the top level is not a <dict>") }
        var seen: Set<String> = []
        for e in entries {
            guard seen.insert(e.key).inserted else { throw PlistError("duplicate key '\(e.key)'") }
        }
    }

    public var isChanged: Bool { !edits.isEmpty }

    /// Sets `key` to `value`: in place when present, else inserted after the entry `after`
    /// (or at the end).
    public mutating func set(_ key: String, _ value: PlistValue, after: String? = nil) {
        guard var entries = root.entries else { return }
        if let k = entries.firstIndex(where: { $0.key == key }) {
            if entries[k].value == value { return }
            entries[k].value = value
        } else if let after, let k = entries.firstIndex(where: { $0.key == after }) {
            entries.insert(PlistEntry(key, value), at: k + 1)
        } else {
            entries.append(PlistEntry(key, value))
        }
        root = .dictionary(entries)
        edits.removeAll { if case .set(let k, _, _) = $0 { return k == key } else { return false } }
        edits.append(.set(key: key, value: value, after: after))
    }

    public mutating func remove(_ key: String) {
        guard var entries = root.entries, let k = entries.firstIndex(where: { $0.key == key }) else { return }
        entries.remove(at: k)
        root = .dictionary(entries)
        edits.append(.remove(key: key))
    }

    /// The file's new bytes. A splice is checked by reading it back; should it ever not read back
    /// as the edited tree, the whole document is written instead.
    public func serialized() -> [UInt8] {
        if !isChanged && format == .xml { return original }
        if let spliced = splice(), let check = try? XMLPlist(spliced), check.root == root { return spliced }
        return Array(PlistWriter.document(root).utf8)
    }

    func splice() -> [UInt8]? {
        guard let xml, !xml.spans.isEmpty else { return nil }
        let b = original
        var replacements: [(start: Int, end: Int, text: [UInt8])] = []
        var insertions: [Int: [UInt8]] = [:]
        func indent(_ at: Int) -> String {
            var k = at
            while k > 0 && (b[k - 1] == 32 || b[k - 1] == 9) { k -= 1 }
            if k == 0 || b[k - 1] == 10 { return String(decoding: b[k..<at], as: UTF8.self) }
            return "\t"
        }
        let spanOf = { (key: String) in xml.spans.first(where: { $0.key == key }) }
        // Edits touching an entry that an earlier edit inserted are folded into that insertion.
        var inserted: [String: (anchor: Int, value: PlistValue)] = [:]
        var insertOrder: [String] = []
        for edit in edits {
            switch edit {
            case .set(let key, let value, let after):
                if let span = spanOf(key) {
                    let text = PlistWriter.element(value, indent: indent(span.keyStart))
                    replacements.removeAll { $0.start == span.valueStart }
                    replacements.append((span.valueStart, span.valueEnd, Array(text.utf8)))
                } else {
                    let anchor = after.flatMap(spanOf) ?? xml.spans.last!
                    if inserted[key] == nil { insertOrder.append(key) }
                    inserted[key] = (anchor.valueEnd, value)
                }
            case .remove(let key):
                if let span = spanOf(key) {
                    var start = span.keyStart
                    var k = start
                    while k > 0 && (b[k - 1] == 32 || b[k - 1] == 9) { k -= 1 }
                    if k > 0 && b[k - 1] == 10 { start = k - 1 }
                    replacements.removeAll { $0.start == span.valueStart }
                    replacements.append((start, span.valueEnd, []))
                } else if inserted.removeValue(forKey: key) != nil {
                    insertOrder.removeAll { $0 == key }
                }
            }
        }
        for key in insertOrder {
            guard let (anchor, value) = inserted[key] else { continue }
            let anchorSpan = xml.spans.first(where: { $0.valueEnd == anchor })!
            let pad = indent(anchorSpan.keyStart)
            let text = "\n" + pad + "<key>" + PlistWriter.escape(key) + "</key>\n" + pad + PlistWriter.element(value, indent: pad)
            insertions[anchor, default: []].append(contentsOf: Array(text.utf8))
        }
        // An insertion after an entry that is itself removed or replaced goes after its range.
        var pieces: [(start: Int, end: Int, text: [UInt8])] = replacements
        for (at, text) in insertions {
            if let k = pieces.firstIndex(where: { $0.end == at }) { pieces[k].text += text } else { pieces.append((at, at, text)) }
        }
        pieces.sort { $0.start < $1.start }
        var out: [UInt8] = []
        var cursor = 0
        for p in pieces {
            guard p.start >= cursor else { return nil }
            out.append(contentsOf: b[cursor..<p.start])
            out.append(contentsOf: p.text)
            cursor = p.end
        }
        out.append(contentsOf: b[cursor...])
        return out
    }
}
