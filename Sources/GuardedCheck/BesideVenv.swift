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

    /// Replaces the invalidation marker (atomically, without following symlinks, 0600). A venv
    /// that is gone needs none: every fingerprint watches the venv path itself. Throws when the
    /// place beside the venv cannot be written (a read-only parent).
    ///
    /// The parent is opened once and everything happens relative to it: the venv must be in it
    /// (the directory just checked, by device and inode), so a parent swapped for a symlink
    /// elsewhere (`/srv/u/agents` -> `/etc`) between the look at the venv and the write is refused
    /// rather than written into. What root creates here is owned like the venv only when the
    /// parent is the venv owner's too; in anyone else's directory (root's `/home`, `/tmp`) it
    /// stays root's, so no user is handed a directory where they could not make one.
    public func invalidate(status: String) throws(SystemError) {
        guard let checked = fileStatusIfPresent(venv, followSymlinks: true), checked.isDirectory else { return }
        let parentDescriptor = try FileDescriptor.open(parent, [.readOnly, .directory])
        let held = try parentDescriptor.openAt(baseName(of: venv), [.readOnly, .directory]).status()
        guard held.device == checked.device, held.inode == checked.inode else {
            throw SystemError("open", path: venv, errno: .noSuchFileOrDirectory)
        }
        let parentOwner = try parentDescriptor.status().uid
        let owner: (uid: UInt32, gid: UInt32)? = parentOwner == held.uid ? (held.uid, held.gid) : nil
        let directory = try openSharedDirectory(in: parentDescriptor, shownAs: parent, directoryName, mode: 0o755,
                                                owner: owner, trusting: held.uid)
        let text = "invalidated \(Clock.nowRFC3339()) \(status) by pid \(CurrentProcess.id)\n"
        do {
            try writeFileAtomically(in: directory, BesideVenv.invalidationName, Array(text.utf8), mode: 0o600,
                                    owner: owner, shownAs: invalidationMarker)
        } catch where error.errno == .isDirectory || error.errno == .directoryNotEmpty {
            // A directory at the marker's name would pin every cached fingerprint (a file cannot be
            // renamed over it): moved aside, within this directory, then the marker goes in.
            let aside = ".\(BesideVenv.invalidationName).moved-\(randomHex(4))"
            try directory.renameEntry(BesideVenv.invalidationName, to: aside, path: invalidationMarker)
            try writeFileAtomically(in: directory, BesideVenv.invalidationName, Array(text.utf8), mode: 0o600,
                                    owner: owner, shownAs: invalidationMarker)
        }
    }

    /// Where the invalidation marker of `venv` lives, whichever way it is spelled: beside the venv
    /// as the filesystem names it (symlinks resolved; a repaired venv's generation taken back to
    /// the venv it belongs to), so `check --venv /srv/real/venv` reaches a launcher started as
    /// `/srv/link/venv/bin/python`. Only a resolved directory that holds a pyvenv.cfg is taken (a
    /// symlink planted at a venv's path must not make root write beside `/etc/ssl`); otherwise,
    /// and when the venv is gone, the spelling given.
    public static func shared(venv: String) -> BesideVenv {
        guard var real = try? resolvedPath(venv), real != venv else { return BesideVenv(venv: venv) }
        let generations = parentDirectory(of: real)
        let suffix = ".generations"
        let number = baseName(of: real)
        if generations.hasSuffix(suffix), !number.isEmpty, number.utf8.allSatisfy(ASCII.isDigit) {
            real = String(generations.dropLast(suffix.count))
        }
        guard real != "/", fileStatusIfPresent(real + "/pyvenv.cfg", followSymlinks: true)?.isRegularFile == true else {
            return BesideVenv(venv: venv)
        }
        return BesideVenv(venv: real)
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
            try BesideVenv.shared(venv: venv).invalidate(status: status.rawValue)
            return nil
        } catch {
            return "cannot invalidate the cached fingerprints of \(venv): \(error)"
        }
    }
}
