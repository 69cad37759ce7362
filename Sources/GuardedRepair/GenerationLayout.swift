import GuardedCheck
import GuardedCore
import GuardedSystem

/// Where a repaired venv lives (docs/auto-repair.md, "Layout"):
///
///     <parent>/<name>                 -> symlink "<name>.generations/<N>" (relative)
///     <parent>/<name>.generations/0   the adopted original venv
///     <parent>/<name>.generations/N   later generations, each a complete, verified venv
///
/// The agent's venv path is a symlink, so putting a new generation in place is one `rename(2)` of
/// a new symlink over it: atomic, and durable once the parent directory is fsync'd. The generations
/// sit beside the venv, on the same filesystem, so a generation is promoted by rename too.
/// Adoption of a plain-directory venv swaps the directory and a symlink in one step
/// (`exchangePaths`): the path never goes missing and no file inside the venv changes.
///
/// Transient names, removed by the next holder of the repair lock when a process died with them:
///   `<name>.generations/.build-N-<hex>`  a generation being built
///   `<name>.generations/.trash-N-<hex>`  a generation being deleted
///   `<parent>/.<name>.link-<hex>`        the new symlink before its rename over the venv path
public struct GenerationLayout: Sendable {
    public let venv: String

    public init(venv: String) { self.venv = venv }

    public var parent: String { parentDirectory(of: venv) }
    public var name: String { baseName(of: venv) }
    /// The place beside the venv (`BesideVenv`), which also holds state shared by every caller.
    public var generationsDirectory: String { BesideVenv(venv: venv).directory }
    public func path(of generation: Int) -> String { generationsDirectory + "/\(generation)" }

    /// Generation numbers count repairs, so they stay small; a name with a larger number is not one
    /// of ours (and counting on from it could overflow).
    static let maxNumber = 999_999_999

    /// `text` as a generation number: decimal digits as `String(n)` writes them, at most `maxNumber`.
    static func number(_ text: Substring) -> Int? {
        guard let n = Int(text), n >= 0, n <= maxNumber, String(n) == text else { return nil }
        return n
    }

    /// What the venv path is now.
    public enum State: Equatable, Sendable {
        case missing
        /// A plain directory: not adopted yet.
        case plain
        /// Our symlink, naming this generation.
        case generation(Int)
        /// Anything else (a symlink we did not make, a file): never touched.
        case foreign(String)
    }

    public func state() -> State {
        guard let st = fileStatusIfPresent(venv) else { return .missing }
        if st.isDirectory { return .plain }
        guard st.isSymbolicLink, let text = try? readSymbolicLink(venv) else { return .foreign("not a directory or symlink") }
        if let n = generationNumber(linkText: text) { return .generation(n) }
        return .foreign("a symlink to \(text)")
    }

    public var currentGeneration: Int? {
        if case .generation(let n) = state() { return n }
        return nil
    }

    /// The relative link text for generation `n`: moving the parent directory keeps it valid.
    func linkText(_ n: Int) -> String { name + ".generations/\(n)" }

    func generationNumber(linkText text: String) -> Int? {
        for prefix in [name + ".generations/", generationsDirectory + "/"] where text.hasPrefix(prefix) {
            if let n = GenerationLayout.number(text.dropFirst(prefix.count)) { return n }
        }
        return nil
    }

    /// Complete generations (numbered directories), oldest first.
    public func generations() -> [Int] {
        let names = (try? directoryEntries(generationsDirectory)) ?? []
        return names.compactMap { name -> Int? in
            guard let n = GenerationLayout.number(Substring(name)),
                  fileStatusIfPresent(generationsDirectory + "/" + name)?.isDirectory == true else { return nil }
            return n
        }.sorted()
    }

    /// The number for a new generation: above every generation and every leftover build.
    func nextNumber() -> Int {
        var highest = generations().last ?? 0
        for name in (try? directoryEntries(generationsDirectory)) ?? [] where name.hasPrefix(".build-") {
            if let n = GenerationLayout.number(name.dropFirst(7).prefix(while: { $0 != "-" })) { highest = max(highest, n) }
        }
        return highest + 1
    }

    /// Creates `<name>.generations` (0755, like the venv it holds; refusing a symlink there).
    func prepareGenerationsDirectory() throws(SystemError) {
        if fileStatusIfPresent(generationsDirectory) == nil {
            try makeDirectory(generationsDirectory, mode: 0o755)
            try syncDirectory(parent)
        }
        let st = try fileStatus(generationsDirectory)
        if !st.isDirectory { throw SystemError("mkdir", path: generationsDirectory, errno: st.isSymbolicLink ? .tooManySymbolicLinks : .notDirectory) }
    }

