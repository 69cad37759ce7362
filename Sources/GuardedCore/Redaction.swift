import GuardedSystem

/// The second layer of "no environment value in any reason": before a reason or an error line is
/// logged or printed, every occurrence of an environment value that could be a secret is replaced
/// by `[redacted]` (the first layer is the probe's: an import failure is reported by its type and
/// file:line, never its message). The probe applies the same rules to its output (ProbeLibrary.swift).
///
/// Which values: a variable whose name looks secret (TOKEN, KEY, SECRET, PASSWORD, AUTH, COOKIE,
/// SESSION, PRIVATE, ...) with a value of 4 or more characters, wherever it occurs; any other value of
/// 8 or more characters, except where it is a component of a path (a user name in `/home/u/...`).
/// Never redacted: paths and path lists (the reasons are about files), `true`/`false`/`yes`/`no`/
/// `on`/`off`/`none`/`null`, and short values (`1`, `C`, `root`), which would mangle every reason
/// while hiding nothing.
public enum Redaction {
    public static let marker = "[redacted]"
    static let secretWords = ["TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "PASS", "CREDENTIAL", "AUTH", "COOKIE",
                              "SESSION", "PRIVATE", "SIGNATURE", "SALT", "DSN", "API"]
    static let plainWords: Set<String> = ["true", "false", "yes", "no", "on", "off", "none", "null"]

    struct Secret: Sendable {
        var value: [UInt8]
        /// A secret-looking name: redacted even inside a path.
        var strict: Bool
    }

    /// This process's environment, read once.
    static let secrets: [Secret] = secrets(in: Environment.all())

    /// `text` with this process's secret-looking environment values replaced.
    public static func apply(_ text: String) -> String { apply(text, secrets) }

    /// `text` with the values of `environment` (`NAME=value` entries) replaced: for tests.
    public static func apply(_ text: String, environment: [String]) -> String { apply(text, secrets(in: environment)) }

    static func secrets(in environment: [String]) -> [Secret] {
        var found: [Secret] = []
        for entry in environment {
            guard let eq = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(entry[..<eq]).uppercased()
            let value = String(entry[entry.utf8.index(after: eq)...])
            guard !value.isEmpty, !isPath(value), !plainWords.contains(value.lowercased()) else { continue }
            let strict = secretWords.contains { name.contains($0) }
            if value.utf8.count >= (strict ? 4 : 8) { found.append(Secret(value: Array(value.utf8), strict: strict)) }
        }
        // Longest first, so a value that contains another is replaced whole.
        return found.sorted { $0.value.count > $1.value.count }
    }

    static func isPath(_ value: String) -> Bool {
        if value.hasPrefix("/") || value.hasPrefix("~/") || value.hasPrefix("./") || value.hasPrefix("../") { return true }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 1 && parts.allSatisfy { $0.isEmpty || $0.hasPrefix("/") }
    }

    static func apply(_ text: String, _ secrets: [Secret]) -> String {
        guard !secrets.isEmpty, !text.isEmpty else { return text }
        var bytes = Array(text.utf8)
        var changed = false
        let slash = UInt8(ascii: "/")
        for secret in secrets {
            let v = secret.value
            guard bytes.count >= v.count else { continue }
            var out: [UInt8] = []
            var i = 0, replaced = false
            while i < bytes.count {
                if bytes[i] == v[0], bytes.count - i >= v.count, bytes[i..<(i + v.count)].elementsEqual(v) {
                    let end = i + v.count
                    let inPath = (i > 0 && bytes[i - 1] == slash) || (end < bytes.count && bytes[end] == slash)
                    if secret.strict || !inPath {
                        // Until the first replacement nothing is copied; then everything before it is.
                        if !replaced { out.reserveCapacity(bytes.count); out.append(contentsOf: bytes[..<i]) }
                        replaced = true
                        out.append(contentsOf: Redaction.marker.utf8)
                        i = end
                        continue
                    }
                    if replaced { out.append(contentsOf: bytes[i..<end]) }
                    i = end
                    continue
                }
                if replaced { out.append(bytes[i]) }
                i += 1
            }
            if replaced { bytes = out; changed = true }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }
}
