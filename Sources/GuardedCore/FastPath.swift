import GuardedSystem

// The launcher's fast path, written against raw bytes on purpose.
//
// A start on a healthy, cached venv must cost about one extra exec. Measured here, what an agent
// start pays beyond the C floor is first-touch page faults: every distinct stdlib routine (String
// indexing, Set, interpolation, generic metadata) is another page of a 5 MB text segment touched for
// the first time. So this file uses pointers, fixed buffers and byte loops only: no String, no
// Array growth, no generics on the hot path. It computes exactly what the String-based code in
// Launcher.swift, StateDirectory.swift and Fingerprint.swift computes (unit tests hold them equal)
// and hands anything unusual back to that code.

/// A non-owning view of bytes that outlive the fast path (argv, the environment, or a buffer below).
struct Bytes {
    var base: UnsafePointer<UInt8>
    var count: Int

    init(_ base: UnsafePointer<UInt8>, _ count: Int) { self.base = base; self.count = count }

    init(cString p: UnsafePointer<CChar>) {
        self.init(UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), strlen(p))
    }

    @inline(__always) subscript(i: Int) -> UInt8 { base[i] }

    func equals(_ other: Bytes) -> Bool { count == other.count && memcmp(base, other.base, count) == 0 }
    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && memcmp(base, literal.utf8Start, count) == 0
    }
}

/// An append-only byte buffer of fixed capacity on the heap, NUL-terminated for syscalls.
/// Overflow sets `overflowed` instead of growing (a path that long takes the general route).
struct ByteBuffer {
    let storage: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0
    var overflowed = false

    init(capacity: Int) {
        self.capacity = capacity
        storage = FastMemory.allocate(UInt8.self, capacity: capacity + 1)
        storage[0] = 0
    }

    func free() { FastMemory.free(storage) }

    mutating func append(_ b: UInt8) {
        guard count < capacity else { overflowed = true; return }
        storage[count] = b
        count += 1
        storage[count] = 0
    }

    mutating func append(_ bytes: Bytes) {
        guard count + bytes.count <= capacity else { overflowed = true; return }
        memcpy(storage + count, bytes.base, bytes.count)
        count += bytes.count
        storage[count] = 0
    }

    mutating func append(_ literal: StaticString) {
        append(Bytes(literal.utf8Start, literal.utf8CodeUnitCount))
    }

    mutating func appendDecimal(_ value: Int64) {
        var v = value
        if v < 0 { append(45); v = -v }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            while n > 0 { n -= 1; append(d[n]) }
        }
    }

    mutating func appendHex(_ value: UInt64, digits: Int) {
        var shift = 60
        var emitted = 0
        while shift >= 0 {
            if emitted < digits {
                let nibble = UInt8((value >> UInt64(shift)) & 15)
                append(nibble < 10 ? 48 + nibble : 87 + nibble)
            }
            emitted += 1
            shift -= 4
        }
    }

    /// Appends `bytes` as the inside of a JSON string: `"`, `\` and control bytes escaped.
    mutating func appendJSONEscaped(_ bytes: Bytes) {
        for i in 0..<bytes.count {
            let c = bytes[i]
            switch c {
            case 0x22: append(0x5c); append(0x22)
            case 0x5c: append(0x5c); append(0x5c)
            case 0x0a: append(0x5c); append(UInt8(ascii: "n"))
            case 0x09: append(0x5c); append(UInt8(ascii: "t"))
            case 0x0d: append(0x5c); append(UInt8(ascii: "r"))
            case 0..<0x20, 0x7f:
                append("\\u00")
                append(c >> 4 < 10 ? 48 + (c >> 4) : 87 + (c >> 4))
                append(c & 15 < 10 ? 48 + (c & 15) : 87 + (c & 15))
            default: append(c)
            }
        }
    }

    var bytes: Bytes { Bytes(UnsafePointer(storage), count) }
    var cString: UnsafePointer<CChar> { UnsafeRawPointer(storage).assumingMemoryBound(to: CChar.self) }
}

/// A fixed-capacity list of `Bytes` in one allocation: no Array, so no generic metadata to
/// instantiate (and demangle) at start-up.
struct BytesList {
    let storage: UnsafeMutablePointer<Bytes>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = FastMemory.allocate(Bytes.self, capacity: capacity)
    }

    func free() { FastMemory.free(storage) }

    /// False when full.
    mutating func append(_ b: Bytes) -> Bool {
        guard count < capacity else { return false }
        (storage + count).initialize(to: b)
        count += 1
        return true
    }

    @inline(__always) subscript(i: Int) -> Bytes {
        get { storage[i] }
        nonmutating set { storage[i] = newValue }
    }
}

