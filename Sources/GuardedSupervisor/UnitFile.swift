import GuardedSystem

/// A systemd unit file or drop-in, read the way systemd's config parser reads it
/// (systemd.syntax(7)): `[Section]` headers, `Key=Value` with whitespace around both trimmed,
/// `#` and `;` comment lines, and a line ending in an unescaped backslash continued on the next
/// (the backslash becomes a space; comment lines inside a continuation are skipped).
public struct UnitFile: Sendable {
    public struct Assignment: Equatable, Sendable {
        public var section: String
        public var key: String
        /// The value with surrounding whitespace removed, continuations joined: still quoted.
        public var value: String
        /// The 1-based line the assignment starts on.
        public var line: Int
    }

    public let path: String
    public private(set) var assignments: [Assignment] = []

    public init(path: String, text: String) throws(SystemdSyntaxError) {
        self.path = path
        var section: String? = nil
        var pending: String? = nil
        var pendingLine = 0
        var lineNumber = 0
        // Split on bytes: as Characters, "\r\n" is one grapheme and would not split on "\n".
        for rawLine in text.utf8.split(separator: 10, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = String(decoding: rawLine, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            // systemd skips a UTF-8 byte order mark at the start of a file (editors on Windows
            // write one); so must we, or a unit systemd runs would be refused as unparsable.
            if lineNumber == 1 && line.unicodeScalars.first == "\u{FEFF}" { line.unicodeScalars.removeFirst() }
            if pending != nil {
                let trimmed = UnitFile.trim(line)
                if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            }
            let joined = (pending ?? "") + line
            if pending == nil { pendingLine = lineNumber }
            if UnitFile.endsInContinuation(joined) {
                pending = String(joined.dropLast()) + " "
                continue
            }
            pending = nil
            let trimmed = UnitFile.trim(joined)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count >= 2 else {
                    throw SystemdSyntaxError("line \(pendingLine): invalid section header '\(trimmed)'")
                }
                section = String(trimmed.dropFirst().dropLast())
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw SystemdSyntaxError("line \(pendingLine): missing '='")
            }
            guard let section else {
                throw SystemdSyntaxError("line \(pendingLine): assignment outside of a section")
            }
            assignments.append(Assignment(section: section, key: UnitFile.trim(String(trimmed[..<eq])),
                                          value: UnitFile.trim(String(trimmed[trimmed.index(after: eq)...])),
                                          line: pendingLine))
        }
        if let pending {
            // A continuation at end of file: systemd parses what it has.
            let trimmed = UnitFile.trim(pending)
            if let eq = trimmed.firstIndex(of: "="), let section, !trimmed.hasPrefix("#") {
                assignments.append(Assignment(section: section, key: UnitFile.trim(String(trimmed[..<eq])),
                                              value: UnitFile.trim(String(trimmed[trimmed.index(after: eq)...])),
                                              line: pendingLine))
            }
        }
    }

    /// Reads and parses `path` (following a symlink: unit files are often links into /usr/lib).
    public static func read(_ path: String) throws -> UnitFile {
        try UnitFile(path: path, text: readTextFile(path, followSymlinks: true, limit: 4 << 20))
    }

    /// Every value of `key` in `section`, in order.
    public func values(_ section: String, _ key: String) -> [Assignment] {
        assignments.filter { $0.section == section && $0.key == key }
    }

    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f == " " || f == "\t" || f == "\r" || f == "\n" { sub.removeFirst() }
        while let l = sub.last, l == " " || l == "\t" || l == "\r" || l == "\n" { sub.removeLast() }
        return String(sub)
    }

    /// True when the line ends in a backslash that is not itself escaped (`\\` at the end is a
    /// literal backslash, not a continuation).
    static func endsInContinuation(_ line: String) -> Bool {
        var escaped = false
        for c in line.utf8 {
            if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true }
        }
        return escaped
    }
}

/// The ExecStart= commands and Type= a service ends up with after its unit file and drop-ins,
/// applied in order: an empty `ExecStart=` clears the list, every other one appends.
public struct ServiceCommands: Sendable {
    public var execStart: [UnitFile.Assignment] = []
    public var type: String = "simple"
    /// `User=` (the last one set), and whether `DynamicUser=` is on: the agent then runs as a
    /// user other than root and needs a state directory of its own.
    public var user: String?
    public var dynamicUser = false

    /// True when the service does not run as root.
    public var runsAsOtherUser: Bool {
        dynamicUser || (user.map { !$0.isEmpty && $0 != "root" && $0 != "0" } ?? false)
    }

    public init(_ files: [UnitFile]) {
        for file in files {
            for a in file.assignments where a.section == "Service" {
                if a.key == "User" {
                    user = a.value.isEmpty ? nil : a.value
                } else if a.key == "DynamicUser" {
                    dynamicUser = ["1", "yes", "true", "on"].contains(a.value.lowercased())
                } else if a.key == "ExecStart" {
                    if a.value.isEmpty { execStart.removeAll() } else { execStart.append(a) }
                } else if a.key == "Type" {
                    type = a.value.isEmpty ? "simple" : a.value
                }
            }
        }
    }
}
