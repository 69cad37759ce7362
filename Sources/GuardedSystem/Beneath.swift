internal import CSystemShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening files below a directory without following a symlink anywhere on the way.
///
/// A path string re-resolves every component at each call, so a link planted at any of them
/// (`agents/<agent>`, `venvs/`, `venvs/<key>`) would redirect reads and writes out of the tree;
/// `O_NOFOLLOW` only guards the last component. Everything here is relative to an open directory
/// and refuses links at every component (see `guarded_open_beneath` in CSystemShims: openat2 with
/// RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH on Linux, O_NOFOLLOW_ANY on macOS, an openat walk otherwise).

/// `EACCES` when `status` is not owned by `owner` or is writable by others.
func refuseUnlessPrivate(_ status: FileStatus, owner: UInt32, path: String) throws(SystemError) {
    guard status.isPrivate(owner: owner) else { throw SystemError("open", path: path, errno: .permissionDenied) }
}

extension FileDescriptor {
    /// `relative` below this directory with no symlink followed at any component.
    public func openBeneath(_ relative: String, _ flags: OpenFlags, mode: FileMode = 0o600) throws(SystemError) -> FileDescriptor {
        let fd = retryingOnInterrupt { guarded_open_beneath(rawValue, relative, flags.rawValue, UInt32(mode)) }
        if fd < 0 { throw SystemError("open", path: relative) }
        return FileDescriptor(adopting: fd)
    }

    /// The directory `name` inside this one (made 0700 first when `create`), not a symlink, owned
    /// by `owner` and not writable by others.
    public func openPrivateDirectory(_ name: String, create: Bool, owner: UInt32, path: String) throws(SystemError) -> FileDescriptor {
        if create && mkdirat(rawValue, name, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
        let sub = try openAt(name, [.readOnly, .directory, .noFollow])
        try refuseUnlessPrivate(try sub.status(), owner: owner, path: path)
        return sub
    }

    /// Reads the regular file `name` in this directory: not a symlink (`O_NOFOLLOW`), not a FIFO or
    /// device (`O_NONBLOCK`, then fstat), owned by `owner` and not writable by others, at most `limit` bytes.
    public func readPrivateFile(_ name: String, owner: UInt32, limit: Int, path: String) throws(SystemError) -> [UInt8] {
        let fd = try openAt(name, [.readOnly, .noFollow, .nonBlocking])
        let st = try fd.status()
        guard st.isRegularFile else { throw SystemError("open", path: path, errno: .permissionDenied) }
        try refuseUnlessPrivate(st, owner: owner, path: path)
        return try fd.readAll(limit: limit, path: path)
    }

    /// Removes the file `name` in this directory (a symlink there is removed, never followed).
    /// Missing is success.
    public func removeFile(_ name: String, path: String) throws(SystemError) {
        if unlinkat(rawValue, name, 0) != 0 && errno != ENOENT { throw SystemError("unlink", path: path) }
    }
}

/// Tests only: forces the openat/O_NOFOLLOW walk instead of openat2 / O_NOFOLLOW_ANY.
public func forceBeneathWalk(_ on: Bool) { _ = guarded_open_beneath_force_walk(on ? 1 : 0) }

/// Tests only: which way the last `openBeneath` resolved (2 openat2, 1 O_NOFOLLOW_ANY, 0 the walk).
public func lastBeneathMethod() -> Int { Int(guarded_open_beneath_last_method()) }
