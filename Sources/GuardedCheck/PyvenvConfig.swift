import GuardedSystem

/// The `key = value` lines of a venv's pyvenv.cfg (as Python's getpath and site read them).
public struct PyvenvConfig: Sendable {
    public var values: [String: String] = [:]

    public init(text: String) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmed().lowercased()
            let value = line[line.index(after: eq)...].trimmed()
            if !key.isEmpty { values[key] = value }
        }
    }

    public static func load(venv: String) throws(SystemError) -> PyvenvConfig {
        PyvenvConfig(text: try readTextFile(venv + "/pyvenv.cfg", followSymlinks: true, limit: 1 << 16))
    }

    public var home: String? { values["home"] }
    /// `X.Y` from `version` (venv) or `version_info` (virtualenv, uv).
    public var majorMinor: String? {
        guard let v = values["version"] ?? values["version_info"] else { return nil }
        return GuardedCheck.majorMinor(of: v)
    }
    public var fullVersion: String? { values["version"] ?? values["version_info"] }
    public var executable: String? { values["executable"] }
}

/// `3.11` from `3.11.7`, `3.11.7.final.0` or `3.11`.
public func majorMinor(of version: String) -> String? {
    let parts = version.split(separator: ".")
    guard parts.count >= 2, Int(parts[0]) != nil, Int(parts[1]) != nil else { return nil }
    return "\(parts[0]).\(parts[1])"
}

extension Substring {
    func trimmed() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
