// The launcher's fast path, written against raw bytes on purpose, and compiled twice from this one
// file: into the Embedded Swift launcher (`guarded-run`, Sources/guarded-run), which runs it before
// anything else and hands every start it cannot decide to the full binary; and into the full
// binary (`guarded-run-full`, through GuardedCore), which runs the same decision for the command
// lines only its general parser normalizes. Nothing here differs between the two, so the state
// directory, agent name, venv key, imports key, cache format and health-log line cannot drift.
//
// A start on a healthy, cached venv must cost about one extra exec. What an agent start pays beyond
// the C floor is runtime start-up and first-touch page faults, so this file uses pointers, fixed
// buffers and byte loops only: no String, no Array growth, no existentials.
#if GUARDED_EMBEDDED
import CSystemShims
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How this start's health-log line is handled.
public enum FastLogMode {
    /// Appended here (the usual case).
    case write
    /// Already appended by the launcher that handed the start over (its exec of COMMAND failed).
    case alreadyWritten
    /// Lost to a failed write (errno) in the launcher that handed the start over: write nothing, say it.
    case lost(errno: Int32)
}

/// The launcher options as the fast path takes them from argv (the subset of forms it handles; any
/// other form returns nil and goes to the general parser, LaunchRequest.parse). Every command line
/// this accepts, the general parser accepts with the same meaning (LaunchOptionsDifferentialTests).
public struct FastCommandLine {
    public var venv: Bytes?
    public var agent: Bytes?
    public var state: Bytes?
    public var imports: BytesList
    public var giveUpAfter: Bool
    public var observe: Bool
    /// Index in argv of COMMAND (the word after `--`).
    public var commandIndex: Int
}

/// What the decision needs, already validated and normalized.
public struct FastPathInput {
    public var venv: Bytes
    public var agent: Bytes
    public var state: Bytes
    /// `--import` modules, in command-line order (at most `FastPath.maxImports`).
    public var imports: BytesList
    public var giveUpAfter: Bool
    /// Observe mode (`--observe`, GUARDED_RUN_OBSERVE): a hit is logged with `"observe":true`.
    public var observe: Bool
    public var log: FastLogMode

    public init(venv: Bytes, agent: Bytes, state: Bytes, imports: BytesList, giveUpAfter: Bool, observe: Bool, log: FastLogMode = .write) {
        self.venv = venv; self.agent = agent; self.state = state; self.imports = imports
        self.giveUpAfter = giveUpAfter; self.observe = observe; self.log = log
    }
}

/// A cache hit: the venv is still the one that passed its last full check.
public struct FastHit {
    public var input: FastPathInput
    /// COMMAND and its arguments (argv from the word after `--`).
    public var command: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    public var degraded: Bool
    /// The cached reasons (views into the cache buffer, alive while the fallback runs).
    public var reasons: BytesList
    public var checkMicroseconds: Int64
}

/// What the fast path leaves to its caller after a hit (the full binary does it with its general
/// code; the Embedded launcher hands the start to the full binary).
public enum FastFallback {
    /// The health-log line could not be appended directly (a first start with no agent directory,
    /// a log due for rotation, a refused path): log it (and reset the give-up streak), then return;
    /// the decision stands and COMMAND is exec'd.
    case logElsewhere(FastHit)
    /// Writing the line failed (errno; a full disk): say so at most once per boot, reset the give-up
    /// streak, then return.
    case logFailed(FastHit, errno: Int32)
    /// COMMAND has no slash (a PATH search) or execve failed (errno): run it the general way, which
    /// reports a failure. Must not return.
    case execute(FastHit, errno: Int32)
}

public enum FastPath {
    public static let maxImports = 32

