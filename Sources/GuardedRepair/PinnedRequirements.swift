import GuardedCore
import GuardedSystem

/// One line of the pinned requirements file every rebuild installs from, whatever the source:
/// `name==version`, `name @ url`, or `-e /path`, with an optional environment marker and hashes.
struct PinnedRequirement: Sendable, Equatable {
    /// The normalized name (PEP 503), or "" for an editable path whose name is not known.
    var name: String
    /// The requirement without marker and hashes: `alpha==1.0`, `beta @ file:///w/beta.whl`, `-e /srv/mail`.
    var requirement: String
    var marker: String?
    /// `sha256:…` each; carried into the file only when every line has some (pip's and uv's hash mode
    /// is all or nothing).
    var hashes: [String] = []
    /// Exactly pinned: `==version`, a direct URL, a local path or an editable project.
    var pinned: Bool = true

    var editable: Bool { requirement.hasPrefix("-e ") }

    func line(withHashes: Bool) -> String {
        var s = requirement
        // A space before the `;`: after a URL it is required, elsewhere harmless.
        if let marker, !marker.isEmpty { s += " ; " + marker }
        if withHashes { for h in hashes { s += " --hash=" + h } }
        return s
    }
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
func normalizedProjectName(_ name: String) -> String {
    var out = ""
    var lastWasSeparator = false
    for c in name.lowercased() {
        if c == "-" || c == "_" || c == "." {
            if !lastWasSeparator { out.append("-") }
            lastWasSeparator = true
        } else {
            out.append(c)
            lastWasSeparator = false
        }
    }
    return out
}

/// A project or distribution name as PEP 508 allows it (letters, digits, `-_.`, starting and ending
/// with a letter or digit): anything else from a lock file is refused, so no text from a file ever
/// becomes an installer option.
func isValidProjectName(_ name: String) -> Bool {
    guard let f = name.unicodeScalars.first, let l = name.unicodeScalars.last, name.utf8.count <= 200 else { return false }
    func alnum(_ u: Unicode.Scalar) -> Bool { (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") }
    return alnum(f) && alnum(l) && name.unicodeScalars.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
}

/// A version as lock files write them (PEP 440 characters only).
func isValidVersion(_ v: String) -> Bool {
    !v.isEmpty && v.utf8.count <= 100 && v.unicodeScalars.allSatisfy {
        ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "+" || $0 == "-" || $0 == "_" || $0 == "!"
    }
}

/// Text that goes into a requirements line as it is (a marker, a URL): one line, no control
/// characters, and nothing that would start a new option.
func isSafeLineText(_ s: String) -> Bool {
    s.utf8.count <= 4096 && !s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } && !s.contains(" -")
}

/// A `sha256:<hex>` (or `sha256=<hex>`) hash, normalized to `sha256:<hex>`; nil otherwise.
func normalizedHash(_ text: String) -> String? {
    for prefix in ["sha256:", "sha256="] where text.hasPrefix(prefix) {
        let hex = text.dropFirst(prefix.count)
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return "sha256:" + hex.lowercased()
    }
    return nil
}

/// A `file://` URL's path (percent-decoded), or nil for other URLs.
func filePath(fromURL url: String) -> String? {
    guard url.hasPrefix("file://") else { return nil }
    var rest = Substring(url.dropFirst(7))
    if rest.hasPrefix("localhost/") { rest = rest.dropFirst(9) }
    guard rest.hasPrefix("/") else { return nil }
    var out: [UInt8] = []
    var bytes = Array(rest.utf8)[...]
    while let b = bytes.first {
        bytes = bytes.dropFirst()
        if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
            out.append(v)
            bytes = bytes.dropFirst(2)
        } else {
            out.append(b)
        }
    }
    guard let path = String(validating: out, as: UTF8.self), !path.contains("\0") else { return nil }
    return path
}

/// A local path as a `file://` URL (the characters a requirements line would misread are escaped).
func fileURL(_ path: String) -> String {
    var out = "file://"
    for b in path.utf8 {
        if b <= 0x20 || b >= 0x7F || b == UInt8(ascii: "%") || b == UInt8(ascii: "#") || b == UInt8(ascii: ";") || b == UInt8(ascii: "\\") {
            let hex = String(b, radix: 16, uppercase: true)
            out += "%" + (hex.count == 1 ? "0" + hex : hex)
        } else {
            out.unicodeScalars.append(Unicode.Scalar(b))
        }
    }
    return out
}

/// The text of the pinned requirements file: one requirement a line; hashes only when every line has them.
func pinnedRequirementsText(_ list: [PinnedRequirement]) -> String {
    let withHashes = !list.isEmpty && list.allSatisfy { !$0.hashes.isEmpty && !$0.editable }
    return "# written by \(programName) for a rebuild; every source becomes this one file\n"
        + list.map { $0.line(withHashes: withHashes) + "\n" }.joined()
}
