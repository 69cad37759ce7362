/// Writes into a directory shared with another owner (the state guarded-run keeps beside a venv),
/// relative to an open descriptor: a symlink planted at the directory's name, or at the file's,
/// is refused rather than followed, and files end up owned like the thing they belong to.

/// Opens `name` inside `parent` as a directory, creating it with `mode` first when it is missing,
/// never following a symlink at `name`. When it was created here and `owner` is given, it is
/// `fchown`ed to it (root acting on a user's venv leaves it owned as the venv is). An existing
/// directory must be owned by `owner`, by root or by us, and not writable by group or others.
public func openSharedDirectory(in parent: String, _ name: String, mode: FileMode,
                                owner: (uid: UInt32, gid: UInt32)?) throws(SystemError) -> FileDescriptor {
    let parentDescriptor = try FileDescriptor.open(parent, O_RDONLY | O_DIRECTORY)
    return try openSharedDirectory(at: parentDescriptor, name, shownAs: parent + "/" + name, mode: mode, owner: owner)
}

/// `openSharedDirectory` relative to an already opened (and vetted) parent directory: a directory
/// inside a shared one is reached without any path lookup an attacker could redirect.
public func openSharedDirectory(at parentDescriptor: borrowing FileDescriptor, _ name: String, shownAs shown: String,
                                mode: FileMode, owner: (uid: UInt32, gid: UInt32)?) throws(SystemError) -> FileDescriptor {
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
        try parentDescriptor.sync(path: shown)
    } else {
        let trusted = st.uid == 0 || st.uid == geteuid() || st.uid == owner?.uid
        if !trusted || st.permissions & 0o022 != 0 { throw SystemError("open", path: shown, errno: .permissionDenied) }
    }
    return directory
}

/// `writeFileAtomically` relative to an open directory: a temp file created there with
/// `O_EXCL|O_NOFOLLOW`, `mode` exactly, owned by `owner` when running as root, written, fsync'd,
/// renamed over `name` (replacing a symlink there rather than writing through it), then the
/// directory fsync'd.
public func writeFileAtomically(in directory: borrowing FileDescriptor, _ name: String, _ bytes: [UInt8], mode: FileMode,
                                owner: (uid: UInt32, gid: UInt32)?, shownAs shown: String) throws(SystemError) {
    let temp = ".\(name).tmp.\(getpid()).\(randomHex(6))"
    do throws(SystemError) {
        let fd = try directory.openAt(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        if fchmod(fd.rawValue, mode) != 0 { throw SystemError("fchmod", path: shown) }
        if let owner, geteuid() == 0, fchown(fd.rawValue, owner.uid, owner.gid) != 0 { throw SystemError("fchown", path: shown) }
        try fd.writeAll(bytes, path: shown)
        try fd.sync(path: shown)
    } catch {
        _ = unlinkat(directory.rawValue, temp, 0)
        throw error
    }
    if renameat(directory.rawValue, temp, directory.rawValue, name) != 0 {
        let failure = SystemError("rename", path: shown)
        _ = unlinkat(directory.rawValue, temp, 0)
        throw failure
    }
    try directory.sync(path: shown)
}
