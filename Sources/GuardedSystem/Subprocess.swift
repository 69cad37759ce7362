internal import CSystemShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child ended: its own exit code, or the signal that killed it.
public enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with \(code)"
        case .signaled(let sig): return "killed by signal \(sig)"
        }
    }
}

/// What a finished child left behind.
public struct SubprocessResult: Sendable {
    public var termination: Termination
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]
    /// The child ran past its deadline and was killed (with its whole process group).
    public var timedOut: Bool
    public var durationNanoseconds: Int64
    /// `cancelWhen` said stop and the child was killed (with its whole process group).
    public var cancelled: Bool

    public init(termination: Termination, standardOutput: [UInt8], standardError: [UInt8], timedOut: Bool,
                durationNanoseconds: Int64, cancelled: Bool = false) {
        self.termination = termination
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.timedOut = timedOut
        self.durationNanoseconds = durationNanoseconds
        self.cancelled = cancelled
    }

    public var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }
    public var succeeded: Bool { termination == .exited(0) && !timedOut && !cancelled }
}

/// A user a child runs as (root building a venv that belongs to someone else).
public struct UserIdentity: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) { self.uid = uid; self.gid = gid }
}

/// Spawns helper processes (the Python probe, installers, git, systemctl) through one path:
/// posix_spawn, stdin from /dev/null, stdout and stderr captured, signal mask emptied and every
/// handler reset to default in the child, its own process group so a timeout kills it and its
/// children, and a deadline. With `runAs` the child runs as that user: posix_spawn cannot change
/// credentials, so a C fork-and-exec (`guarded_spawn_as_user`) does the same set-up and drops
/// groups, gid and uid before `execve`.
public enum Subprocess {
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String]? = nil,
        workingDirectory: String? = nil,
        timeoutSeconds: Double? = nil,
        outputLimit: Int = 16 << 20,
        cancelWhen: (() -> Bool)? = nil,
        standardInput: [UInt8]? = nil,
        runAs user: UserIdentity? = nil
    ) throws(SystemError) -> SubprocessResult {
        let started = Clock.monotonicNanoseconds()
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard makePipe(&outPipe) else { throw SystemError("pipe") }
        guard makePipe(&errPipe) else { _ = close(outPipe[0]); _ = close(outPipe[1]); throw SystemError("pipe") }
        if standardInput != nil {
            guard makePipe(&inPipe) else {
                for fd in outPipe + errPipe { _ = close(fd) }
                throw SystemError("pipe")
            }
            // Written from the poll loop below, never blocking: a child that does not read its
            // stdin cannot stall the deadline.
            _ = fcntl(inPipe[1], F_SETFL, fcntl(inPipe[1], F_GETFL) | O_NONBLOCK)
        }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        if standardInput != nil {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let workingDirectory { guarded_spawn_add_chdir(&actions, workingDirectory) }

        var emptyMask = sigset_t(), allSignals = sigset_t()
        sigemptyset(&emptyMask)
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        // argv[0] is the path as given: Python derives sys.executable (and so its venv) from it.
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envStrings = environment ?? Environment.all()
        let envp = envStrings.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                guard let user else { return posix_spawn(&pid, executable, &actions, &attributes, a.baseAddress!, e.baseAddress!) }
                var child: Int32 = 0
                let r = guarded_spawn_as_user(&child, executable, a.baseAddress!, e.baseAddress!, workingDirectory,
                                              standardInput != nil ? inPipe[0] : -1, outPipe[1], errPipe[1], user.uid, user.gid)
                pid = pid_t(child)
                return r
            }
        }
        _ = close(outPipe[1]); _ = close(errPipe[1])
        if inPipe[0] >= 0 { _ = close(inPipe[0]) }
        if rc != 0 {
            _ = close(outPipe[0]); _ = close(errPipe[0])
            if inPipe[1] >= 0 { _ = close(inPipe[1]) }
            throw SystemError("spawn", path: executable, errno: Errno(rawValue: rc))
        }
        // A child that exits without reading all of its stdin makes the next write fail with
        // EPIPE; SIGPIPE would kill this process, so it is ignored while writing (the child
        // itself starts with every signal at its default).
        var previousPipeAction = sigaction()
        if standardInput != nil {
            var ignore = sigaction()
            #if canImport(Darwin)
            ignore.__sigaction_u.__sa_handler = SIG_IGN
            #else
            ignore.__sigaction_handler.sa_handler = SIG_IGN
            #endif
            sigemptyset(&ignore.sa_mask)
            sigaction(SIGPIPE, &ignore, &previousPipeAction)
        }
        defer { if standardInput != nil { sigaction(SIGPIPE, &previousPipeAction, nil) } }
        let input = standardInput ?? []
        var inputWritten = 0

        let deadline = timeoutSeconds.map { Clock.deadline(after: $0, from: started) }
        var out: [UInt8] = [], err: [UInt8] = []
        var timedOut = false, cancelled = false
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: inPipe[1], events: Int16(POLLOUT), revents: 0)]
        if fds[2].fd >= 0 && input.isEmpty { _ = close(fds[2].fd); fds[2].fd = -1 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds[0].fd >= 0 || fds[1].fd >= 0 {
            var waitMs: Int32 = -1
            if let deadline {
                let left = deadline - Clock.monotonicNanoseconds()
                if left <= 0 { timedOut = true; break }
                waitMs = Int32(min(left / 1_000_000 + 1, 60_000))
            }
            if let cancelWhen {
                // A signal handler's flag is looked at on every wake-up: poll returns EINTR when one
                // arrives, and at least every 50 ms otherwise.
                if cancelWhen() { cancelled = true; break }
                waitMs = waitMs < 0 ? 50 : min(waitMs, 50)
            }
            let n = poll(&fds, nfds_t(fds.count), waitMs)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { continue }
            if fds[2].fd >= 0 && fds[2].revents != 0 {
                let wrote = input.withUnsafeBytes { write(fds[2].fd, $0.baseAddress! + inputWritten, input.count - inputWritten) }
                if wrote > 0 { inputWritten += wrote }
                if inputWritten == input.count || (wrote < 0 && errno != EINTR && errno != EAGAIN) {
                    _ = close(fds[2].fd)
                    fds[2].fd = -1
                }
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let got = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress!, $0.count) }
                if got > 0 {
                    if i == 0 { if out.count < outputLimit { out.append(contentsOf: buffer[0..<got]) } }
                    else if err.count < outputLimit { err.append(contentsOf: buffer[0..<got]) }
                } else if got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN) {
                    _ = close(fds[i].fd)
                    fds[i].fd = -1
                }
            }
        }
        for f in fds where f.fd >= 0 { _ = close(f.fd) }
        if timedOut || cancelled { _ = kill(-pid, SIGKILL); _ = kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw SystemError("waitpid", path: executable) }
        }
        return SubprocessResult(termination: decodeWaitStatus(status), standardOutput: out,
                                standardError: err, timedOut: timedOut,
                                durationNanoseconds: Clock.monotonicNanoseconds() - started, cancelled: cancelled)
    }

    /// Finds `name` on PATH (or returns it when it contains a slash and is executable).
    public static func findExecutable(_ name: String, path: String? = Environment.value("PATH")) -> String? {
        if name.contains("/") { return isExecutable(name) ? name : nil }
        for dir in (path ?? "/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            if isExecutable(candidate), fileStatusIfPresent(candidate, followSymlinks: true)?.isRegularFile == true {
                return candidate
            }
        }
        return nil
    }

    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        fds.withUnsafeMutableBufferPointer { guarded_pipe_cloexec($0.baseAddress!) == 0 }
    }
}

/// Decodes a waitpid status word (the WIFEXITED/WTERMSIG macros are not importable into Swift).
public func decodeWaitStatus(_ status: Int32) -> Termination {
    let signal = status & 0x7f
    if signal == 0 { return .exited((status >> 8) & 0xff) }
    return .signaled(signal)
}
