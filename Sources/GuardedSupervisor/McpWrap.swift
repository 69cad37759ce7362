import GuardedCore
import GuardedSystem

/// Putting guarded-run in front of the stdio MCP servers of one config file, and taking it out.
///
/// A wrapped entry keeps every key but two: `command` becomes guarded-run and `args` becomes
/// `["--agent", NAME, OPTIONS..., "--", COMMAND, ARGS...]`. The bytes of the original command and
/// arguments move into the array unchanged (escapes and all), the new elements are laid out like
/// the existing ones, and nothing else in the file moves. Unwrap reads only what wrap left in the
/// entry (guarded-run's path and the `--` marker), so it works on a file the client rewrote since;
/// on a file unchanged since wrap it gives back the original bytes.
public enum McpWrap {
    public struct Options: Sendable {
        /// Replaces the client's prefix in agent names (`claude-desktop-`, `vscode-myproj-`...).
        public var agentPrefix: String?
        public var imports: [String]
        public var autoRepair: Bool
        public var guardedRun: String
        public init(agentPrefix: String? = nil, imports: [String] = [], autoRepair: Bool = false, guardedRun: String) {
            self.agentPrefix = agentPrefix
            self.imports = imports
            self.autoRepair = autoRepair
            self.guardedRun = guardedRun
        }
    }

    /// What happened to one server entry.
    public enum EntryOutcome: Equatable, Sendable {
        /// Wrapped (or would be, in a dry run): the agent name, the venv found, the command line
        /// before and after.
        case wrapped(agent: String, venv: String, command: [String], now: [String])
        /// Unwrapped: the wrapped command line, and the one restored.
        case unwrapped(wrapped: [String], command: [String])
        case alreadyWrapped(agent: String?)
        case notWrapped
        /// Left alone, with the reason.
        case leftAlone(String)
    }

    public struct Entry: Equatable, Sendable {
        public var key: String
        public var line: Int
        public var outcome: EntryOutcome
    }

    /// The edited file and what happened to each entry. `bytes` equals the input when nothing changed.
    public struct Edit: Sendable {
        public var bytes: [UInt8]
        /// The bytes the edit was made from.
        public var original: [UInt8]
        public var entries: [Entry]
        public var serversKey: String?
        public var isChanged: Bool { entries.contains { if case .wrapped = $0.outcome { return true }; if case .unwrapped = $0.outcome { return true }; return false } }
    }

    /// Launchers an entry may run that are not a Python venv: named in the reason it is left alone.
    static let notVenvLaunchers: Set<String> = ["npx", "uvx", "uv", "docker", "podman", "node", "bun", "bunx", "deno", "pnpm", "pipx"]

    /// Wraps every stdio server whose command `venvOf` places in a venv. `taken` holds agent names
    /// used elsewhere (other files of this run); a clash leaves the entry alone. The one function a
    /// fuzz target calls: garbage in gives an error or an edit that parses back as intended.
    public static func wrap(_ bytes: [UInt8], client: McpClient, options: Options, taken: Set<String> = [],
                            venvOf: (String) -> String?) -> Result<Edit, McpConfigError> {
        let config: McpConfig
        do { config = try McpConfig(bytes, client: client) } catch { return .failure(error) }
        var splice = ByteSplice()
        var entries: [Entry] = []
        var names = taken
        var expected: [String: (command: String, args: [String])] = [:]
        for (key, span, value) in config.entries {
            let line = config.line(of: span.range.lowerBound)
            let shape: Shape
            switch classify(value, span: span) {
            case .failure(let reason): entries.append(Entry(key: key, line: line, outcome: .leftAlone(reason.message))); continue
            case .success(let s): shape = s
            }
            if baseName(of: shape.command) == programName {
                let args = shape.args
                if args.contains("--") {
                    let agent = args.firstIndex(of: "--agent").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
                    if let agent { names.insert(agent) }
                    entries.append(Entry(key: key, line: line, outcome: .alreadyWrapped(agent: agent)))
                } else {
                    entries.append(Entry(key: key, line: line, outcome: .leftAlone("starts guarded-run, but not in launcher form ('--' missing)")))
                }
                continue
            }
            if let reason = notVenvReason(shape.command) {
                entries.append(Entry(key: key, line: line, outcome: .leftAlone(reason)))
                continue
            }
            guard let venv = venvOf(shape.command) else {
                entries.append(Entry(key: key, line: line, outcome: .leftAlone("not in a Python venv (no pyvenv.cfg beside its bin/)")))
                continue
            }
            guard let agent = agentName(prefix: options.agentPrefix ?? client.agentPrefix, key: key) else {
                entries.append(Entry(key: key, line: line, outcome: .leftAlone("cannot make an agent name from the key; pass --agent-prefix")))
                continue
            }
            guard names.insert(agent).inserted else {
                entries.append(Entry(key: key, line: line, outcome: .leftAlone("the agent name '\(agent)' is already used by another entry; pass --agent-prefix")))
                continue
            }
            var prefix = ["--agent", agent]
            if options.autoRepair { prefix.append("--auto-repair") }
            for m in options.imports { prefix += ["--import", m] }
            prefix.append("--")
            spliceWrap(config, shape, prefix: prefix.map(quoted), guardedRun: quoted(options.guardedRun), into: &splice)
            expected[key] = (options.guardedRun, prefix + [shape.command] + shape.args)
            entries.append(Entry(key: key, line: line, outcome: .wrapped(agent: agent, venv: venv, command: [shape.command] + shape.args,
                                                                            now: [options.guardedRun] + prefix + [shape.command] + shape.args)))
        }
        return finish(config, splice, entries, expected, client: client)
    }

