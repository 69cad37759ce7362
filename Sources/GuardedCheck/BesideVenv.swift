import GuardedCore
import GuardedSystem

/// The state guarded-run keeps beside a venv rather than in one caller's state directory: what
/// every state directory that uses the venv (root's `venvs` doctor, each agent's own launcher) must
/// see alike. One place, `<venv>.generations/` (docs/architecture.md, "Beside the venv"):
///
///     <parent>/<name>.generations/                 0755, owned like the venv (the agent must
///                                                  traverse it: `<venv>` may link into it)
///       N/                                         the generations of a repaired venv
///       .check-invalidated                         0600: replaced by every check that found the
///                                                  venv broken or degraded
///
/// It is created on demand: by the first repair (adoption) or the first check that invalidates.
/// A venv that was never repaired and never failed a check has none. Entries here start with `.`
/// unless they are generation numbers, so `GenerationLayout` and its recovery ignore them.
public struct BesideVenv: Sendable {
    public let venv: String

    public init(venv: String) { self.venv = venv }

    public var parent: String { parentDirectory(of: venv) }
    public var directoryName: String { baseName(of: venv) + ".generations" }
    public var directory: String { venv + ".generations" }

    /// Its lstat is on every fingerprint's watch list (recorded absent when it does not exist), so
    /// replacing it makes every cached fingerprint of the venv miss: every `--import` set, in every
    /// state directory, at the cost of one more lstat per start.
    public var invalidationMarker: String { directory + "/" + BesideVenv.invalidationName }
    static let invalidationName = ".check-invalidated"

    /// Replaces the invalidation marker (atomically, without following symlinks, 0600, owned like
    /// the venv when root runs it). A venv that is gone needs none: every fingerprint watches the
    /// venv path itself. Throws when the place beside the venv cannot be written (a read-only parent).
    public func invalidate(status: String) throws(SystemError) {
        guard let owner = venvOwner else { return }
        let directory = try openDirectory(owner: owner)
        let text = "invalidated \(Clock.nowRFC3339()) \(status) by pid \(getpid())\n"
        try writeFileAtomically(in: directory, BesideVenv.invalidationName, Array(text.utf8), mode: 0o600,
                                owner: owner, shownAs: invalidationMarker)
    }

    /// Who owns the venv (through its symlink, for a repaired one): what is written beside it is
    /// theirs. Nil when the venv is not a directory.
    public var venvOwner: (uid: UInt32, gid: UInt32)? {
        guard let st = fileStatusIfPresent(venv, followSymlinks: true), st.isDirectory else { return nil }
        return (st.uid, st.gid)
    }

    /// The directory beside the venv, opened without following a symlink at its name, created first
    /// when missing (0755, `fchown`ed to `owner` when root makes it); an existing one owned by
    /// someone else than `owner`, root or the caller, or writable by group or others, is refused.
    /// Everything written here goes through this descriptor (`writeFileAtomically(in:)`, `openAt`).
    public func openDirectory(owner: (uid: UInt32, gid: UInt32)) throws(SystemError) -> FileDescriptor {
        try openSharedDirectory(in: parent, directoryName, mode: 0o755, owner: owner)
    }
}

extension CheckReport {
    /// After a check that found the venv broken or degraded: replaces the invalidation marker beside
    /// it, so no launcher starts from a fingerprint cached before (in any state directory, for any
    /// `--import` set). Returns a one-line warning when that place cannot be written (a read-only
    /// parent); the verdict stands all the same. Healthy and unfinished (transient) checks leave it.
    public func invalidateCachedFingerprints() -> String? {
        guard status != .healthy, !transient else { return nil }
        do {
            try BesideVenv(venv: venv).invalidate(status: status.rawValue)
            return nil
        } catch {
            return "cannot invalidate the cached fingerprints of \(venv): \(error)"
        }
    }
}