    /// Tries the fast path straight from argv. Returns only when it cannot decide "still healthy"
    /// (a cache miss, or a command line only the general parser handles); on a hit it execs.
    public static func attempt(argc: Int, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, startedNs: Int64,
                               log: FastLogMode, fallback: (FastFallback) -> Void) {
        guard var line = parseCommandLine(argc: argc, argv: argv) else { return }
        defer { line.imports.free() }
        guard let command = argv[line.commandIndex], command[0] == UInt8(ascii: "/") else { return }
        // An out-of-range GUARDED_RUN_LOG_MAX_BYTES: the general code says so on stderr, then decides.
        guard logMaxBytesSetting() != nil else { return }

        // Buffers below are sized to what they will hold: malloc then packs them into a page or two,
        // where generous fixed sizes had each first write land on a fresh page (a page fault apiece).
        // The venv: given (absolute and already normalized), or the one COMMAND's bin/ sits in.
        var derivedVenv = ByteBuffer(capacity: line.venv == nil ? strlen(command) + 16 : 0)
        defer { derivedVenv.free() }
        if line.venv == nil {
            let cmd = Bytes(cString: command)
            guard isNormalizedAbsolute(cmd), let bin = lastSlash(cmd), bin >= 4,
                  memcmp(cmd.base + bin - 4, cString("/bin"), 4) == 0 else { return }
            derivedVenv.append(Bytes(cmd.base, bin - 4))
            let venvLength = derivedVenv.count
            derivedVenv.append("/pyvenv.cfg")
            guard !derivedVenv.overflowed, access(derivedVenv.cString, F_OK) == 0 else { return }
            derivedVenv.count = venvLength
            derivedVenv.storage[venvLength] = 0
            line.venv = derivedVenv.bytes
        }
        guard let venv = line.venv, venv.count > 1, isNormalizedAbsolute(venv), isValidUTF8(venv) else { return }
        var observe = line.observe
        if !observe {
            // GUARDED_RUN_OBSERVE: the plain spellings here; any other value (to be warned about)
            // goes the general way.
            guard let on = observeSwitch(getenv(cString("GUARDED_RUN_OBSERVE"))) else { return }
            observe = on
        }
        var stateBuffer = ByteBuffer(capacity: stateCapacity(explicit: line.state))
        defer { stateBuffer.free() }
        guard appendStateDirectory(explicit: line.state, into: &stateBuffer), isValidUTF8(stateBuffer.bytes) else { return }

        var agentBuffer = ByteBuffer(capacity: 256)
        defer { agentBuffer.free() }
        if let agent = line.agent { agentBuffer.append(agent) } else {
            guard defaultAgent(venv: venv, into: &agentBuffer) else { return }
        }
        let input = FastPathInput(venv: venv, agent: agentBuffer.bytes, state: stateBuffer.bytes,
                                  imports: line.imports, giveUpAfter: line.giveUpAfter, observe: observe, log: log)
        decideAndExec(input, argv: argv + line.commandIndex, startedNs: startedNs, fallback: fallback)
    }

