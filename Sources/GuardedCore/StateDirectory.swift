import GuardedSystem

/// Where guarded-run keeps its state (docs/architecture.md, "State directory"), first match wins:
/// `--state-dir`, `GUARDED_RUN_STATE_DIR`, `$STATE_DIRECTORY` (systemd's `StateDirectory=`; the first
/// entry when a unit has several), then the defaults: /var/lib/guarded-run for root,
/// `$XDG_STATE_HOME/guarded-run` (else `~/.local/state/guarded-run`) for other users on Linux,
/// `~/Library/Application Support/guarded-run` on macOS.
///
/// Layout:
///   venvs/<venv-key>/fingerprint-<imports-key>   the fast path's cache (one per import set and agent context)
///   venvs/<venv-key>/known-good.json             distributions and interpreter of the last covering passing check
///   agents/<agent>/health.jsonl (+ .1)           the per-agent health log
///   agents/<agent>/profile.json                  the agent's launcher options (AgentProfile)
///   snapshots/                                   the snapshot store
///
/// The directory itself may sit behind a symlink (macOS /var, DynamicUser's /var/lib/private);
/// nothing below it is ever reached through one (`openDirectory`).
public struct StateDirectory: Sendable {
    public let path: String
    /// Where `path` came from, for messages that must not repeat an environment value.
    public let source: Source

    public enum Source: String, Sendable {
        case option = "--state-dir"
        case environment = "GUARDED_RUN_STATE_DIR"
        case systemd = "STATE_DIRECTORY"
        case xdgStateHome = "XDG_STATE_HOME"
        case home = "HOME"
        case rootDefault = "/var/lib/guarded-run"
    }

    public init(path: String, source: Source = .option) { self.path = path; self.source = source }

    /// Where agents that run as users other than root keep their state, one directory each:
    /// `wrap systemd` gives such a unit `StateDirectory=guarded-run-agents/<agent>` and
    /// `--state-dir /var/lib/guarded-run-agents/<agent>`; root's fleet-wide readers look here.
    /// (Not below /var/lib/guarded-run: that is root's, 0700, and a service user could not reach it.)
    public static let systemdAgentStatesRoot = "/var/lib/guarded-run-agents"
    /// The same for launchd daemons with a `UserName`: `wrap launchd` passes
    /// `--state-dir "/Library/Application Support/guarded-run-agents/<agent>"` (launchd creates no
    /// directory: the operator makes it, owned by that user; docs/launchd.md).
    public static let launchdAgentStatesRoot = "/Library/Application Support/guarded-run-agents"
    #if canImport(Darwin)
    public static let agentStatesRoot = launchdAgentStatesRoot
    #else
    public static let agentStatesRoot = systemdAgentStatesRoot
    #endif

    /// Resolves the state directory from an explicit option, then the environment, then the defaults.
    public static func resolve(explicit: String? = nil) -> StateDirectory? {
        if let explicit, !explicit.isEmpty { return StateDirectory(path: absolutePath(explicit, relativeTo: currentDirectory()), source: .option) }
        // A path that is not valid UTF-8 would name another directory once read into a String (its
        // bad bytes replaced), which was then created: there is no state directory then, as the fast
        // path decides (`FastPath.appendStateDirectory` then `isValidUTF8`).
        if let raw = Environment.bytes("GUARDED_RUN_STATE_DIR"), raw.count > 0 {
            guard let env = String(validating: raw.buffer, as: UTF8.self) else { return nil }
            return StateDirectory(path: absolutePath(env, relativeTo: currentDirectory()), source: .environment)
        }
        // systemd sets an absolute path per StateDirectory= entry, joined with ':'; a relative or
        // empty first entry is not systemd's and is ignored.
        if let all = Environment.bytes("STATE_DIRECTORY"), all.buffer.first == UInt8(ascii: "/") {
            let end = all.buffer.firstIndex(of: UInt8(ascii: ":")) ?? all.count
            guard let first = String(validating: UnsafeBufferPointer(start: all.base, count: end), as: UTF8.self) else { return nil }
            return StateDirectory(path: first, source: .systemd)
        }
        #if canImport(Darwin)
        guard let home = Environment.homeDirectory() else { return nil }
        return StateDirectory(path: home + "/Library/Application Support/guarded-run", source: .home)
        #else
        if CurrentProcess.effectiveUserID == 0 { return StateDirectory(path: "/var/lib/guarded-run", source: .rootDefault) }
        if let raw = Environment.bytes("XDG_STATE_HOME"), raw.buffer.first == UInt8(ascii: "/") {
            guard let xdg = String(validating: raw.buffer, as: UTF8.self) else { return nil }
            return StateDirectory(path: xdg + "/guarded-run", source: .xdgStateHome)
        }
        guard let home = Environment.homeDirectory() else { return nil }
        return StateDirectory(path: home + "/.local/state/guarded-run", source: .home)
        #endif
    }

    public var venvsPath: String { path + "/venvs" }
    public var agentsPath: String { path + "/agents" }
    public var snapshotsPath: String { path + "/snapshots" }

    /// The per-venv directory: a readable slug of the venv path plus a hash, so two venvs never share one.
    public func venvDirectory(for venv: String) -> String { venvsPath + "/" + StateDirectory.key(for: venv) }