    /// Takes guarded-run out of every wrapped entry.
    public static func unwrap(_ bytes: [UInt8], client: McpClient) -> Result<Edit, McpConfigError> {
        let config: McpConfig
        do { config = try McpConfig(bytes, client: client) } catch { return .failure(error) }
        var splice = ByteSplice()
        var entries: [Entry] = []
        var expected: [String: (command: String, args: [String])] = [:]
        for (key, span, value) in config.entries {
            let line = config.line(of: span.range.lowerBound)
            guard case .success(let shape) = classify(value, span: span), baseName(of: shape.command) == programName else {
                entries.append(Entry(key: key, line: line, outcome: .notWrapped))
                continue
            }
            guard let dash = shape.args.firstIndex(of: "--"), dash + 1 < shape.args.count, let argsSpan = shape.argsSpan else {
                entries.append(Entry(key: key, line: line, outcome: .leftAlone("starts guarded-run, but with no COMMAND after '--'")))
                continue
            }
            spliceUnwrap(config, shape, argsSpan: argsSpan, dash: dash, into: &splice)
            let original = Array(shape.args[(dash + 1)...])
            expected[key] = (original[0], Array(original.dropFirst()))
            entries.append(Entry(key: key, line: line, outcome: .unwrapped(wrapped: [shape.command] + shape.args, command: original)))
        }
        return finish(config, splice, entries, expected, client: client)
    }

    /// Applies the splice and reads the result back: every edited entry must hold what was meant and
    /// every other part of the document must be unchanged; otherwise the file is refused.
    static func finish(_ config: McpConfig, _ splice: ByteSplice, _ entries: [Entry],
                       _ expected: [String: (command: String, args: [String])], client: McpClient) -> Result<Edit, McpConfigError> {
        if expected.isEmpty { return .success(Edit(bytes: config.bytes, original: config.bytes, entries: entries, serversKey: config.serversKey)) }
        guard let out = splice.apply(to: config.bytes), let check = try? McpConfig(out, client: client),
              let key = config.serversKey, check.serversKey == key else {
            return .failure(McpConfigError("internal: the edited file does not read back; nothing written"))
        }
        var want = config.root
        want = replacing(want, serversKey: key) { name, entry in
            guard let e = expected[name], case .object(var pairs) = entry else { return entry }
            if let k = pairs.firstIndex(where: { $0.0 == "command" }) { pairs[k].1 = .string(e.command) }
            if let k = pairs.firstIndex(where: { $0.0 == "args" }) {
                pairs[k].1 = JSONValue(e.args)
            } else if !e.args.isEmpty, let c = pairs.firstIndex(where: { $0.0 == "command" }) {
                pairs.insert(("args", JSONValue(e.args)), at: c + 1)
            }
            return .object(pairs)
        }
        guard check.root == want || argsDroppedOnly(check.root, want, key: key, expected: expected) else {
            return .failure(McpConfigError("internal: the edited file does not read back as intended; nothing written"))
        }
        return .success(Edit(bytes: out, original: config.bytes, entries: entries, serversKey: key))
    }

