import GuardedCore

/// The launcher's own options that `wrap` carries onto the wrapped command line, after
/// `--agent NAME` (docs/guarded-run.md). One list for every kind of wrap: the systemd drop-in
/// quotes each word by systemd's rules, a launchd plist holds each as its own string.
public struct LauncherOptions: Equatable, Sendable {
    public var venv: String?
    public var imports: [String] = []
    public var requirements: String?
    public var python: String?
    public var findLinks: [String] = []
    public var observe = false
    /// The launcher's `--state-dir`: where the agent keeps its state (not where wrap keeps its
    /// snapshot).
    public var stateDir: String?

    public init(venv: String? = nil, imports: [String] = [], requirements: String? = nil, python: String? = nil,
                findLinks: [String] = [], observe: Bool = false, stateDir: String? = nil) {
        self.venv = venv
        self.imports = imports
        self.requirements = requirements
        self.python = python
        self.findLinks = findLinks
        self.observe = observe
        self.stateDir = stateDir
    }

    /// The launcher's words, in the order its usage line lists them.
    public var arguments: [String] {
        var words: [String] = []
        if let venv { words += ["--venv", venv] }
        for module in imports { words += ["--import", module] }
        if let requirements { words += ["--requirements", requirements] }
        if let python { words += ["--python", python] }
        for link in findLinks { words += ["--find-links", link] }
        if observe { words.append("--observe") }
        if let stateDir { words += ["--state-dir", stateDir] }
        return words
    }

    /// The first value the launcher would refuse, as one line naming the option; nil when all
    /// are usable. Paths must be absolute (a unit or a job has no useful working directory to
    /// resolve them against) and no value may hold a control character (a newline would end the
    /// systemd line it is written on).
    public func problem(names: (String) -> String = { $0 }) -> String? {
        func path(_ option: String, _ value: String?) -> String? {
            guard let value else { return nil }
            if let bad = controlCharacter(value) { return "\(names(option)) contains \(bad)" }
            return value.hasPrefix("/") ? nil : "\(names(option)) takes an absolute path, not '\(value)'"
        }
        for module in imports where !isValidModuleName(module) {
            return "\(names("--import")) takes a dotted module name like 'pkg.mod', not '\(printable(module))'"
        }
        for link in findLinks {
            if let bad = controlCharacter(link) { return "\(names("--find-links")) contains \(bad)" }
            let isURL = ["https://", "http://", "file://"].contains { link.hasPrefix($0) }
            if !isURL && !link.hasPrefix("/") {
                return "\(names("--find-links")) takes an absolute directory or an http(s):// or file:// URL, not '\(link)'"
            }
        }
        return path("--venv", venv) ?? path("--requirements", requirements) ?? path("--python", python)
            ?? path("--state-dir", stateDir)
    }

    func controlCharacter(_ value: String) -> String? {
        value.utf8.contains { $0 < 32 || $0 == 127 } ? "a control character (a newline, a tab...)" : nil
    }

    func printable(_ value: String) -> String {
        String(decoding: value.utf8.map { $0 < 32 || $0 == 127 ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}
