// guarded-run: the launcher units and plists run. Embedded Swift: no runtime start-up before main,
// a static executable of well under 1 MB. It runs the fast path (GuardedLaunch/FastPath.swift, the
// same file the full binary compiles; the other files here are symlinks to GuardedLaunch) and execs
// the agent on a cache hit. Everything else goes to guarded-run-full beside it, with the same argv
// (`Handover`).
import CSystemShims

@main
struct GuardedRunLauncher {
    static func main() {
        let started = Clock.monotonicNanoseconds()
        let argc = ProcessArguments.count
        guard let argv = ProcessArguments.vector, argc > 0 else { fail("no argument vector", errno: 0) }
        if argc > 1 {
            FastPath.attempt(argc: argc, argv: argv, startedNs: started, log: .write) { fallback in
                switch fallback {
                case .logElsewhere: handOver(argv, log: .write)
                case .logFailed(_, let errno): handOver(argv, log: .lost(errno: errno))
                case .execute: handOver(argv, log: .alreadyWritten)
                }
            }
        }
        handOver(argv, log: .write)
    }

    /// Execs `guarded-run-full` from this executable's directory (never a PATH search) with the
    /// same argv and the environment as received after the handover variable (`Handover`). Exit 70
    /// with one line when it cannot.
    static func handOver(_ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, log: FastLogMode) -> Never {
        let capacity = 4096 + LaunchFormat.fullBinaryName.utf8CodeUnitCount + 2
        var path = ByteBuffer(capacity: capacity)
        let length = guarded_executable_path(UnsafeMutableRawPointer(path.storage).assumingMemoryBound(to: CChar.self), UInt(capacity))
        guard length > 0, let slash = FastPath.lastSlash(Bytes(path.storage, Int(length))) else {
            // No /proc (a chroot, a mount namespace without it): the full binary could not run there
            // either (the Swift runtime aborts at start-up without /proc), so this is the one line.
            fail("cannot find its own executable (/proc/self/exe) to run guarded-run-full beside it", errno: lastErrno(),
                 hint: "; guarded-run-full needs /proc mounted (see docs/guarded-run.md)\n")
        }
        path.count = slash + 1
        path.append(LaunchFormat.fullBinaryName)

        // Our own handover in our environment: guarded-run-full is this launcher again (a link or a
        // copy), which would exec itself forever in this PID.
        if let value = getenv(cString(LaunchFormat.handoverVariable)), Handover.fromThisProcess(Bytes(cString: value)) != nil {
            var message = ByteBuffer(capacity: path.count + 80)
            message.append(path.bytes)
            message.append(" is not the full binary: it runs the launcher again")
            fail(message.cString, errno: 0)
        }
        // Ours first (what the full binary's getenv finds), then the environment exactly as received.
        let environment = launchEnvironment()
        var count = 0
        while environment[count] != nil { count += 1 }
        let envp = FastMemory.allocate(UnsafeMutablePointer<CChar>?.self, capacity: count + 2)
        var assignment = ByteBuffer(capacity: LaunchFormat.handoverVariable.utf8CodeUnitCount + 48)
        Handover.appendAssignment(log: log, into: &assignment)
        envp[0] = UnsafeMutableRawPointer(assignment.storage).assumingMemoryBound(to: CChar.self)
        for i in 0...count { envp[i + 1] = environment[i] }
        _ = execve(path.cString, argv, envp)
        let failure = lastErrno()
        var message = ByteBuffer(capacity: path.count + 160)
        message.append("cannot run the full binary ")
        message.append(path.bytes)
        fail(message.cString, errno: failure)
    }

    static let installHint: StaticString = "; install guarded-run-full beside guarded-run (see docs/guarded-run.md)\n"

    static func fail(_ what: StaticString, errno: Int32, hint: StaticString = installHint) -> Never {
        fail(cString(what), errno: errno, hint: hint)
    }

    /// `guarded-run: <what>[: <strerror>]<hint>`, exit 70 (the installation is incomplete).
    static func fail(_ what: UnsafePointer<CChar>, errno: Int32, hint: StaticString = installHint) -> Never {
        var line = ByteBuffer(capacity: strlen(what) + 256)
        line.append("guarded-run: ")
        line.append(Bytes(cString: what))
        if errno != 0, let text = strerror(errno) {
            line.append(": ")
            line.append(Bytes(cString: text))
        }
        line.append(hint)
        _ = write(2, line.storage, line.count)
        exit(70)
    }
}
