import GuardedCore
import GuardedSystem

/// The MCP client a config file belongs to, told from where the file lives (docs/mcp.md).
public struct McpClient: Equatable, Sendable {
    /// `claude-desktop`, `claude-code`, `cursor`, `vscode`, or `mcp` for a file we do not recognise.
    public var name: String
    /// The key holding the servers: `mcpServers`, or `servers` for VS Code; nil when the file
    /// decides (an unrecognised file: `mcpServers` if it has one, else `servers`).
    public var serversKey: String?
    /// The project directory of a project-scope file (`.mcp.json`, `.vscode/`, `.cursor/` in a
    /// project); nil for a user-scope file.
    public var project: String?
    /// VS Code reads JSON with comments and trailing commas; the other clients strict JSON.
    public var allowsComments: Bool

    public static func of(path: String, home: String?) -> McpClient {
        let name = baseName(of: path)
        let dir = parentDirectory(of: path)
        let dirName = baseName(of: dir)
        let outer = parentDirectory(of: dir)
        let inHome = home.map { normalizedPath($0) == outer } ?? false
        switch (name, dirName) {
        case ("claude_desktop_config.json", _):
            return McpClient(name: "claude-desktop", serversKey: "mcpServers", project: nil, allowsComments: false)
        case (".mcp.json", _):
            return McpClient(name: "claude-code", serversKey: "mcpServers", project: dir, allowsComments: false)
        case (".claude.json", _):
            return McpClient(name: "claude-code", serversKey: "mcpServers", project: nil, allowsComments: false)
        case ("mcp.json", ".cursor"):
            return McpClient(name: "cursor", serversKey: "mcpServers", project: inHome ? nil : outer, allowsComments: false)
        case ("mcp.json", ".vscode"):
            return McpClient(name: "vscode", serversKey: "servers", project: outer, allowsComments: true)
        case ("mcp.json", "User"):
            // VS Code's user profile: ~/.config/Code/User, ~/Library/Application Support/Code/User.
            return McpClient(name: "vscode", serversKey: "servers", project: nil, allowsComments: true)
        default:
            return McpClient(name: "mcp", serversKey: nil, project: nil, allowsComments: true)
        }
    }

    /// The agent-name prefix: the client, and for a project-scope file the project's directory name,
    /// so the same server key in two clients or two projects names two agents.
    public var agentPrefix: String {
        name + "-" + (project.map { baseName(of: $0) + "-" } ?? "")
    }
}

/// A refusal of a whole file: one line, nothing written.
public struct McpConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An MCP config parsed with the byte range of every value, so edits replace only the bytes of
/// the values they change.
public struct McpConfig: Sendable {
    public let bytes: [UInt8]
    public let root: JSONValue
    let rootSpan: JSONSpan
    /// `mcpServers` or `servers`, or nil when the file has neither (nothing to do).
    public let serversKey: String?
    let servers: JSONSpan?

    /// Larger than any real client config (Claude Code's `~/.claude.json` with its history
    /// included), small enough to read whole.
    public static let maxBytes = 16 << 20

    public init(_ bytes: [UInt8], client: McpClient) throws(McpConfigError) {
        guard bytes.count <= McpConfig.maxBytes else { throw McpConfigError("larger than \(McpConfig.maxBytes >> 20) MiB") }
        // Clients read UTF-8; a file that is not would be rewritten into something they never read.
        guard String(validating: bytes, as: UTF8.self) != nil else { throw McpConfigError("not valid UTF-8") }
        guard let (root, span) = JSONValue.parseWithSpans(bytes: bytes, comments: client.allowsComments) else {
            throw McpConfigError(client.allowsComments ? "not valid JSON (with comments)" : "not valid JSON")
        }
        guard case .object = root else { throw McpConfigError("the top level is not an object") }
        self.bytes = bytes
        self.root = root
        self.rootSpan = span
        let key = client.serversKey ?? (span.member("mcpServers") != nil ? "mcpServers" : "servers")
        guard let member = McpConfig.unique(span, key) else { throw McpConfigError("'\(key)' appears more than once") }
        if let found = member {
            guard case .object? = root[key] else { throw McpConfigError("'\(key)' is not an object") }
            serversKey = key
            servers = found.value
        } else {
            serversKey = nil
            servers = nil
        }
        if let servers {
            var seen: Set<String> = []
            for m in servers.members where !seen.insert(m.key).inserted {
                throw McpConfigError("server '\(m.key)' appears more than once in '\(key)'")
            }
        }
    }

    /// The member `key` of an object span: .some(nil) when absent, nil when it appears twice.
    static func unique(_ span: JSONSpan, _ key: String) -> JSONSpan.Member?? {
        let found = span.members.filter { $0.key == key }
        if found.count > 1 { return nil }
        return .some(found.first)
    }

    /// Every server entry, in file order: its key, its span and its parsed value.
    public var entries: [(key: String, span: JSONSpan, value: JSONValue)] {
        guard let servers, let serversKey, let object = root[serversKey]?.objectValue else { return [] }
        return zip(servers.members, object).map { ($0.key, $0.value, $1.1) }
    }

    /// The 1-based line of byte `offset`.
    public func line(of offset: Int) -> Int {
        var n = 1
        for b in bytes[..<min(offset, bytes.count)] where b == 10 { n += 1 }
        return n
    }

    func text(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}

/// Byte edits to one document: replacements of disjoint ranges (an insertion is an empty range).
struct ByteSplice {
    var pieces: [(range: Range<Int>, text: [UInt8])] = []

    mutating func replace(_ range: Range<Int>, with text: [UInt8]) { pieces.append((range, text)) }

    /// The new bytes, or nil when two edits overlap (a bug, never written).
    func apply(to bytes: [UInt8]) -> [UInt8]? {
        let sorted = pieces.sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 256)
        var cursor = 0
        for p in sorted {
            guard p.range.lowerBound >= cursor, p.range.upperBound <= bytes.count else { return nil }
            out += bytes[cursor..<p.range.lowerBound]
            out += p.text
            cursor = p.range.upperBound
        }
        out += bytes[cursor...]
        return out
    }
}

/// `s` as it can go on one output line: itself, or JSON-quoted when it holds a control character
/// (a server key or command read from a config may hold a newline escape).
public func printable(_ s: String) -> String {
    s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) ? s : JSONValue.quoted(s)
}