    /// Unwrap removes an `args` that wrap inserted: the document then lacks an empty `args`.
    static func argsDroppedOnly(_ got: JSONValue, _ want: JSONValue, key: String,
                                expected: [String: (command: String, args: [String])]) -> Bool {
        let stripped = replacing(want, serversKey: key) { name, entry in
            guard let e = expected[name], e.args.isEmpty, case .object(let pairs) = entry,
                  got[key]?[name]?["args"] == nil else { return entry }
            return .object(pairs.filter { $0.0 != "args" })
        }
        return got == stripped
    }

    static func replacing(_ root: JSONValue, serversKey: String, _ change: (String, JSONValue) -> JSONValue) -> JSONValue {
        guard case .object(var top) = root, let s = top.firstIndex(where: { $0.0 == serversKey }),
              case .object(var servers) = top[s].1 else { return root }
        for k in servers.indices { servers[k].1 = change(servers[k].0, servers[k].1) }
        top[s].1 = .object(servers)
        return .object(top)
    }

    // MARK: reading an entry

    /// A stdio entry's command and arguments, with where they lie.
    struct Shape {
        var command: String
        var args: [String]
        var commandMember: JSONSpan.Member
        var argsSpan: JSONSpan?
        var argsKeyRange: Range<Int>?
        var entry: JSONSpan
    }

    static func classify(_ value: JSONValue, span: JSONSpan) -> Result<Shape, McpConfigError> {
        guard case .object = value else { return .failure(McpConfigError("not an object")) }
        var seen: Set<String> = []
        for m in span.members where !seen.insert(m.key).inserted {
            return .failure(McpConfigError("the key '\(m.key)' appears more than once"))
        }
        if value["url"] != nil || value["serverUrl"] != nil { return .failure(McpConfigError("a remote server (url): nothing is started here")) }
        if let type = value["type"] {
            guard let t = type.stringValue else { return .failure(McpConfigError("type is not a string")) }
            if t != "stdio" { return .failure(McpConfigError("a remote server (type '\(t)'): nothing is started here")) }
        }
        guard let commandValue = value["command"], let member = span.member("command") else { return .failure(McpConfigError("no command")) }
        guard let command = commandValue.stringValue else { return .failure(McpConfigError("command is not a string")) }
        var args: [String] = []
        var argsSpan: JSONSpan? = nil
        var argsKeyRange: Range<Int>? = nil
        if let a = value["args"], let m = span.member("args") {
            guard let list = a.arrayValue else { return .failure(McpConfigError("args is not a list")) }
            for item in list {
                guard let s = item.stringValue else { return .failure(McpConfigError("args holds something that is not a string")) }
                args.append(s)
            }
            argsSpan = m.value
            argsKeyRange = m.keyRange
        }
        return .success(Shape(command: command, args: args, commandMember: member, argsSpan: argsSpan, argsKeyRange: argsKeyRange, entry: span))
    }

    /// Why a command cannot be a venv's, before looking on disk; nil when it may be.
    static func notVenvReason(_ command: String) -> String? {
        if command.contains("${") {
            return "the command uses a client variable (${...}): guarded-run cannot tell which venv it names"
        }
        let name = baseName(of: command)
        if notVenvLaunchers.contains(name) { return "runs \(name), not a Python venv" }
        if !command.hasPrefix("/") {
            return "'\(command)' is not an absolute path (the client looks it up on its own PATH)"
        }
        return nil
    }

    /// `PREFIX` + the server key, anything outside [A-Za-z0-9._@-] made `-`; nil when unusable.
    public static func agentName(prefix: String, key: String) -> String? {
        var name = String((prefix + key).unicodeScalars.map { c -> Character in
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-" || c == "@"
            return ok ? Character(c) : "-"
        })
        while name.hasPrefix(".") { name.removeFirst() }
        while name.utf8.count > 128 { name.removeLast() }
        return isValidAgentName(name) ? name : nil
    }

    // MARK: splicing