    /// The launcher's command line in the forms the fast path handles: `--name value` pairs of known
    /// options with values it can validate exactly as the general parser does, then `--` and
    /// COMMAND. nil for anything else (`--name=value`, unknown options, values to normalize): the
    /// general parser then says what is wrong or normalizes it. The caller frees `imports`.
    public static func parseCommandLine(argc: Int, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> FastCommandLine? {
        var line = FastCommandLine(venv: nil, agent: nil, state: nil, imports: BytesList(capacity: max(min(maxImports, argc), 1)),
                                   giveUpAfter: false, observe: false, commandIndex: 0)
        var i = 1
        while i < argc {
            guard let p = argv[i] else { break }
            let arg = Bytes(cString: p)
            if arg.equals("--") {
                guard i + 1 < argc, let command = argv[i + 1], command[0] != 0 else { break }
                line.commandIndex = i + 1
                return line
            }
            // Flags that take no value.
            if arg.equals("--auto-repair") || arg.equals("--no-auto-repair") { i += 1; continue }
            if arg.equals("--observe") { line.observe = true; i += 1; continue }
            guard i + 1 < argc, let v = argv[i + 1] else { break }
            let value = Bytes(cString: v)
            if arg.equals("--venv") {
                // Absolute and normalized only: anything else is normalized by the general code.
                guard isNormalizedAbsolute(value), isValidUTF8(value) else { break }
                line.venv = value
            } else if arg.equals("--agent") {
                guard isValidAgent(value) else { break }
                line.agent = value
            } else if arg.equals("--state-dir") {
                guard value.count > 0, value[0] == UInt8(ascii: "/"), isValidUTF8(value) else { break }
                line.state = value
            } else if arg.equals("--import") {
                guard isPlainModule(value), line.imports.append(value) else { break }
            } else if arg.equals("--give-up-after") {
                guard isCount(value) else { break }
                line.giveUpAfter = true
            } else if arg.equals("--requirements") || arg.equals("--python") || arg.equals("--find-links") {
                // Any value: only a repair reads them, and the general parser takes any value too.
            } else {
                break
            }
            i += 2
        }
        line.imports.free()
        return nil
    }

    /// `--give-up-after`'s value as the general parser takes it (`Int(v)`, at least 1), in its plain
    /// spelling: ASCII digits, no sign, no leading zero, at most 18 digits (no overflow possible).
    static func isCount(_ v: Bytes) -> Bool {
        guard v.count > 0, v.count <= 18, v[0] != 0x30 else { return false }
        for i in 0..<v.count where v[i] < 0x30 || v[i] > 0x39 { return false }
        return true
    }

    /// The state directory's length bound for `appendStateDirectory`.
    static func stateCapacity(explicit: Bytes?) -> Int {
        func length(_ name: StaticString) -> Int { getenv(cString(name)).map { strlen($0) } ?? 0 }
        // Two-argument max only: the variadic one builds an array (class metadata the launcher does not link).
        let longest = max(max(length("HOME"), length("XDG_STATE_HOME")), max(length("GUARDED_RUN_STATE_DIR"), length("STATE_DIRECTORY")))
        return (explicit?.count ?? 0) + longest + 48
    }

    /// The state directory, as StateDirectory.resolve computes it: `--state-dir`,
    /// GUARDED_RUN_STATE_DIR, systemd's STATE_DIRECTORY (its first path), then the platform's
    /// default. False when there is none the fast path can use.
    public static func appendStateDirectory(explicit: Bytes?, into out: inout ByteBuffer) -> Bool {
        if let explicit {
            guard explicit.count > 0, explicit[0] == UInt8(ascii: "/") else { return false }
            out.append(explicit)
        } else if let env = getenv(cString("GUARDED_RUN_STATE_DIR")), env[0] != 0 {
            guard env[0] == UInt8(ascii: "/") else { return false }
            out.append(Bytes(cString: env))
        } else if let systemd = getenv(cString("STATE_DIRECTORY")), systemd[0] == UInt8(ascii: "/") {
            // systemd's StateDirectory=: the first of its ':'-separated absolute paths.
            let all = Bytes(cString: systemd)
            var end = 0
            while end < all.count && all[end] != UInt8(ascii: ":") { end += 1 }
            out.append(Bytes(all.base, end))
        } else {
            #if canImport(Darwin)
            guard let home = getenv(cString("HOME")), home[0] == UInt8(ascii: "/") else { return false }
            out.append(Bytes(cString: home))
            out.append("/Library/Application Support/guarded-run")
            #else
            if geteuid() == 0 {
                out.append("/var/lib/guarded-run")
            } else if let xdg = getenv(cString("XDG_STATE_HOME")), xdg[0] == UInt8(ascii: "/") {
                out.append(Bytes(cString: xdg))
                out.append("/guarded-run")
            } else if let home = getenv(cString("HOME")), home[0] == UInt8(ascii: "/") {
                out.append(Bytes(cString: home))
                out.append("/.local/state/guarded-run")
            } else {
                return false
            }
            #endif
        }
        return !out.overflowed
    }

    /// The decision itself: read the cache, re-lstat its watch list, log, exec. Returns on any miss.
    public static func decideAndExec(_ input: FastPathInput, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, startedNs: Int64,
                                     fallback: (FastFallback) -> Void) {
        // state + "/venvs/" + key (at most 48 + 1 + 16) + "/fingerprint-" + 12, or + "/agents/" + agent + file name.
        var path = ByteBuffer(capacity: input.state.count + input.agent.count + 160)
        defer { path.free() }
        path.append(input.state)
        let stateLength = path.count
        guard !path.overflowed, stateLength > 0 else { return }
        // The state directory itself may sit behind a link (macOS /var, DynamicUser's
        // /var/lib/private); nothing below it is reached through one (openBeneath), and every
        // directory and file read or written below it must be ours alone, or it is a miss.
        // Descriptors are close-on-exec and stay open on the way to execve (closing them would
        // only cost syscalls); they are closed when the fast path returns (the defers).
        let root = openCloseOnExec(path.cString, O_RDONLY | O_DIRECTORY)
        guard root >= 0 else { return }
        defer { close(root) }
        let me = execEffectiveUserID()
        path.append("/venvs/")
        appendVenvKey(input.venv, into: &path)
        let venvDirEnd = path.count
        path.append("/fingerprint-")
        // With imports, the agent's context is in the key too (Fingerprint.importsKey); a
        // working directory getcwd cannot name in PATH_MAX is a miss.
        let cwd = ByteBuffer(capacity: input.imports.count > 0 ? 4096 : 0)
        defer { cwd.free() }
        if input.imports.count > 0 {
            guard getcwd(UnsafeMutableRawPointer(cwd.storage).assumingMemoryBound(to: CChar.self), 4097) != nil else { return }
        }
        appendImportsKey(input.imports, cwd: input.imports.count > 0 ? cwd.cString : nil, pythonPath: getenv(cString("PYTHONPATH")),
                         command: argv, into: &path)
        guard !path.overflowed else { return }
        // Function scope: closed only when the fast path returns, never on the way to execve.
        var venvDir: Int32 = -1, cacheFile: Int32 = -1
        defer {
            if cacheFile >= 0 { close(cacheFile) }
            if venvDir >= 0 { close(venvDir) }
        }
        guard let data = readCache(root: root, path: &path, stateLength: stateLength, venvDirEnd: venvDirEnd, owner: me,
                                   venvDir: &venvDir, file: &cacheFile) else { return }
        defer { FastMemory.free(data.bytes) }
        let size = data.count

        var parsed = Parsed()
        defer { parsed.reasons.free() }
        guard parseAndVerify(data.bytes, size, venv: input.venv, imports: input.imports, into: &parsed) else { return }
        let decidedNs = Clock.monotonicNanoseconds()
        let hit = FastHit(input: input, command: argv, degraded: parsed.degraded, reasons: parsed.reasons,
                          checkMicroseconds: (decidedNs &- startedNs) / 1000)

        // Function scope: closed only when the fast path returns, never on the way to execve.
        var agentDir: Int32 = -1, log: Int32 = -1
        defer {
            if log >= 0 { close(log) }
            if agentDir >= 0 { close(agentDir) }
        }
        switch input.log {
        case .alreadyWritten: break
        case .lost(let errno): fallback(.logFailed(hit, errno: errno))
        case .write:
            path.count = stateLength + 1
            path.append("agents/")
            path.append(input.agent)
            guard !path.overflowed else { return }
            agentDir = openPrivateDirectory(root, path.storage + stateLength + 1, owner: me)
            let written = agentDir >= 0 ? appendHealthLine(hit, agentDirectory: agentDir, owner: me, log: &log) : .notDirect
            switch written {
            case .written:
                if input.giveUpAfter { unlinkat(agentDir, cString("failed-closed-streak"), 0) }
            case .failed(let failure):
                // A full disk: the agent still starts (availability first); the lost record is said once per boot.
                // (The general code's notice also resets the give-up streak.)
                fallback(.logFailed(hit, errno: failure))
            case .notDirect:
                // A first start for this agent (no directory yet), a log due for rotation or a
                // refused path: the general code creates, rotates or refuses; the decision stands.
                fallback(.logElsewhere(hit))
            }
        }
        // Same PID, environment as received, descriptors untouched (ours were all O_CLOEXEC).
        var failure: Int32 = ENOENT
        if strchr(argv[0]!, 0x2f) != nil {
            _ = execve(argv[0]!, argv, launchEnvironment())
            failure = lastErrno()
        }
        fallback(.execute(hit, errno: failure))
    }

    /// The cache file at `path` (the state directory's path up to `stateLength`, then
    /// `venvs/<key>/fingerprint-<key>`): its directory reached below `root` without a link, the
    /// directory and the file ours alone, the file regular and under 256 KiB, read whole with one
    /// `fstat` and one `read` into a buffer of exactly its size (the caller frees it). The
    /// descriptors are left in `venvDir` and `file` for the caller to close when it returns.
    /// O_NONBLOCK: a FIFO planted at its name cannot hang the start (it is then not a regular file).
    static func readCache(root: Int32, path: inout ByteBuffer, stateLength: Int, venvDirEnd: Int, owner: UInt32,
                          venvDir: inout Int32, file: inout Int32) -> (bytes: UnsafeMutablePointer<UInt8>, count: Int)? {
        path.storage[venvDirEnd] = 0
        venvDir = openPrivateDirectory(root, path.storage + stateLength + 1, owner: owner)
        path.storage[venvDirEnd] = UInt8(ascii: "/")
        guard venvDir >= 0 else { return nil }
        file = openAtCloseOnExec(venvDir, UnsafeRawPointer(path.storage + venvDirEnd + 1).assumingMemoryBound(to: CChar.self),
                                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0)
        guard file >= 0 else { return nil }
        var st = stat()
        guard fstat(file, &st) == 0 else { return nil }
        let cache = FileStatus(st)
        guard cache.isRegularFile, cache.isPrivate(owner: owner), cache.size > 0, cache.size < 256 << 10 else { return nil }
        let size = Int(cache.size)
        let data = FastMemory.allocate(UInt8.self, capacity: size + 1)
        var got = 0
        while got < size {
            let n = read(file, data + got, size + 1 - got)
            if n < 0 && lastErrno() == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        guard got == size else { FastMemory.free(data); return nil }
        return (data, size)
    }

    enum LineWritten { case written, failed(Int32), notDirect }

    /// One health-log line, one write(2) on an O_APPEND descriptor. Byte 0 is a newline, written
    /// only when the log's last byte is not one (a record cut short by a full disk): read with one
    /// pread, so the descriptor is O_RDWR. `.notDirect` when the log is not ours alone or is due
    /// for rotation (the general code rotates it).
    /// `log` receives the opened descriptor (close-on-exec; the caller closes it if it returns).
    static func appendHealthLine(_ hit: FastHit, agentDirectory: Int32, owner: UInt32, log: inout Int32) -> LineWritten {
        let input = hit.input
        var reasonBytes = 0
        for r in 0..<hit.reasons.count { reasonBytes += hit.reasons[r].count + 3 }
        // Escaping can grow a byte to six (\u00XX).
        var line = ByteBuffer(capacity: 257 + 6 * (input.agent.count + input.venv.count + reasonBytes))
        defer { line.free() }
        formatHealthLine(hit, into: &line)
        guard !line.overflowed else { return .notDirect }

        log = openAtCloseOnExec(agentDirectory, cString("health.jsonl"), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard log >= 0 else { return .notDirect }
        var st = stat()
        guard fstat(log, &st) == 0 else { return .notDirect }
        let status = FileStatus(st)
        guard status.isRegularFile, status.isPrivate(owner: owner),
              status.size <= (logMaxBytesSetting() ?? LaunchFormat.logMaxBytesDefault) &- Int64(line.count) else { return .notDirect }
        var start = 1
        if status.size > 0 {
            var last: UInt8 = UInt8(ascii: "\n")
            if pread(log, &last, 1, off_t(status.size - 1)) == 1 && last != UInt8(ascii: "\n") { start = 0 }
        }
        var written = start
        while written < line.count {
            let n = write(log, line.storage + written, line.count - written)
            if n < 0 && lastErrno() == EINTR { continue }
            if n <= 0 { return .failed(n == 0 || lastErrno() == 0 ? ENOSPC : lastErrno()) }
            written += n
        }
        return .written
    }

    /// The fast-ok record, byte for byte what `HealthRecord.jsonLine` writes for it (FastPathTests),
    /// with a leading newline (see `appendHealthLine`).
    public static func formatHealthLine(_ hit: FastHit, into line: inout ByteBuffer) {
        let input = hit.input
        let wall = Clock.wallTime()
        line.append("\n{\"time\":\"")
        appendRFC3339(seconds: wall.seconds, nanoseconds: wall.nanoseconds, into: &line)
        line.append("\",\"agent\":\"")
        line.appendJSONEscaped(input.agent)
        line.append("\",\"venv\":\"")
        line.appendJSONEscaped(input.venv)
        line.append(hit.degraded ? "\",\"status\":\"degraded\"" : "\",\"status\":\"healthy\"")
        line.append(",\"decision\":\"fast-ok\",\"reasons\":[")
        for r in 0..<hit.reasons.count {
            if r > 0 { line.append(UInt8(ascii: ",")) }
            line.append(UInt8(ascii: "\""))
            line.appendJSONEscaped(hit.reasons[r])
            line.append(UInt8(ascii: "\""))
        }
        line.append("],\"check_us\":")
        line.appendDecimal(hit.checkMicroseconds)
        line.append(",\"version\":\"")
        line.append(LaunchFormat.version)
        line.append("\",\"pid\":")
        line.appendDecimal(Int64(getpid()))
        if input.observe { line.append(",\"observe\":true") }
        line.append("}\n")
    }

    /// The directory `relative` below `root`, no link followed, ours alone (owned by `owner`, not
    /// writable by group or others); -1 otherwise.
    static func openPrivateDirectory(_ root: Int32, _ relative: UnsafeMutablePointer<UInt8>, owner: UInt32) -> Int32 {
        let dir = openBeneath(root, UnsafeRawPointer(relative).assumingMemoryBound(to: CChar.self), O_RDONLY | O_DIRECTORY)
        guard dir >= 0 else { return -1 }
        var st = stat()
        guard fstat(dir, &st) == 0, isPrivate(mode: UInt32(truncatingIfNeeded: st.st_mode), uid: UInt32(truncatingIfNeeded: st.st_uid), owner: owner) else {
            close(dir); return -1
        }
        return dir
    }

    /// What a verified cache says (the reasons point into the cache buffer; free `reasons`).
    public struct Parsed {
        public var degraded = false
        // A report has at most one reason per check (about a dozen).
        public var reasons = BytesList(capacity: 32)
        public init() {}
    }

    /// Checks the checksum, the header, the venv and import lines, and re-lstats every watch entry.
    /// Rewrites the buffer in place (each path's newline becomes a NUL for lstat). A path or reason
    /// holding a backslash (an escape) is read unescaped in place: escapes only shorten it.
    public static func parseAndVerify(_ b: UnsafeMutablePointer<UInt8>, _ n: Int, venv: Bytes, imports: BytesList,
                               into parsed: inout Parsed) -> Bool {
        var sawVenv = false, sawImports = false, watched = 0
        let ok = FingerprintScanner.forEachField(b, n) { key, value, lineEnd in
            if key.equals("watch") {
                guard let (recorded, pathStart) = FingerprintScanner.parseWatch(value) else { return false }
                let pathBase = UnsafeMutablePointer(mutating: value.base + pathStart)
                let length = unescapeInPlace(pathBase, value.count - pathStart)
                guard length > 0 else { return false }
                pathBase[length] = 0 // the path ends at (or before) the newline: a C string in place
                let watchedPath = UnsafeRawPointer(pathBase).assumingMemoryBound(to: CChar.self)
                if recorded.isAbsent {
                    guard pathIsAbsent(cPath: watchedPath) else { return false }
                } else {
                    guard let now = fileStatusIfPresent(cPath: watchedPath), now.sameIdentityAndTimes(as: recorded) else { return false }
                }
                _ = lineEnd
                watched += 1
            } else if key.equals("venv") {
                guard value.equals(venv) || (memchr(value.base, 0x5c, value.count) != nil && unescapedEquals(value, venv)) else { return false }
                sawVenv = true
            } else if key.equals("imports") {
                guard importsLineMatches(value, imports) else { return false }
                sawImports = true
            } else if key.equals("status") {
                if value.equals("degraded") { parsed.degraded = true } else if !value.equals("healthy") { return false }
            } else if key.equals("reason") {
                let base = UnsafeMutablePointer(mutating: value.base)
                let length = unescapeInPlace(base, value.count)
                guard parsed.reasons.append(Bytes(value.base, length)) else { return false }
            } else if !key.equals("checked") {
                return false
            }
            return true
        }
        return ok && sawVenv && sawImports && watched > 0
    }

    /// Undoes the cache's field escapes (`\\`, `\n`, `\t`, `\r`; any other escaped byte stands for
    /// itself, as `unescapeField` reads it) in place; the new length.
    static func unescapeInPlace(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        var out = 0, i = 0
        while i < count {
            var c = p[i]
            if c == UInt8(ascii: "\\") {
                // A lone backslash at the end stands for nothing (as unescapeField reads it).
                guard i + 1 < count else { break }
                i += 1
                switch p[i] {
                case UInt8(ascii: "n"): c = UInt8(ascii: "\n")
                case UInt8(ascii: "t"): c = UInt8(ascii: "\t")
                case UInt8(ascii: "r"): c = UInt8(ascii: "\r")
                default: c = p[i]
                }
            }
            p[out] = c
            out += 1
            i += 1
        }
        return out
    }

    /// An escaped `venv` field against the venv (a path with a backslash, newline or tab).
    static func unescapedEquals(_ value: Bytes, _ venv: Bytes) -> Bool {
        let copy = FastMemory.allocate(UInt8.self, capacity: value.count + 1)
        defer { FastMemory.free(copy) }
        memcpy(copy, value.base, value.count)
        let length = unescapeInPlace(copy, value.count)
        return Bytes(copy, length).equals(venv)
    }

    /// The cached `imports` line is the sorted, de-duplicated module list joined by commas.
    static func importsLineMatches(_ line: Bytes, _ imports: BytesList) -> Bool {
        let list = sortedUnique(imports)
        defer { list.free() }
        var pos = 0
        for k in 0..<list.count {
            let m = list[k]
            if k > 0 { guard pos < line.count, line[pos] == UInt8(ascii: ",") else { return false }; pos += 1 }
            guard pos + m.count <= line.count, memcmp(line.base + pos, m.base, m.count) == 0 else { return false }
            pos += m.count
        }
        return pos == line.count
    }

    /// The modules sorted and de-duplicated (a new list the caller frees). Insertion sort: a
    /// handful of ASCII names, whose byte order equals the String order the slow path sorts by.
    public static func sortedUnique(_ imports: BytesList) -> BytesList {
        var out = BytesList(capacity: max(imports.count, 1))
        for k in 0..<imports.count {
            let m = imports[k]
            var duplicate = false
            for j in 0..<out.count where out[j].equals(m) { duplicate = true }
            if duplicate { continue }
            _ = out.append(m)
            var j = out.count - 1
            while j > 0 && less(out[j], out[j - 1]) {
                let t = out[j]; out[j] = out[j - 1]; out[j - 1] = t
                j -= 1
            }
        }
        return out
    }

    static func less(_ a: Bytes, _ b: Bytes) -> Bool {
        let r = memcmp(a.base, b.base, min(a.count, b.count))
        return r < 0 || (r == 0 && a.count < b.count)
    }

    /// `Fingerprint.importsKey`: `none`, or the first 12 hex digits of FNV-1a of the sorted list,
    /// followed by the agent's context when `cwd` is given (`hashContext`).
    public static func appendImportsKey(_ imports: BytesList, cwd: UnsafePointer<CChar>? = nil, pythonPath: UnsafePointer<CChar>? = nil,
                                        command: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil, into out: inout ByteBuffer) {
        let list = sortedUnique(imports)
        defer { list.free() }
        if list.count == 0 { out.append("none"); return }
        var h = FNV1a.offset
        for k in 0..<list.count {
            if k > 0 { h = FNV1a.add(h, UInt8(ascii: ",")) }
            h = FNV1a.add(h, list[k].base, list[k].count)
        }
        if let cwd, let command { h = hashContext(h, cwd: cwd, pythonPath: pythonPath, command: command) }
        out.appendHex(h, digits: 12)
    }

    /// `AgentContext.keyBytes` folded into `h`: 0x00 + cwd, 0x00 + ("=" + PYTHONPATH, or "-" when
    /// unset), then 0x00 + each element of COMMAND's NULL-terminated argv.
    public static func hashContext(_ h: UInt64, cwd: UnsafePointer<CChar>, pythonPath: UnsafePointer<CChar>?,
                                   command: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UInt64 {
        func fold(_ h: UInt64, _ separator: UInt8, _ s: UnsafePointer<CChar>) -> UInt64 {
            FNV1a.add(FNV1a.add(h, separator), UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), strlen(s))
        }
        var h = fold(h, 0, cwd)
        h = FNV1a.add(h, 0)
        if let pythonPath { h = fold(h, UInt8(ascii: "="), pythonPath) } else { h = FNV1a.add(h, UInt8(ascii: "-")) }
        var i = 0
        while let arg = command[i] { h = fold(h, 0, arg); i += 1 }
        return h
    }

    /// `StateDirectory.key(for:)`: slug of the path (last 48 bytes) + "-" + FNV-1a hex.
    public static func appendVenvKey(_ venv: Bytes, into out: inout ByteBuffer) {
        var slug = ByteBuffer(capacity: venv.count + 1)
        defer { slug.free() }
        for i in 0..<venv.count {
            let b = venv[i]
            if ASCII.isAlphanumeric(b) || b == 46 || b == 95 { slug.append(b) } else if slug.count == 0 || slug.storage[slug.count - 1] != 45 { slug.append(45) }
        }
        var first = 0
        while first < slug.count && (slug.storage[first] == 45 || slug.storage[first] == 46) { first += 1 }
        var body = Bytes(UnsafePointer(slug.storage + first), slug.count - first)
        if body.count > 48 { body = Bytes(body.base + body.count - 48, 48) }
        out.append(body)
        out.append(45)
        out.appendHex(FNV1a.add(FNV1a.offset, venv.base, venv.count), digits: 16)
    }

    /// `defaultAgentName(venv:)` for names that need no cleaning; false sends the start the general way.
    public static func defaultAgent(venv: Bytes, into out: inout ByteBuffer) -> Bool {
        guard let slash = lastSlash(venv) else { return false }
        var name = Bytes(venv.base + slash + 1, venv.count - slash - 1)
        if name.equals(".venv") || name.equals("venv") || name.equals("env") || name.equals(".env")
            || name.equals("virtualenv") || name.equals(".virtualenv") {
            guard slash > 0, let parentSlash = lastSlash(Bytes(venv.base, slash)) else { return false }
            name = Bytes(venv.base + parentSlash + 1, slash - parentSlash - 1)
        }
        guard isValidAgent(name) else { return false }
        out.append(name)
        return !out.overflowed
    }

    /// GUARDED_RUN_OBSERVE as the general code reads it (`observeFromEnvironment`), for its plain
    /// spellings: unset, empty, `0`, `false`, `no` off; `1`, `true`, `yes` on; nil for anything else.
    public static func observeSwitch(_ value: UnsafePointer<CChar>?) -> Bool? {
        guard let value else { return false }
        let v = Bytes(cString: value)
        if v.count == 0 || v.equals("0") || v.equals("false") || v.equals("no") { return false }
        if v.equals("1") || v.equals("true") || v.equals("yes") { return true }
        return nil
    }

    /// GUARDED_RUN_LOG_MAX_BYTES when unset (the default) or a plain whole number in range; nil
    /// otherwise, which the fast path leaves to the general code (`Setting`, which says what is wrong).
    public static func logMaxBytesSetting() -> Int64? {
        guard let text = getenv(cString("GUARDED_RUN_LOG_MAX_BYTES")), text[0] != 0 else { return LaunchFormat.logMaxBytesDefault }
        var n: Int64 = 0
        var i = 0
        while text[i] != 0 {
            let c = UInt8(bitPattern: text[i])
            // 14 digits stay far below Int64's limit, so the arithmetic cannot overflow.
            guard c >= 48, c <= 57, i < 14 else { return nil }
            n = n * 10 + Int64(c - 48)
            i += 1
        }
        return n >= 1 && n <= LaunchFormat.logMaxBytesLimit ? n : nil
    }

    static func lastSlash(_ b: Bytes) -> Int? {
        var i = b.count - 1
        while i >= 0 { if b[i] == UInt8(ascii: "/") { return i }; i -= 1 }
        return nil
    }

    /// Absolute, no empty, `.` or `..` component, no trailing slash: what `normalizedPath` leaves alone.
    public static func isNormalizedAbsolute(_ b: Bytes) -> Bool {
        guard b.count > 0, b[0] == UInt8(ascii: "/") else { return false }
        if b.count == 1 { return true }
        guard b[b.count - 1] != UInt8(ascii: "/") else { return false }
        var componentStart = 1
        for i in 1...b.count {
            if i == b.count || b[i] == UInt8(ascii: "/") {
                let len = i - componentStart
                if len == 0 { return false }
                if len == 1 && b[componentStart] == UInt8(ascii: ".") { return false }
                if len == 2 && b[componentStart] == UInt8(ascii: ".") && b[componentStart + 1] == UInt8(ascii: ".") { return false }
                componentStart = i + 1
            }
        }
        return true
    }

    /// `isValidAgentName`, on bytes: [A-Za-z0-9._@-], 1 to 128 bytes, not starting with '.'.
    public static func isValidAgent(_ b: Bytes) -> Bool {
        guard b.count > 0, b.count <= 128, b[0] != UInt8(ascii: ".") else { return false }
        for i in 0..<b.count {
            let c = b[i]
            guard ASCII.isAlphanumeric(c) || c == 46 || c == 95 || c == 45 || c == 64 else { return false }
        }
        return true
    }

    /// ASCII module names only (byte order then equals the String order the slow path sorts by).
    public static func isPlainModule(_ b: Bytes) -> Bool {
        guard b.count > 0, b[0] != UInt8(ascii: "."), b[b.count - 1] != UInt8(ascii: ".") else { return false }
        var atPartStart = true
        for i in 0..<b.count {
            let c = b[i]
            if c == UInt8(ascii: ".") { if atPartStart { return false }; atPartStart = true; continue }
            guard ASCII.isAlphanumeric(c) || c == 95 else { return false }
            if atPartStart && ASCII.isDigit(c) { return false }
            atPartStart = false
        }
        return true
    }

    static func appendRFC3339(seconds: Int64, nanoseconds: Int64, into out: inout ByteBuffer) {
        guard out.count + Clock.rfc3339Length <= out.capacity else { out.overflowed = true; return }
        Clock.writeRFC3339(seconds: seconds, nanoseconds: nanoseconds, into: out.storage + out.count)
        out.count += Clock.rfc3339Length
        out.storage[out.count] = 0
    }
}

/// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF): what Swift's
/// String keeps byte for byte. The general code reads paths into Strings, which would replace
/// anything else; the fast path hands such paths to it rather than read a different path.
public func isValidUTF8(_ b: Bytes) -> Bool {
    var i = 0
    while i < b.count {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var need = 0
        var low: UInt8 = 0x80, high: UInt8 = 0xbf
        switch c {
        case 0xc2...0xdf: need = 1
        case 0xe0: need = 2; low = 0xa0
        case 0xe1...0xec, 0xee...0xef: need = 2
        case 0xed: need = 2; high = 0x9f
        case 0xf0: need = 3; low = 0x90
        case 0xf1...0xf3: need = 3
        case 0xf4: need = 3; high = 0x8f
        default: return false
        }
        guard i + need < b.count else { return false }
        guard b[i + 1] >= low, b[i + 1] <= high else { return false }
        for k in 2..<(need + 1) where b[i + k] < 0x80 || b[i + k] > 0xbf { return false }
        i += need + 1
    }
    return true
}

/// ASCII classes on bytes, one definition for every reader.
public enum ASCII {
    @inline(__always) public static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) public static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a }
    @inline(__always) public static func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || isLetter(c) }
    @inline(__always) public static func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }
    /// 0-9 and a-f only (the form this program writes hashes and ids in).
    @inline(__always) public static func isLowerHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) }
    /// A letter, digit or `_`: a C identifier's (and an environment variable name's) byte.
    @inline(__always) public static func isWordByte(_ c: UInt8) -> Bool { isAlphanumeric(c) || c == UInt8(ascii: "_") }
    /// The value of a hex digit, either case; nil for anything else.
    @inline(__always) public static func hexValue(_ c: UInt8) -> UInt8? {
        if isDigit(c) { return c - 0x30 }
        let l = c | 0x20
        return l >= 0x61 && l <= 0x66 ? l - 0x57 : nil
    }
}