/// What the fast path needs, already validated and normalized.
struct FastPathInput {
    var venv: Bytes
    var agent: Bytes
    var state: Bytes
    /// `--import` modules, in command-line order (at most `FastPathInput.maxImports`).
    var imports: BytesList
    var giveUpAfter: Bool
    /// Observe mode (`--observe`, GUARDED_RUN_OBSERVE): a hit is logged with `"observe":true`.
    var observe: Bool = false
}

@usableFromInline
enum FastPath {
    static let maxImports = 32

    /// Tries the fast path straight from argv. Returns only when it cannot decide "still healthy"
    /// (a cache miss, or a command line only the general parser handles); on a hit it execs.
    @usableFromInline
    static func attempt(argc: Int, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, startedNs: Int64) {
        var venv: Bytes? = nil, agent: Bytes? = nil, state: Bytes? = nil
        var imports = BytesList(capacity: min(maxImports, argc))
        defer { imports.free() }
        var giveUp = false
        var observe = false
        var i = 1
        var commandIndex = 0
        while i < argc {
            guard let p = argv[i] else { return }
            let arg = Bytes(cString: p)
            if arg.equals("--") { commandIndex = i + 1; break }
            // Flags that do not change the fast path's decision.
            if arg.equals("--auto-repair") || arg.equals("--no-auto-repair") { i += 1; continue }
            if arg.equals("--observe") { observe = true; i += 1; continue }
            guard i + 1 < argc, let v = argv[i + 1] else { return }
            let value = Bytes(cString: v)
            if arg.equals("--venv") { venv = value }
            else if arg.equals("--agent") { agent = value }
            else if arg.equals("--state-dir") { state = value }
            else if arg.equals("--import") { guard imports.append(value) else { return } }
            else if arg.equals("--give-up-after") { giveUp = true }
            else if arg.equals("--requirements") || arg.equals("--python") || arg.equals("--find-links") {}
            else { return } // --name=value forms, unknown options: the general parser says what is wrong.
            i += 2
        }
        guard commandIndex > 0, commandIndex < argc, let command = argv[commandIndex], command[0] == 0x2f else { return }
        // An out-of-range GUARDED_RUN_LOG_MAX_BYTES: the general code says so on stderr, then decides.
        guard HealthLog.maxBytesSetting != nil else { return }

        // Buffers below are sized to what they will hold: malloc then packs them into a page or two,
        // where generous fixed sizes had each first write land on a fresh page (a page fault apiece).
        // The venv: given (absolute and already normalized), or the one COMMAND's bin/ sits in.
        var derivedVenv = ByteBuffer(capacity: venv == nil ? strlen(command) + 16 : 0)
        defer { derivedVenv.free() }
        if venv == nil {
            let cmd = Bytes(cString: command)
            guard isNormalizedAbsolute(cmd), let bin = lastSlash(cmd), bin >= 4,
                  memcmp(cmd.base + bin - 4, "/bin", 4) == 0 else { return }
            derivedVenv.append(Bytes(cmd.base, bin - 4))
            let venvLength = derivedVenv.count
            derivedVenv.append("/pyvenv.cfg")
            guard !derivedVenv.overflowed, access(derivedVenv.cString, F_OK) == 0 else { return }
            derivedVenv.count = venvLength
            derivedVenv.storage[venvLength] = 0
            venv = derivedVenv.bytes
        }
        guard let venv, venv.count > 1, isNormalizedAbsolute(venv) else { return }
        if let agent { guard isValidAgent(agent) else { return } }
        for k in 0..<imports.count { guard isPlainModule(imports[k]) else { return } }
        if !observe {
            // GUARDED_RUN_OBSERVE: the plain spellings here; any other value (to be warned about)
            // goes the general way.
            guard let on = observeSwitch(getenv("GUARDED_RUN_OBSERVE")) else { return }
            observe = on
        }

        // The state directory, as StateDirectory.resolve computes it.
        let homeLength = getenv("HOME").map { strlen($0) } ?? 0
        let xdgLength = getenv("XDG_STATE_HOME").map { strlen($0) } ?? 0
        let envStateLength = getenv("GUARDED_RUN_STATE_DIR").map { strlen($0) } ?? 0
        let systemdStateLength = getenv("STATE_DIRECTORY").map { strlen($0) } ?? 0
        var stateBuffer = ByteBuffer(capacity: (state?.count ?? 0) + max(homeLength, xdgLength, envStateLength, systemdStateLength) + 48)
        defer { stateBuffer.free() }
        if let state {
            guard state[0] == 0x2f else { return }
            stateBuffer.append(state)
        } else if let env = getenv("GUARDED_RUN_STATE_DIR"), env[0] != 0 {
            guard env[0] == 0x2f else { return }
            stateBuffer.append(Bytes(cString: env))
        } else if let systemd = getenv("STATE_DIRECTORY"), systemd[0] == 0x2f {
            // systemd's StateDirectory=: the first of its ':'-separated absolute paths.
            let all = Bytes(cString: systemd)
            var end = 0
            while end < all.count && all[end] != 0x3a { end += 1 }
            stateBuffer.append(Bytes(all.base, end))
        } else {
            #if canImport(Darwin)
            guard let home = getenv("HOME"), home[0] == 0x2f else { return }
            stateBuffer.append(Bytes(cString: home))
            stateBuffer.append("/Library/Application Support/guarded-run")
            #else
            if geteuid() == 0 {
                stateBuffer.append("/var/lib/guarded-run")
            } else if let xdg = getenv("XDG_STATE_HOME"), xdg[0] == 0x2f {
                stateBuffer.append(Bytes(cString: xdg))
                stateBuffer.append("/guarded-run")
            } else if let home = getenv("HOME"), home[0] == 0x2f {
                stateBuffer.append(Bytes(cString: home))
                stateBuffer.append("/.local/state/guarded-run")
            } else {
                return
            }
            #endif
        }
        guard !stateBuffer.overflowed else { return }

        var agentBuffer = ByteBuffer(capacity: 256)
        defer { agentBuffer.free() }
        if let agent { agentBuffer.append(agent) } else {
            guard defaultAgent(venv: venv, into: &agentBuffer) else { return }
        }
        let input = FastPathInput(venv: venv, agent: agentBuffer.bytes, state: stateBuffer.bytes,
                                  imports: imports, giveUpAfter: giveUp, observe: observe)
        decideAndExec(input, argv: argv + commandIndex, startedNs: startedNs)
    }

