import GuardedCore

/// One option of a subcommand, declared in a table (the shape swift-argument-parser gives, by hand).
public struct OptionSpec: Sendable {
    public enum Kind: Sendable { case flag, value, repeatedValue }
    public let names: [String]
    public let kind: Kind
    /// What usage and help call the value (`DIR`, `NAME`, `MODULE`); empty for a flag. One that ends
    /// in `...` (`PATH...`) says that more values may follow as plain arguments.
    public let valueName: String
    public let help: String

    public static func flag(_ names: String..., help: String) -> OptionSpec {
        OptionSpec(names: names, kind: .flag, valueName: "", help: help)
    }
    public static func value(_ names: String..., as valueName: String, help: String) -> OptionSpec {
        OptionSpec(names: names, kind: .value, valueName: valueName, help: help)
    }
    public static func repeated(_ names: String..., as valueName: String, help: String) -> OptionSpec {
        OptionSpec(names: names, kind: .repeatedValue, valueName: valueName, help: help)
    }

    /// The canonical name (the first one) that parsed values are stored under.
    public var key: String { names[0] }

    /// `--venv DIR`, `--deep`.
    var synopsis: String { kind == .flag ? key : key + " " + valueName }

    /// How usage shows it on its own: `[--venv DIR]`, `[--import MODULE]...`, `[--from-config PATH...]`.
    var optionalSynopsis: String {
        "[\(synopsis)]" + (kind == .repeatedValue && !valueName.hasSuffix("...") ? "..." : "")
    }
}

/// Options that exclude each other, as usage shows them: `(--venv DIR | --agent NAME)` (one is
/// required), `[--prune [--keep N] | --restore-plain]` (at most one). The parser does not enforce
/// them: each command says what it refuses, in its own words.
public struct Alternatives: Sendable {
    public let required: Bool
    /// Each choice: an option key, then the keys of options that go only with it (`--prune`,
    /// `--keep`); a word that is not an option (`PATH...`) stands for plain arguments.
    public let choices: [[String]]

    /// One of these is required; a single choice is then shown bare (`prune --keep N`).
    public static func oneOf(_ choices: [String]...) -> Alternatives { Alternatives(required: true, choices: choices) }
    public static func atMostOne(_ choices: [String]...) -> Alternatives { Alternatives(required: false, choices: choices) }

    var keys: [String] { choices.flatMap { $0 } }
}

/// A subcommand's declared shape: its options, how many positionals, and the usage line generated
/// from them. A command whose actions take different options (`snapshot`, `venvs`) declares one form
/// per action: its usage is one line each, and its table the union of theirs.
public struct CommandSpec: Sendable {
    /// What comes before the options: the command's name and its positionals (`log AGENT`).
    public let words: String
    public let options: [OptionSpec]
    public let alternatives: [Alternatives]
    public let positionals: ClosedRange<Int>
    public let forms: [CommandSpec]

    public init(_ words: String, options: [OptionSpec], alternatives: [Alternatives] = [], positionals: ClosedRange<Int> = 0...0) {
        self.words = words
        self.options = options
        self.alternatives = alternatives
        self.positionals = positionals
        self.forms = []
    }

    /// A command of several forms, each named by its first positional after the command's name.
    public init(forms: [CommandSpec], positionals: ClosedRange<Int>) {
        var options: [OptionSpec] = []
        for o in forms.flatMap(\.options) where !options.contains(where: { $0.key == o.key }) { options.append(o) }
        self.words = forms.first?.words ?? ""
        self.options = options
        self.alternatives = []
        self.positionals = positionals
        self.forms = forms
    }

    /// The usage: `check (--venv DIR | --agent NAME) [--import MODULE]... [--deep] ...`, printed
    /// after `usage: guarded-run `; one line a form, each after the first under the first.
    public var usage: String {
        forms.isEmpty ? synopsis : forms.map(\.synopsis).joined(separator: "\n       \(programName) ")
    }

    /// The words, then each option in table order, an alternative where its first option stands.
    var synopsis: String {
        var parts = [words]
        var shown = Set<String>()
        for o in options where !shown.contains(o.key) {
            guard let group = alternatives.first(where: { $0.keys.contains(o.key) }) else {
                parts.append(o.optionalSynopsis)
                continue
            }
            shown.formUnion(group.keys)
            let choices = group.choices.map { keys in
                keys.enumerated().map { i, key in
                    guard let option = options.first(where: { $0.key == key }) else { return key }
                    return i == 0 ? option.synopsis : option.optionalSynopsis
                }.joined(separator: " ")
            }
            let inner = choices.joined(separator: " | ")
            parts.append(group.required ? (choices.count == 1 ? inner : "(\(inner))") : "[\(inner)]")
        }
        return parts.joined(separator: " ")
    }

    /// The form named `action` (`venvs repair`); a usage error for an option given that it does not
    /// take, naming the forms that do.
    func form(_ action: String, of command: String, given arguments: ParsedArguments) throws(UsageError) -> CommandSpec? {
        let name = command + " " + action
        guard let form = forms.first(where: { $0.words == name || $0.words.hasPrefix(name + " ") }) else { return nil }
        for option in options where arguments.given(option.key) && !form.options.contains(where: { $0.key == option.key }) {
            let takers = forms.filter { f in f.options.contains { $0.key == option.key } }.map { "'\($0.words.split(separator: " ").prefix(2).joined(separator: " "))'" }
            throw UsageError("\(option.key) is " + (takers.count == 1 ? "only for \(takers[0])" : "for " + takers.joined(separator: " and ")))
        }
        return form
    }

    /// The help text: usage, then one line per option.
    public var helpText: String {
        var lines = ["usage: \(programName) \(usage)"]
        if !options.isEmpty { lines.append("options:") }
        for o in options {
            let name = o.names.joined(separator: ", ") + (o.kind == .flag ? "" : " " + o.valueName)
            lines.append("  " + name.padded(to: 28) + o.help)
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