/// How the Embedded launcher hands a start to the full binary: one execve of `guarded-run-full`
/// beside its own executable, with the same argv and the environment as received, with
/// `GUARDED_RUN_HANDOVER=<pid>:<cache format>[:logged|:unlogged:<errno>]` put before it. The PID is the
/// launcher's own, which execve keeps: the full binary takes a value naming its own PID as the
/// handover (and removes that one entry, so COMMAND never sees it), and leaves any other (a caller's
/// stale export) in the environment as received, faking nothing. It compares the cache format with
/// its own (a mismatched pair, half an upgrade, is said once per boot) and learns what happened to
/// the health-log line. A launcher that finds its own handover in its environment was exec'd as
/// the full binary (a link to, or a copy of, itself).
public enum Handover {
    /// `GUARDED_RUN_HANDOVER=<pid>:<format>[:suffix]`, NUL-terminated in `out`.
    public static func appendAssignment(log: FastLogMode, into out: inout ByteBuffer) {
        out.append(LaunchFormat.handoverVariable)
        out.append(UInt8(ascii: "="))
        out.appendDecimal(Int64(getpid()))
        out.append(UInt8(ascii: ":"))
        out.appendDecimal(Int64(LaunchFormat.fingerprintFormat))
        switch log {
        case .write: break
        case .alreadyWritten: out.append(":logged")
        case .lost(let errno):
            out.append(":unlogged:")
            out.appendDecimal(Int64(errno))
        }
    }

