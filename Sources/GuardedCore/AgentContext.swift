import GuardedSystem

/// How COMMAND starts the agent, as far as an `--import` check can depend on it: the launcher's
/// working directory, PYTHONPATH as COMMAND inherits it, and COMMAND's own argv (its interpreter
/// flags, `-m module` or the script). Part of the cache key when there are `--import` modules
/// (`Fingerprint.importsKey`), and what the probe mirrors for those imports (`AgentStart`).
/// Held as text: an argv or directory that is not UTF-8 gives a key the fast path never matches,
/// so such an agent takes the full check on every start (a miss, never a wrong hit).
public struct AgentContext: Sendable, Equatable {
    public var workingDirectory: String
    /// nil: PYTHONPATH is not set.
    public var pythonPath: String?
    /// COMMAND and its arguments, as the launcher execs them.
    public var command: [String]

    public init(workingDirectory: String, pythonPath: String?, command: [String]) {
        self.workingDirectory = workingDirectory
        self.pythonPath = pythonPath
        self.command = command
    }

    /// The launcher's own: its working directory, its PYTHONPATH, and argv from `commandIndex` on.
    public static func launcher(argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, commandIndex: Int) -> AgentContext {
        var command: [String] = []
        var i = commandIndex
        while let p = argv[i] { command.append(String(cString: p)); i += 1 }
        return AgentContext(workingDirectory: currentDirectory(), pythonPath: Environment.value("PYTHONPATH"), command: command)
    }

    /// The bytes the key hashes after the import list (FastPath.hashContext computes the same):
    /// 0x00 + cwd, 0x00 + ("=" + PYTHONPATH, or "-" when unset), then 0x00 + each argv element.
    var keyBytes: [UInt8] {
        var out: [UInt8] = [0]
        out += workingDirectory.utf8
        out.append(0)
        if let pythonPath { out.append(UInt8(ascii: "=")); out += pythonPath.utf8 } else { out.append(UInt8(ascii: "-")) }
        for arg in command { out.append(0); out += arg.utf8 }
        return out
    }
}
