#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes into a directory shared with another owner (the state guarded-run keeps beside a venv),
/// relative to an open descriptor: a symlink planted at the directory's name, or at the file's,
/// is refused rather than followed, and files end up owned like the thing they belong to.

/// Opens `name` inside `parent` as a directory, creating it with `mode` first when it is missing,
/// never following a symlink at `name`. When it was created here and `owner` is given, it is
/// `fchown`ed to it (root acting on a user's venv leaves it owned as the venv is). An existing
/// directory must be owned by `owner`, by root or by us, and not writable by group or others.
public func openSharedDirectory(in parent: String, _ name: String, mode: FileMode,
                                owner: (uid: UInt32, gid: UInt32)?) throws(SystemError) -> FileDescriptor {
    let parentDescriptor = try FileDescriptor.open(parent, [.readOnly, .directory])
    return try openSharedDirectory(in: parentDescriptor, shownAs: parent, name, mode: mode, owner: owner, trusting: owner?.uid)
}

/// The same inside an open parent directory; `owner` is who a directory created here is
/// `fchown`ed to, `trusting` who else may own an existing one (besides root and us).
public func openSharedDirectory(in parentDescriptor: borrowing FileDescriptor, shownAs parent: String, _ name: String,
                                mode: FileMode, owner: (uid: UInt32, gid: UInt32)?,
                                trusting: UInt32?) throws(SystemError) -> FileDescriptor {
    let shown = parent + "/" + name
    var created = false
    if mkdirat(parentDescriptor.rawValue, name, mode) == 0 {
        created = true
    } else if errno != EEXIST {
        throw SystemError("mkdir", path: shown)
    }
    let fd = retryingOnInterrupt { openat(parentDescriptor.rawValue, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    if fd < 0 { throw SystemError("open", path: shown) }
    let directory = FileDescriptor(adopting: fd)
    let st = try directory.status()
    if created {
        // The umask may have narrowed the mode; set exactly what was asked.
        if fchmod(directory.rawValue, mode) != 0 { throw SystemError("fchmod", path: shown) }
        if let owner, geteuid() == 0, owner.uid != st.uid || owner.gid != st.gid {
            if fchown(directory.rawValue, owner.uid, owner.gid) != 0 { throw SystemError("fchown", path: shown) }
        }
        try parentDescriptor.sync(path: parent)
    } else {
        let trusted = st.uid == 0 || st.uid == geteuid() || st.uid == trusting
        if !trusted || st.permissions & 0o022 != 0 { throw SystemError("open", path: shown, errno: .permissionDenied) }
    }
    return directory
}

/// `writeFileAtomically` relative to an open directory: a temp file created there with
/// `O_EXCL|O_NOFOLLOW`, `mode` exactly, owned by `owner` when running as root, written, fsync'd,
/// renamed over `name` (replacing a symlink there rather than writing through it), then the
/// directory fsync'd. `sync: false` skips both fsyncs, for a cache that detects its own torn or
/// lost writes (the rename is still atomic against concurrent readers and a crash of this process;
/// only a power loss can leave the old file, none, or a torn one).
public func writeFileAtomically(in directory: borrowing FileDescriptor, _ name: String, _ bytes: [UInt8], mode: FileMode,
                                owner: (uid: UInt32, gid: UInt32)?, shownAs shown: String, sync: Bool = true) throws(SystemError) {
    let temp = ".\(name).tmp.\(getpid()).\(randomHex(6))"
    do throws(SystemError) {
        let fd = try directory.openAt(temp, [.writeOnly, .create, .exclusive, .noFollow], mode: mode)
        if fchmod(fd.rawValue, mode) != 0 { throw SystemError("fchmod", path: shown) }
        if let owner, geteuid() == 0, fchown(fd.rawValue, owner.uid, owner.gid) != 0 { throw SystemError("fchown", path: shown) }
        try fd.writeAll(bytes, path: shown)
        if sync { try fd.sync(path: shown) }
    } catch {
        _ = unlinkat(directory.rawValue, temp, 0)
        throw error
    }
    if renameat(directory.rawValue, temp, directory.rawValue, name) != 0 {
        let failure = SystemError("rename", path: shown)
        _ = unlinkat(directory.rawValue, temp, 0)
        throw failure
    }
    if sync { try directory.sync(path: shown) }
}
