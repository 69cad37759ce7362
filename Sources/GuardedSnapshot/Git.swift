import GuardedSystem

/// Reads the git state of the repository `directory` is in by running `git` (through
/// `Subprocess.run`, with a timeout). No git on PATH, not a repository, or any git failure: nil,
/// never an error; a snapshot does not depend on git.
struct GitReader {
    private let git = Subprocess.findExecutable("git")
    /// Repository top level -> state, so a set of fifty roots in one repository runs git four times.
    private var byRepository: [String: GitState] = [:]
    private var byDirectory: [String: String?] = [:]

    mutating func state(of directory: String) -> GitState? {
        guard let git else { return nil }
        let top: String?
        if let known = byDirectory[directory] {
            top = known
        } else {
            // Spawning git costs milliseconds; a few lstats tell most roots are in no repository.
            top = GitReader.mayBeInWorkTree(directory) ? run(git, directory, ["rev-parse", "--show-toplevel"]) : nil
            byDirectory[directory] = top
        }
        guard let top, !top.isEmpty else { return nil }
        if let known = byRepository[top] { return known }
        let commit = run(git, top, ["rev-parse", "--verify", "-q", "HEAD"])
        let branch = run(git, top, ["symbolic-ref", "-q", "--short", "HEAD"])
        let status = run(git, top, ["status", "--porcelain", "--untracked-files=normal"])
        let state = GitState(repository: top, commit: commit, branch: branch, dirty: !(status ?? "").isEmpty)
        byRepository[top] = state
        return state
    }

    /// False only when git cannot find a work tree for `directory`: no `.git` (a directory, or a
    /// file as in a linked worktree or submodule) in it or any parent, and no GIT_DIR or
    /// GIT_WORK_TREE pointing git elsewhere. (GIT_CEILING_DIRECTORIES and the like only make git
    /// find less.)
    static func mayBeInWorkTree(_ directory: String) -> Bool {
        if Environment.value("GIT_DIR") != nil || Environment.value("GIT_WORK_TREE") != nil { return true }
        var current = directory
        while true {
            if fileStatusIfPresent(current == "/" ? "/.git" : current + "/.git") != nil { return true }
            let parent = parentDirectory(of: current)
            if parent == current || parent == "." { return false }
            current = parent
        }
    }

    /// stdout without its trailing newline, or nil when git failed.
    private func run(_ git: String, _ directory: String, _ arguments: [String]) -> String? {
        // GIT_OPTIONAL_LOCKS=0: `git status` must not write the index (we only read).
        let environment = Environment.all().filter { !$0.hasPrefix("GIT_OPTIONAL_LOCKS=") } + ["GIT_OPTIONAL_LOCKS=0"]
        guard let result = try? Subprocess.run(git, ["-C", directory] + arguments, environment: environment, timeoutSeconds: 10),
              result.succeeded else { return nil }
        var text = result.outputText
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
