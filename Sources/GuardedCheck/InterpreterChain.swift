import GuardedSystem

/// The `bin/python` symlink chain, hop by hop, as lstat and readlink see it. A Homebrew or pyenv
/// upgrade that removes the base interpreter leaves the last hop dangling.
public struct InterpreterChain: Sendable {
    /// Every path visited: `venv/bin/python`, each link target, and the final file.
    public var hops: [String] = []
    /// The final path (the last hop), whether or not it exists.
    public var target: String = ""
    /// Why the chain does not end in an executable file, or nil when it does.
    public var failure: SystemError?

    public static let maxHops = 40

    public init(start: String) {
        var current = start
        for _ in 0..<InterpreterChain.maxHops {
            hops.append(current)
            target = current
            guard let st = fileStatusIfPresent(current) else {
                failure = SystemError("lstat", path: current, errno: .noSuchFileOrDirectory)
                return
            }
            if !st.isSymbolicLink {
                if !st.isRegularFile || !isExecutable(current) {
                    failure = SystemError("exec", path: current, errno: .permissionDenied)
                }
                return
            }
            do {
                let text = try readSymbolicLink(current)
                // Not normalized: ".." after a symlinked directory means what the kernel says, not the text.
                current = absolutePath(text, relativeTo: parentDirectory(of: current))
            } catch {
                failure = error
                return
            }
        }
        failure = SystemError("readlink", path: start, errno: .tooManySymbolicLinks)
    }
}