    /// The decision itself: read the cache, re-lstat its watch list, log, exec. Returns on any miss.
    static func decideAndExec(_ input: FastPathInput, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, startedNs: Int64) {
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
        // only cost syscalls); they are closed when the fast path returns.
        let root = open(path.cString, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return }
        defer { close(root) }
        let me = geteuid()
        path.append("/venvs/")
        appendVenvKey(input.venv, into: &path)
        let venvDirEnd = path.count
        path.append("/fingerprint-")
        appendImportsKey(input.imports, into: &path)
        guard !path.overflowed else { return }
        path.storage[venvDirEnd] = 0
        let venvDir = openPrivateDirectory(root, path.storage + stateLength + 1, owner: me)
        path.storage[venvDirEnd] = 0x2f
        guard venvDir >= 0 else { return }

        // The cache: one open, one fstat, one read into a buffer of exactly its size. O_NONBLOCK:
        // a FIFO planted at its name cannot hang the start (it is then not a regular file).
        let fd = openat(venvDir, UnsafeRawPointer(path.storage + venvDirEnd + 1).assumingMemoryBound(to: CChar.self),
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        close(venvDir)
        guard fd >= 0 else { return }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, isPrivate(mode: UInt32(st.st_mode), uid: st.st_uid, owner: me),
              st.st_size > 0, st.st_size < 256 << 10 else {
            close(fd); return
        }
        let size = Int(st.st_size)
        let data = FastMemory.allocate(UInt8.self, capacity: size + 1)
        defer { FastMemory.free(data) }
        var got = 0
        while got < size {
            let n = read(fd, data + got, size + 1 - got)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        close(fd)
        guard got == size else { return }

        var parsed = Parsed()
        defer { parsed.reasons.free() }
        guard parseAndVerify(data, size, venv: input.venv, imports: input.imports, into: &parsed) else { return }
        let decidedNs = Clock.monotonicNanoseconds()

        // One health-log line, one write(2) on an O_APPEND descriptor. Byte 0 is a newline, written
        // only when the log's last byte is not one (a record cut short by a full disk): read with
        // one pread, so the descriptor is O_RDWR.
        var reasonBytes = 0
        for r in 0..<parsed.reasons.count { reasonBytes += parsed.reasons[r].count + 3 }
        // Escaping can grow a byte to six (\u00XX).
        var line = ByteBuffer(capacity: 257 + 6 * (input.agent.count + input.venv.count + reasonBytes))
        defer { line.free() }
        let wall = Clock.wallTime()
        line.append("\n{\"time\":\"")
        appendRFC3339(seconds: wall.seconds, nanoseconds: wall.nanoseconds, into: &line)
        line.append("\",\"agent\":\"")
        line.appendJSONEscaped(input.agent)
        line.append("\",\"venv\":\"")
        line.appendJSONEscaped(input.venv)
        line.append(parsed.degraded ? "\",\"status\":\"degraded\"" : "\",\"status\":\"healthy\"")
        line.append(",\"decision\":\"fast-ok\",\"reasons\":[")
        for r in 0..<parsed.reasonCount {
            if r > 0 { line.append(0x2c) }
            line.append(0x22)
            line.appendJSONEscaped(parsed.reasons[r])
            line.append(0x22)
        }
        line.append("],\"check_us\":")
        line.appendDecimal((decidedNs - startedNs) / 1000)
        line.append(",\"version\":\"")
        line.append(guardedRunVersionLiteral)
        line.append("\",\"pid\":")
        line.appendDecimal(Int64(getpid()))
        if input.observe { line.append(",\"observe\":true") }
        line.append("}\n")
        guard !line.overflowed else { return }

        path.count = stateLength + 1
        path.append("agents/")
        path.append(input.agent)
        guard !path.overflowed else { return }
        let agentDir = openPrivateDirectory(root, path.storage + stateLength + 1, owner: me)
        let log = agentDir < 0 ? -1 : openat(agentDir, "health.jsonl", O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        var logStatus = stat()
        let direct = log >= 0 && fstat(log, &logStatus) == 0 && (logStatus.st_mode & S_IFMT) == S_IFREG
            && isPrivate(mode: UInt32(logStatus.st_mode), uid: logStatus.st_uid, owner: me)
            && Int64(logStatus.st_size) + Int64(line.count) <= HealthLog.maxBytes
        if direct {
            var start = 1
            if logStatus.st_size > 0 {
                var last: UInt8 = 0x0a
                if pread(log, &last, 1, off_t(logStatus.st_size) - 1) == 1 && last != 0x0a { start = 0 }
            }
            var written = start
            while written < line.count {
                let n = write(log, line.storage + written, line.count - written)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                written += n
            }
            // A full disk: the agent still starts (availability first); the lost record is said once per boot.
            if written < line.count { couldNotLog(input, errno: errno == 0 ? ENOSPC : errno) }
        } else {
            // A first start for this agent (no directory yet), a log due for rotation or a refused
            // path: the general code creates, rotates or refuses; the decision stands.
            if log >= 0 { close(log) }
            if agentDir >= 0 { close(agentDir) }
            appendHealthRecord(HealthRecord(
                agent: String(decoding: UnsafeBufferPointer(start: input.agent.base, count: input.agent.count), as: UTF8.self),
                venv: String(decoding: UnsafeBufferPointer(start: input.venv.base, count: input.venv.count), as: UTF8.self),
                status: parsed.degraded ? "degraded" : "healthy", decision: .fastOK,
                reasons: (0..<parsed.reasons.count).map { String(decoding: UnsafeBufferPointer(start: parsed.reasons[$0].base, count: parsed.reasons[$0].count), as: UTF8.self) },
                checkMicroseconds: (decidedNs - startedNs) / 1000, extra: input.observe ? [("observe", .bool(true))] : []), state: StateDirectory(path:
                String(decoding: UnsafeBufferPointer(start: input.state.base, count: input.state.count), as: UTF8.self)))
        }
        if input.giveUpAfter {
            if direct {
                unlinkat(agentDir, "failed-closed-streak", 0)
            } else {
                FailureStreak.reset(state: StateDirectory(path: String(decoding: UnsafeBufferPointer(start: input.state.base, count: input.state.count), as: UTF8.self)),
                                    agent: String(decoding: UnsafeBufferPointer(start: input.agent.base, count: input.agent.count), as: UTF8.self))
            }
        }
        // Same PID, environment as received, descriptors untouched (ours were all O_CLOEXEC).
        if strchr(argv[0]!, 0x2f) != nil {
            let e = replaceProcess(path: argv[0]!, arguments: argv, environment: processEnvironment)
            reportError("cannot run \(String(cString: argv[0]!)): \(e)")
            exit(e == .noSuchFileOrDirectory || e == .notDirectory ? ExitCode.notFound : ExitCode.cannotExecute)
        }
        exit(execCommand(argv: argv, agent: String(decoding: UnsafeBufferPointer(start: input.agent.base, count: input.agent.count), as: UTF8.self)))
    }

    /// The directory `relative` below `root`, no link followed, ours alone (owned by `owner`, not
    /// writable by group or others); -1 otherwise.
    static func openPrivateDirectory(_ root: Int32, _ relative: UnsafeMutablePointer<UInt8>, owner: uid_t) -> Int32 {
        let dir = openBeneath(root, UnsafeRawPointer(relative).assumingMemoryBound(to: CChar.self), O_RDONLY | O_DIRECTORY)
        guard dir >= 0 else { return -1 }
        var st = stat()
        guard fstat(dir, &st) == 0, isPrivate(mode: UInt32(st.st_mode), uid: st.st_uid, owner: owner) else { close(dir); return -1 }
        return dir
    }

    /// Off the straight line: a record lost to a full disk (or any failed write) is said on stderr
    /// once per agent per boot.
    @inline(never)
    static func couldNotLog(_ input: FastPathInput, errno: Int32) {
        healthLogNotWritten(agent: String(decoding: UnsafeBufferPointer(start: input.agent.base, count: input.agent.count), as: UTF8.self),
                            venv: String(decoding: UnsafeBufferPointer(start: input.venv.base, count: input.venv.count), as: UTF8.self),
                            Errno(rawValue: errno))
    }

    struct Parsed {
        var degraded = false
        // A report has at most one reason per check (about a dozen).
        var reasons = BytesList(capacity: 32)
        var reasonCount: Int { reasons.count }
    }

    /// Checks the checksum, the header, the venv and import lines, and re-lstats every watch entry.
    /// Rewrites the buffer in place (each path's newline becomes a NUL for lstat).
    static func parseAndVerify(_ b: UnsafeMutablePointer<UInt8>, _ n: Int, venv: Bytes, imports: BytesList,
                               into parsed: inout Parsed) -> Bool {
        var sawVenv = false, sawImports = false, watched = 0
        let ok = FingerprintScanner.forEachField(b, n) { key, value, lineEnd in
            if key.equals("watch") {
                guard let (recorded, pathStart) = FingerprintScanner.parseWatch(value),
                      memchr(value.base + pathStart, 0x5c, value.count - pathStart) == nil else { return false }
                b[lineEnd] = 0 // the path ends at the newline: make it a C string in place
                let watchedPath = UnsafeRawPointer(value.base + pathStart).assumingMemoryBound(to: CChar.self)
                if recorded.isAbsent {
                    guard pathIsAbsent(cPath: watchedPath) else { return false }
                } else {
                    guard let now = fileStatusIfPresent(cPath: watchedPath), now.sameIdentityAndTimes(as: recorded) else { return false }
                }
                watched += 1
            } else if key.equals("venv") {
                guard value.equals(venv) else { return false }
                sawVenv = true
            } else if key.equals("imports") {
                guard importsLineMatches(value, imports) else { return false }
                sawImports = true
            } else if key.equals("status") {
                if value.equals("degraded") { parsed.degraded = true } else if !value.equals("healthy") { return false }
            } else if key.equals("reason") {
                // Escaped reasons (a backslash) are rare: the general path unescapes them.
                guard memchr(value.base, 0x5c, value.count) == nil, parsed.reasons.append(value) else { return false }
            } else if !key.equals("checked") {
                return false
            }
            return true
        }
        return ok && sawVenv && sawImports && watched > 0
    }

    /// The cached `imports` line is the sorted, de-duplicated module list joined by commas.
    static func importsLineMatches(_ line: Bytes, _ imports: BytesList) -> Bool {
        let list = sortedUnique(imports)
        defer { list.free() }
        var pos = 0
        for k in 0..<list.count {
            let m = list[k]
            if k > 0 { guard pos < line.count, line[pos] == 0x2c else { return false }; pos += 1 }
            guard pos + m.count <= line.count, memcmp(line.base + pos, m.base, m.count) == 0 else { return false }
            pos += m.count
        }
        return pos == line.count
    }

    /// The modules sorted and de-duplicated (a new list the caller frees). Insertion sort: a
    /// handful of ASCII names, whose byte order equals the String order the slow path sorts by.
    static func sortedUnique(_ imports: BytesList) -> BytesList {
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

    /// `Fingerprint.importsKey`: `none`, or the first 12 hex digits of FNV-1a of the sorted list.
    static func appendImportsKey(_ imports: BytesList, into out: inout ByteBuffer) {
        let list = sortedUnique(imports)
        defer { list.free() }
        if list.count == 0 { out.append("none"); return }
        var h: UInt64 = 0xcbf29ce484222325
        for k in 0..<list.count {
            let m = list[k]
            if k > 0 { h = (h ^ 0x2c) &* 0x100000001b3 }
            for i in 0..<m.count { h = (h ^ UInt64(m[i])) &* 0x100000001b3 }
        }
        out.appendHex(h, digits: 12)
    }

    /// `StateDirectory.key(for:)`: slug of the path (last 48 bytes) + "-" + FNV-1a hex.
    static func appendVenvKey(_ venv: Bytes, into out: inout ByteBuffer) {
        var slug = ByteBuffer(capacity: venv.count + 1)
        defer { slug.free() }
        for i in 0..<venv.count {
            let b = venv[i]
            let ok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95
            if ok { slug.append(b) } else if slug.count == 0 || slug.storage[slug.count - 1] != 45 { slug.append(45) }
        }
        var first = 0
        while first < slug.count && (slug.storage[first] == 45 || slug.storage[first] == 46) { first += 1 }
        var body = Bytes(UnsafePointer(slug.storage + first), slug.count - first)
        if body.count > 48 { body = Bytes(body.base + body.count - 48, 48) }
        out.append(body)
        out.append(45)
        var h: UInt64 = 0xcbf29ce484222325
        for i in 0..<venv.count { h = (h ^ UInt64(venv[i])) &* 0x100000001b3 }
        out.appendHex(h, digits: 16)
    }

    /// `defaultAgentName(venv:)` for names that need no cleaning; false sends the start the general way.
    static func defaultAgent(venv: Bytes, into out: inout ByteBuffer) -> Bool {
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
    static func observeSwitch(_ value: UnsafePointer<CChar>?) -> Bool? {
        guard let value else { return false }
        let v = Bytes(cString: value)
        if v.count == 0 || v.equals("0") || v.equals("false") || v.equals("no") { return false }
        if v.equals("1") || v.equals("true") || v.equals("yes") { return true }
        return nil
    }

    static func lastSlash(_ b: Bytes) -> Int? {
        var i = b.count - 1
        while i >= 0 { if b[i] == 0x2f { return i }; i -= 1 }
        return nil
    }

    /// Absolute, no empty, `.` or `..` component, no trailing slash: what `normalizedPath` leaves alone.
    static func isNormalizedAbsolute(_ b: Bytes) -> Bool {
        guard b.count > 0, b[0] == 0x2f else { return false }
        if b.count == 1 { return true }
        guard b[b.count - 1] != 0x2f else { return false }
        var componentStart = 1
        for i in 1...b.count {
            if i == b.count || b[i] == 0x2f {
                let len = i - componentStart
                if len == 0 { return false }
                if len == 1 && b[componentStart] == 0x2e { return false }
                if len == 2 && b[componentStart] == 0x2e && b[componentStart + 1] == 0x2e { return false }
                componentStart = i + 1
            }
        }
        return true
    }

    /// `isValidAgentName`, on bytes.
    static func isValidAgent(_ b: Bytes) -> Bool {
        guard b.count > 0, b.count <= 128, b[0] != 0x2e else { return false }
        for i in 0..<b.count {
            let c = b[i]
            guard (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45 || c == 64 else { return false }
        }
        return true
    }

    /// ASCII module names only (byte order then equals the String order the slow path sorts by).
    static func isPlainModule(_ b: Bytes) -> Bool {
        guard b.count > 0, b[0] != 0x2e, b[b.count - 1] != 0x2e else { return false }
        var atPartStart = true
        for i in 0..<b.count {
            let c = b[i]
            if c == 0x2e { if atPartStart { return false }; atPartStart = true; continue }
            let digit = c >= 48 && c <= 57
            guard digit || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 else { return false }
            if atPartStart && digit { return false }
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
