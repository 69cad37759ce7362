import GuardedCore

/// One option of a subcommand, declared in a table (the shape swift-argument-parser gives, by hand).
public struct OptionSpec: Sendable {
    public enum Kind: Sendable { case flag, value, repeatedValue }
    public let names: [String]
    public let kind: Kind
    public let help: String

    public static func flag(_ names: String..., help: String) -> OptionSpec { OptionSpec(names: names, kind: .flag, help: help) }
    public static func value(_ names: String..., help: String) -> OptionSpec { OptionSpec(names: names, kind: .value, help: help) }
    public static func repeated(_ names: String..., help: String) -> OptionSpec { OptionSpec(names: names, kind: .repeatedValue, help: help) }

    /// The canonical name (the first one) that parsed values are stored under.
    public var key: String { names[0] }
}

/// A subcommand's declared shape: its options, how many positionals, and the usage line.
public struct CommandSpec: Sendable {
    public let usage: String
    public let options: [OptionSpec]
    public let positionals: ClosedRange<Int>

    public init(usage: String, options: [OptionSpec], positionals: ClosedRange<Int> = 0...0) {
        self.usage = usage
        self.options = options
        self.positionals = positionals
    }

    /// The help text: usage, then one line per option.
    public var helpText: String {
        var lines = ["usage: \(programName) \(usage)"]
        if !options.isEmpty { lines.append("options:") }
        for o in options {
            let name = o.names.joined(separator: ", ") + (o.kind == .flag ? "" : " VALUE")
            lines.append("  " + name.padding(to: 28) + o.help)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A bad command line: exit 64 with this message and the usage line.
public struct UsageError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The parsed command line of one subcommand.
public struct ParsedArguments: Sendable {
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []
    public var helpRequested = false

    public func has(_ name: String) -> Bool { flags.contains(name) }
    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    /// The option appeared on the command line (a flag, or a value).
    public func given(_ name: String) -> Bool { has(name) || values[name] != nil }

    /// An integer option, or a usage error naming it.
    public func integer(_ name: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws(UsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let n = Int(text), range.contains(n) else {
            throw UsageError("\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return n
    }
}

extension CommandSpec {
    /// Parses `--name value`, `--name=value`, flags, positionals, and `--` (everything after it is
    /// positional). `-h`/`--help` sets `helpRequested`.
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var result = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                result.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            if arg == "-h" || arg == "--help" { result.helpRequested = true; continue }
            var name = arg
            var inline: String? = nil
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let option = options.first(where: { $0.names.contains(name) }) else {
                throw UsageError("unknown option '\(name)'" + didYouMean(name, among: options.flatMap(\.names) + ["--help"]))
            }
            switch option.kind {
            case .flag:
                if inline != nil { throw UsageError("\(name) takes no value") }
                result.flags.insert(option.key)
            case .value, .repeatedValue:
                let value: String
                if let inline { value = inline } else {
                    guard i < arguments.count else { throw UsageError("\(name) needs a value") }
                    value = arguments[i]
                    i += 1
                }
                if option.kind == .value, result.values[option.key] != nil {
                    throw UsageError("\(name) given more than once")
                }
                result.values[option.key, default: []].append(value)
            }
        }
        if !result.helpRequested && !positionals.contains(result.positionals.count) {
            if result.positionals.count < positionals.lowerBound {
                throw UsageError("missing argument")
            }
            throw UsageError("unexpected argument '\(result.positionals[positionals.upperBound])'")
        }
        return result
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
