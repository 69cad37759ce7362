import GuardedSystem

/// Where guarded-run keeps its state (docs/architecture.md, "State directory"):
/// `--state-dir`, else `GUARDED_RUN_STATE_DIR`, else /var/lib/guarded-run for root,
/// `$XDG_STATE_HOME/guarded-run` (else `~/.local/state/guarded-run`) for other users on Linux,
/// `~/Library/Application Support/guarded-run` on macOS.
///
/// Layout:
///   venvs/<venv-key>/fingerprint-<imports-key>   the fast path's cache (one per import set)
///   venvs/<venv-key>/known-good.json             distributions and interpreter of the last passing check
///   agents/<agent>/health.jsonl (+ .1)           the per-agent health log
///   snapshots/                                   the snapshot store
public struct StateDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Resolves the state directory from an explicit option, then the environment, then the defaults.
    public static func resolve(explicit: String? = nil) -> StateDirectory? {
        if let explicit, !explicit.isEmpty { return StateDirectory(path: absolutePath(explicit, relativeTo: currentDirectory())) }
        if let env = Environment.value("GUARDED_RUN_STATE_DIR"), !env.isEmpty {
            return StateDirectory(path: absolutePath(env, relativeTo: currentDirectory()))
        }
        #if canImport(Darwin)
        guard let home = Environment.homeDirectory() else { return nil }
        return StateDirectory(path: home + "/Library/Application Support/guarded-run")
        #else
        if geteuid() == 0 { return StateDirectory(path: "/var/lib/guarded-run") }
        if let xdg = Environment.value("XDG_STATE_HOME"), xdg.hasPrefix("/") { return StateDirectory(path: xdg + "/guarded-run") }
        guard let home = Environment.homeDirectory() else { return nil }
        return StateDirectory(path: home + "/.local/state/guarded-run")
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
    /// FNV-1a of the whole path.
    public static func key(for venv: String) -> String {
        var slug: [UInt8] = []
        for b in venv.utf8 {
            let ok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95
            if ok { slug.append(b) } else if slug.last != 45 { slug.append(45) }
        }
        while slug.first == 45 || slug.first == 46 { slug.removeFirst() }
        if slug.count > 48 { slug = Array(slug.suffix(48)) }
        return String(decoding: slug, as: UTF8.self) + "-" + fnv1a64Hex(venv)
    }

    /// Creates the state directory and `sub` below it, each 0700 and refusing symlinks.
    public func prepare(_ sub: String...) throws(SystemError) {
        try makePrivateDirectory(path)
        var current = path
        for part in sub {
            for piece in part.split(separator: "/") {
                current += "/" + piece
                try makePrivateDirectory(current)
            }
        }
    }
}

/// Agent names become directory names: letters, digits, `.`, `_`, `-`, `@`, 1 to 128 characters,
/// not starting with a dot.
public func isValidAgentName(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 128, !name.hasPrefix(".") else { return false }
    return name.utf8.allSatisfy { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95 || b == 45 || b == 64
    }
}

/// FNV-1a 64-bit: a fast, stable, non-cryptographic hash for file names and cache checksums.
public func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf29ce484222325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return h
}

public func fnv1a64Hex(_ text: String) -> String {
    let h = fnv1a64(text.utf8)
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