    /// Moves a plain-directory venv to generation 0 and leaves a symlink to it at the venv path, in
    /// one exchange: the symlink is made first at `<name>.generations/0`, then the two names swap.
    /// Nothing inside the venv changes; its scripts and pyvenv.cfg keep naming `<venv>`, which now
    /// resolves through the symlink. Undone by `restorePlain()`.
    func adopt() throws(SystemError) {
        try prepareGenerationsDirectory()
        let zero = path(of: 0)
        if let st = fileStatusIfPresent(zero) {
            // A link left by an adoption that died before its exchange; anything else is not ours.
            guard st.isSymbolicLink else { throw SystemError("adopt", path: zero, errno: .fileExists) }
            try removeFile(zero)
        }
        try makeSymbolicLink(zero, pointingTo: linkText(0))
        do {
            try exchangePaths(venv, zero)
        } catch where [Errno.invalidArgument, .notImplemented, .notSupported, .operationNotSupported].contains(error.errno) {
            // No exchange on this filesystem: two renames, with the venv path missing between them
            // for microseconds. A crash there is repaired by `recover()` (the link is restored).
            try removeFile(zero)
            let link = temporaryLinkPath()
            try makeSymbolicLink(link, pointingTo: linkText(0))
            try renameItem(venv, to: zero)
            try renameItem(link, to: venv)
        }
        TestHooks.reached("adopt")
        try syncDirectory(parent)
        try syncDirectory(generationsDirectory)
    }

    /// Points the venv path at generation `n`: a new symlink renamed over the old one.
    func point(to n: Int) throws(SystemError) {
        let link = temporaryLinkPath()
        try makeSymbolicLink(link, pointingTo: linkText(n))
        TestHooks.reached("swap")
        do throws(SystemError) {
            try renameItem(link, to: venv)
        } catch {
            try? removeFile(link)
            throw error
        }
        try syncDirectory(parent)
    }

    /// Undoes adoption: the current generation's directory goes back to the venv path, swapped with
    /// the symlink in one step, and the other generations stay where they are.
    public func restorePlain() throws(SystemError) {
        guard case .generation(let n) = state() else { throw SystemError("restore", path: venv, errno: .invalidArgument) }
        try exchangePaths(venv, path(of: n))
        // The symlink now sits at <name>.generations/N; remove it.
        try removeFile(path(of: n))
        try syncDirectory(parent)
        try syncDirectory(generationsDirectory)
    }

    func temporaryLinkPath() -> String { parent + "/.\(name).link-" + randomHex(4) }

    /// Removes what a killed repair left behind (only ever called under the repair lock, so nothing
    /// else is using these names) and puts a symlink back if the venv path went missing.
    /// Returns what it did, for the health log.
    func recover(current recorded: Int?) -> [String] {
        var done: [String] = []
        for entry in (try? directoryEntries(generationsDirectory)) ?? [] where entry.hasPrefix(".build-") || entry.hasPrefix(".trash-") {
            if (try? removeTree(generationsDirectory + "/" + entry)) != nil { done.append("removed \(entry)") }
        }
        let linkPrefix = ".\(name).link-"
        for entry in (try? directoryEntries(parent)) ?? [] where entry.hasPrefix(linkPrefix) {
            if fileStatusIfPresent(parent + "/" + entry)?.isSymbolicLink == true, (try? removeFile(parent + "/" + entry)) != nil {
                done.append("removed \(entry)")
            }
        }
        if fileStatusIfPresent(path(of: 0))?.isSymbolicLink == true, state() == .plain {
            try? removeFile(path(of: 0))
            done.append("removed the link of an unfinished adoption")
        }
        if state() == .missing {
            let all = generations()
            if let n = recorded.flatMap({ all.contains($0) ? $0 : nil }) ?? all.last, (try? point(to: n)) != nil {
                done.append("relinked \(venv) to generation \(n)")
            }
        }
        if !done.isEmpty { try? syncDirectory(generationsDirectory) }
        return done
    }

    /// Deletes generations beyond the newest `keep` besides the current one. Each is renamed to a
    /// `.trash-` name first, so a crash mid-delete leaves a name `recover()` removes, never a
    /// half-deleted directory under a generation number.
    @discardableResult
    func prune(keep: Int) -> [Int] {
        var removed: [Int] = []
        for n in pruneSelection(keep: keep) {
            let trash = generationsDirectory + "/.trash-\(n)-" + randomHex(4)
            guard (try? renameItem(path(of: n), to: trash)) != nil else { continue }
            TestHooks.reached("prune")
            try? removeTree(trash)
            removed.append(n)
        }
        if !removed.isEmpty { try? syncDirectory(generationsDirectory) }
        return removed
    }

    /// The generations `prune(keep:)` deletes: all but the current one and the newest `keep` others.
    func pruneSelection(keep: Int) -> [Int] {
        let current = currentGeneration
        return Array(generations().filter { $0 != current }.sorted(by: >).dropFirst(max(0, keep)))
    }
}
