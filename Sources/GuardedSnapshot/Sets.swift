import GuardedCore
import GuardedSystem

/// Named sets of paths, from `<state>/snapshot-sets.conf` or `$GUARDED_RUN_SNAPSHOT_CONFIG`:
///
///     # comment
///     [set launchd]
///     ~/Library/LaunchAgents/com.example.*.plist
///     [set systemd]
///     /etc/systemd/system/agent-*.service
///     /etc/myapp/
///
/// One path or glob per line; `~` at the start is $HOME; globs (`*`, `?`, `[...]`) only in the last
/// component. See docs/snapshots.md.
public struct SnapshotSets: Sendable {
    public var sets: [(name: String, lines: [String])]

    public static func configPath(state: StateDirectory) -> String {
        if let explicit = Environment.value("GUARDED_RUN_SNAPSHOT_CONFIG"), !explicit.isEmpty { return explicit }
        return state.path + "/snapshot-sets.conf"
    }

    /// Reads and parses the config; a missing file is an empty config.
    public static func load(state: StateDirectory) throws(SnapshotError) -> SnapshotSets {
        let file = configPath(state: state)
        guard fileStatusIfPresent(file, followSymlinks: true) != nil else { return SnapshotSets(sets: []) }
        let text = try system { () throws(SystemError) in try readTextFile(file, followSymlinks: true, limit: 1 << 20) }
        return try parse(text, file: file)
    }

    public static func parse(_ text: String, file: String = "snapshot-sets.conf") throws(SnapshotError) -> SnapshotSets {
        var sets: [(name: String, lines: [String])] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let inner = line.dropFirst().hasSuffix("]") ? String(line.dropFirst().dropLast()).trimmingSpaces() : ""
                let words = inner.split(separator: " ", omittingEmptySubsequences: true)
                guard words.count == 2, words[0] == "set", isValidSetName(String(words[1])) else {
                    throw .usage("\(file):\(number + 1): expected '[set NAME]' (NAME: letters, digits, '.', '_', '-')")
                }
                let name = String(words[1])
                if sets.contains(where: { $0.name == name }) { throw .usage("\(file):\(number + 1): set '\(name)' defined twice") }
                sets.append((name, []))
                continue
            }
            guard !sets.isEmpty else { throw .usage("\(file):\(number + 1): a path before any '[set NAME]'") }
            sets[sets.count - 1].lines.append(line)
        }
        return SnapshotSets(sets: sets)
    }

    public func lines(of name: String) -> [String]? { sets.first(where: { $0.name == name })?.lines }
}

func isValidSetName(_ name: String) -> Bool { isValidAgentName(name) }

extension StringProtocol {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// systemd unit suffixes whose `NAME.d/` drop-in directory belongs with them.
let unitSuffixes = [".service", ".timer", ".socket", ".target", ".path", ".mount", ".slice", ".scope", ".automount", ".swap"]

func isUnitName(_ name: String) -> Bool { unitSuffixes.contains { name.hasSuffix($0) } }

/// Turns paths and globs (from the command line or a set) into the roots a snapshot covers.
/// `~` expands to $HOME; a relative path is taken from the working directory; the directory part is
/// resolved with realpath so no stored root has a symlink above it (a restore walks each root from
/// `/` refusing symlinks); a unit file brings its `.d/` drop-in directory.
public func snapshotRoots(for specs: [String], allowGlobs: Bool) throws(SnapshotError) -> [SnapshotRoot] {
    var roots: [SnapshotRoot] = []
    for spec in specs {
        var text = spec
        if text == "~" || text.hasPrefix("~/") {
            guard let home = Environment.homeDirectory() else { throw .usage("cannot expand '~': HOME is not set: \(spec)") }
            text = home + text.dropFirst()
        }
        if text.utf8.contains(0) || text.isEmpty { throw .usage("bad path \(JSONValue.quoted(spec))") }
        let absolute = normalizedPath(absolutePath(text, relativeTo: currentDirectory()))
        if absolute == "/" { throw .usage("refusing to snapshot /") }
        let parent = parentDirectory(of: absolute), name = baseName(of: absolute)
        if hasGlobCharacters(parent) { throw .usage("globs are allowed in the last component only: \(spec)") }
        let directory = (try? resolvedPath(parent)) ?? parent
        if allowGlobs && hasGlobCharacters(name) {
            var patterns = [name]
            if isUnitName(name) { patterns.append(name + ".d") }
            roots.append(SnapshotRoot(path: directory, patterns: patterns))
        } else {
            roots.append(SnapshotRoot(path: directory == "/" ? "/" + name : directory + "/" + name))
            if isUnitName(name) { roots.append(SnapshotRoot(path: directory, patterns: [escapedGlob(name) + ".d"])) }
        }
    }
    return mergedRoots(roots)
}

/// Merges pattern roots over the same directory and drops every root another one already covers,
/// so no entry is captured twice.
func mergedRoots(_ input: [SnapshotRoot]) -> [SnapshotRoot] {
    var roots: [SnapshotRoot] = []
    for root in input {
        if let i = roots.firstIndex(where: { $0.path == root.path && ($0.patterns == nil) == (root.patterns == nil) }) {
            if let extra = root.patterns {
                for p in extra where !(roots[i].patterns!.contains(p)) { roots[i].patterns!.append(p) }
            }
            continue
        }
        roots.append(root)
    }
    return roots.filter { candidate in !roots.contains { other in other != candidate && covers(other, candidate) } }
}

/// True when everything `inner` could capture lies inside `outer`.
func covers(_ outer: SnapshotRoot, _ inner: SnapshotRoot) -> Bool {
    if outer.patterns == nil {
        if inner.path == outer.path { return inner.patterns != nil }
        return isInside(inner.path, outer.path)
    }
    guard inner.path != outer.path, isInside(inner.path, outer.path) else { return false }
    let rest = inner.path.dropFirst(outer.path == "/" ? 1 : outer.path.count + 1)
    let first = String(rest.prefix(while: { $0 != "/" }))
    return outer.matches(name: first)
}