    public func agentDirectory(for agent: String) -> String { agentsPath + "/" + agent }

    public func healthLogPath(for agent: String) -> String { agentDirectory(for: agent) + "/health.jsonl" }

    /// `home-me-agents-mail-venv-1f2e3d4c5b6a7980`: the last 48 characters of the path's slug, then
    /// FNV-1a of the whole path. One definition: the fast path's (`FastPath.appendVenvKey`).
    public static func key(for venv: String) -> String {
        withByteViews([venv]) { views in
            var out = ByteBuffer(capacity: 48 + 1 + 16)
            defer { out.free() }
            FastPath.appendVenvKey(views[0], into: &out)
            return String(decoding: out.bytes.buffer, as: UTF8.self)
        }
    }

    /// Creates the state directory and `sub` below it, each 0700, never through a symlink below
    /// the state directory, each ours and writable by nobody else.
    public func prepare(_ sub: String...) throws(SystemError) {
        _ = try openDirectory(sub.flatMap { $0.split(separator: "/").map(String.init) }, create: true)
    }

    /// The uid that owns the state directory: readers acting for everyone (root's `status`,
    /// `metrics`, the doctor) trust files of that owner below it.
    public var owner: UInt32 { fileStatusIfPresent(path, followSymlinks: true)?.uid ?? CurrentProcess.effectiveUserID }

    /// Opens the state directory (following a link to it) and then each of `components` below it
    /// without following any: every directory on the way must be owned by `owner` (default: us)
    /// and not writable by group or others, or the walk fails. With `create`, missing directories
    /// are made 0700 (the state directory's own parents too, `mkdir -p`).
    public func openDirectory(_ components: [String], create: Bool = false, owner: UInt32? = nil) throws(SystemError) -> FileDescriptor {
        let owner = owner ?? CurrentProcess.effectiveUserID
        if create && fileStatusIfPresent(path, followSymlinks: true) == nil { try makePrivateDirectory(path) }
        var dir = try FileDescriptor.open(path, [.readOnly, .directory])
        let top = try dir.status()
        if top.uid != owner { throw SystemError("open", path: path, errno: .permissionDenied) }
        var current = path
        for name in components {
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
                throw SystemError("open", path: current + "/" + name, errno: .invalidArgument)
            }
            current += "/" + name
            dir = try dir.openPrivateDirectory(name, create: create, owner: owner, path: current)
        }
        return dir
    }

    /// A file below the state directory (`components` then `name`), read without following any
    /// link, nil when missing, unreadable, a link, not a regular file, not private to `owner`
    /// (default: us), or larger than `limit`.
    public func readFile(_ components: [String], _ name: String, limit: Int, owner: UInt32? = nil) -> [UInt8]? {
        let display = path + "/" + (components + [name]).joined(separator: "/")
        guard let dir = try? openDirectory(components, owner: owner) else { return nil }
        return try? dir.readPrivateFile(name, owner: owner ?? CurrentProcess.effectiveUserID, limit: limit, path: display)
    }

    /// Writes a file below the state directory atomically (0600), creating its directories (0700).
    /// `durable: false` skips the fsyncs: only for a file whose reader treats a torn, empty or
    /// older copy as a miss (the fingerprint cache; docs/architecture.md, "Durability").
    public func writeFile(_ components: [String], _ name: String, _ bytes: [UInt8], durable: Bool = true) throws(SystemError) {
        let dir = try openDirectory(components, create: true)
        // A failure (a full disk included) removes the temp file and leaves `name` as it was.
        try writeFileAtomically(in: dir, name, bytes, mode: 0o600, owner: nil,
                                shownAs: path + "/" + (components + [name]).joined(separator: "/"), sync: durable)
    }

    /// Removes a file below the state directory; missing (the file or its directory) is success.
    public func removeFile(_ components: [String], _ name: String) throws(SystemError) {
        let dir: FileDescriptor
        do throws(SystemError) { dir = try openDirectory(components) } catch where error.errno == .noSuchFileOrDirectory { return }
        try dir.removeFile(name, path: path + "/" + (components + [name]).joined(separator: "/"))
    }
}

/// Agent names become directory names: letters, digits, `.`, `_`, `-`, `@`, 1 to 128 characters,
/// not starting with a dot.
/// One definition: the fast path's (`FastPath.isValidAgent`).
public func isValidAgentName(_ name: String) -> Bool {
    var copy = name
    return copy.withUTF8 { b in b.baseAddress.map { FastPath.isValidAgent(Bytes($0, b.count)) } ?? false }
}

/// FNV-1a 64-bit (`FNV1a`, the fast path's): a fast, stable, non-cryptographic hash for file names
/// and cache checksums.
public func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    // Contiguous bytes (an array, a native String's UTF-8) in one loop: `reduce` over a String's
    // UTF8View cost about 50 instructions a byte here (0.8M for the probe's 16 KB source per check).
    let contiguous = bytes.withContiguousStorageIfAvailable { b in
        b.baseAddress.map { FNV1a.add(FNV1a.offset, $0, b.count) } ?? FNV1a.offset
    }
    return contiguous ?? bytes.reduce(FNV1a.offset, FNV1a.add)
}

public func fnv1a64Hex(_ text: String) -> String {
    let h = fnv1a64(text.utf8)
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