    /// The part after `<pid>:` when the value names this process's PID (a launcher handed this very
    /// process over); nil for a value anyone else set.
    public static func fromThisProcess(_ value: Bytes) -> Bytes? {
        var pid: Int64 = 0
        var i = 0
        // PIDs have at most 10 digits: no overflow.
        while i < value.count, i < 10, ASCII.isDigit(value[i]) {
            pid = pid * 10 + Int64(value[i] - 0x30)
            i += 1
        }
        guard i > 0, i < value.count, value[i] == UInt8(ascii: ":"), pid == Int64(getpid()) else { return nil }
        return Bytes(value.base + i + 1, value.count - i - 1)
    }

    /// The value after the PID: the launcher's cache format and log mode, nil when it does not parse.
    public static func parse(_ value: Bytes) -> (format: Int, log: FastLogMode)? {
        var format = 0
        var i = 0
        while i < value.count, ASCII.isDigit(value[i]), i < 6 {
            format = format * 10 + Int(value[i] - 0x30)
            i += 1
        }
        guard i > 0 else { return nil }
        let rest = Bytes(value.base + i, value.count - i)
        if rest.count == 0 { return (format, .write) }
        if rest.equals(":logged") { return (format, .alreadyWritten) }
        let unlogged: StaticString = ":unlogged:"
        if rest.count > unlogged.utf8CodeUnitCount, rest.count <= unlogged.utf8CodeUnitCount + 4,
           memcmp(rest.base, unlogged.utf8Start, unlogged.utf8CodeUnitCount) == 0 {
            var errno: Int32 = 0
            for k in unlogged.utf8CodeUnitCount..<rest.count {
                guard ASCII.isDigit(rest[k]) else { return nil }
                errno = errno * 10 + Int32(rest[k] - 0x30)
            }
            return (format, .lost(errno: errno))
        }
        return nil
    }
}