    static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONValue.appendQuoted(s, to: &out)
        return out
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }

    /// The whitespace before the `command` key, back to the `{` or `,` before it: how this entry
    /// separates its members (a comment there is not copied).
    static func memberLead(_ b: [UInt8], _ shape: Shape) -> [UInt8] {
        var k = shape.commandMember.keyRange.lowerBound
        while k > shape.entry.range.lowerBound, isSpace(b[k - 1]) { k -= 1 }
        return Array(b[k..<shape.commandMember.keyRange.lowerBound])
    }

    /// The bytes between the `command` key and its value (`: `, `:`...).
    static func colon(_ b: [UInt8], _ shape: Shape) -> [UInt8] {
        let between = Array(b[shape.commandMember.keyRange.upperBound..<shape.commandMember.value.range.lowerBound])
        return between.allSatisfy({ isSpace($0) || $0 == UInt8(ascii: ":") }) ? between : Array(": ".utf8)
    }

    /// The separator between elements of `array`: copied from its first two elements when they are
    /// apart by a comma and whitespace, from its opening when it has one element on its own line.
    static func elementSeparator(_ b: [UInt8], _ array: JSONSpan) -> [UInt8] {
        let plain = Array(", ".utf8)
        let e = array.elements
        if e.count >= 2 {
            let between = Array(b[e[0].range.upperBound..<e[1].range.lowerBound])
            guard between.first == UInt8(ascii: ","), between.dropFirst().allSatisfy(isSpace) else { return plain }
            return between
        }
        if e.count == 1 {
            let opening = Array(b[(array.range.lowerBound + 1)..<e[0].range.lowerBound])
            if opening.allSatisfy(isSpace) && opening.contains(10) { return [UInt8(ascii: ",")] + opening }
        }
        return plain
    }

    static func joined(_ items: [[UInt8]], _ separator: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, item) in items.enumerated() {
            if i > 0 { out += separator }
            out += item
        }
        return out
    }

    static func spliceWrap(_ config: McpConfig, _ shape: Shape, prefix: [[UInt8]], guardedRun: [UInt8], into splice: inout ByteSplice) {
        let b = config.bytes
        let commandRange = shape.commandMember.value.range
        let commandRaw = Array(b[commandRange])
        splice.replace(commandRange, with: guardedRun)
        if let array = shape.argsSpan {
            if let first = array.elements.first {
                let sep = elementSeparator(b, array)
                splice.replace(first.range.lowerBound..<first.range.lowerBound, with: joined(prefix + [commandRaw], sep) + sep)
            } else {
                // An empty array gets elements joined by a bare comma: unwrap tells it from an
                // `args` that wrap inserted (joined by ", ") and keeps it.
                let at = array.range.lowerBound + 1
                splice.replace(at..<at, with: joined(prefix + [commandRaw], [UInt8(ascii: ",")]))
            }
        } else {
            let member = [UInt8(ascii: ",")] + memberLead(b, shape) + quoted("args") + colon(b, shape)
                + [UInt8(ascii: "[")] + joined(prefix + [commandRaw], Array(", ".utf8)) + [UInt8(ascii: "]")]
            splice.replace(commandRange.upperBound..<commandRange.upperBound, with: member)
        }
    }

    static func spliceUnwrap(_ config: McpConfig, _ shape: Shape, argsSpan array: JSONSpan, dash: Int, into splice: inout ByteSplice) {
        let b = config.bytes
        let e = array.elements
        let commandRaw = Array(b[e[dash + 1].range])
        splice.replace(shape.commandMember.value.range, with: commandRaw)
        if dash + 2 < e.count {
            splice.replace(e[0].range.lowerBound..<e[dash + 2].range.lowerBound, with: [])
            return
        }
        // No arguments of its own: an `args` member exactly as wrap inserts it goes entirely.
        if let keyRange = shape.argsKeyRange {
            let commandEnd = shape.commandMember.value.range.upperBound
            let inserted = [UInt8(ascii: ",")] + memberLead(b, shape) + quoted("args") + colon(b, shape)
                + [UInt8(ascii: "[")] + joined(e.map { Array(b[$0.range]) }, Array(", ".utf8)) + [UInt8(ascii: "]")]
            if keyRange.lowerBound > commandEnd, Array(b[commandEnd..<array.range.upperBound]) == inserted {
                splice.replace(commandEnd..<array.range.upperBound, with: [])
                return
            }
        }
        splice.replace(e[0].range.lowerBound..<e[dash + 1].range.upperBound, with: [])
    }
}
