import GuardedCore
import GuardedSystem

/// Where the agent's Python looks for its own modules, read from how COMMAND starts it, so the
/// `--import` checks see what the agent sees: the working directory, and the head of `sys.path`
/// (the script's directory or the working directory, then PYTHONPATH). The probe applies it after
/// its standard-library checks, so a file in the working directory never shadows those.
public struct AgentStart: Sendable, Equatable {
    public var workingDirectory: String
    public var pathHead: [String]

    /// As CPython builds `sys.path[0]`: `-m module`, `-c`, `-` and a bare interpreter put the
    /// working directory first; `python script.py` the script's directory (symlinks resolved); any
    /// other COMMAND is taken for a script with a Python shebang (a console script in venv/bin), so
    /// its own directory. `-P` and `-I` put nothing first; `-E` and `-I` ignore PYTHONPATH.
    /// Flags on a shebang line and PYTHONSAFEPATH are not read.
    public init(_ context: AgentContext) {
        let cwd = context.workingDirectory
        workingDirectory = cwd
        pathHead = []
        guard let exe = context.command.first else { return }
        func scriptDirectory(_ script: String) -> String {
            var path = script
            if !script.contains("/"), script == exe, let found = Subprocess.findExecutable(script) { path = found }
            let absolute = normalizedPath(absolutePath(path, relativeTo: cwd))
            return parentDirectory(of: (try? resolvedPath(absolute)) ?? absolute)
        }
        var ignoreEnvironment = false, safePath = false
        var first: String? = nil
        if baseName(of: exe).hasPrefix("python") {
            let args = context.command
            var script: String? = nil
            var i = 1
            scan: while i < args.count {
                let arg = args[i]
                if arg == "--" { script = i + 1 < args.count ? args[i + 1] : nil; break }
                if arg == "-" || !arg.hasPrefix("-") { script = arg == "-" ? nil : arg; break }
                if arg.hasPrefix("--") { i += 1; continue }
                let letters = Array(arg.utf8.dropFirst())
                for (j, c) in letters.enumerated() {
                    switch c {
                    case UInt8(ascii: "I"): ignoreEnvironment = true; safePath = true
                    case UInt8(ascii: "E"): ignoreEnvironment = true
                    case UInt8(ascii: "P"): safePath = true
                    case UInt8(ascii: "m"), UInt8(ascii: "c"): break scan
                    case UInt8(ascii: "W"), UInt8(ascii: "X"):
                        // Takes a value: the rest of this word, or the next one.
                        if j == letters.count - 1 { i += 1 }
                        i += 1
                        continue scan
                    default: continue
                    }
                }
                i += 1
            }
            first = script.map(scriptDirectory) ?? cwd
        } else {
            first = scriptDirectory(exe)
        }
        if let first, !safePath { pathHead.append(first) }
        if !ignoreEnvironment, let pythonPath = context.pythonPath {
            for entry in pythonPath.split(separator: ":") {
                pathHead.append(normalizedPath(absolutePath(String(entry), relativeTo: cwd)))
            }
        }
    }

    /// Several agents' starts as one, for checking all their imports in one probe: the first one's
    /// working directory, every search-path head (each once, in order). Nil for none.
    public static func merged(_ starts: [AgentStart]) -> AgentStart? {
        guard var merged = starts.first else { return nil }
        for start in starts.dropFirst() {
            if !merged.pathHead.contains(start.workingDirectory) { merged.pathHead.append(start.workingDirectory) }
            for p in start.pathHead where !merged.pathHead.contains(p) { merged.pathHead.append(p) }
        }
        return merged
    }

    /// How the probe is told (ProbeScript reads it): the working directory then each path-head
    /// entry, hex-encoded UTF-8 joined by `:`, in an environment variable rather than argv, which
    /// every user can read in the process list (PYTHONPATH's entries are among them).
    static let probeVariable = "GUARDED_RUN_PROBE_START"

    var probeEnvironmentEntry: String {
        AgentStart.probeVariable + "=" + ([workingDirectory] + pathHead).map { hexString($0.utf8) }.joined(separator: ":")
    }
}
