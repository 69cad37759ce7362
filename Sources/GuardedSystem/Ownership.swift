/// lchown(2): never follows a symlink (a link in a user's tree is re-owned, not what it names).
public func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
    if lchown(path, uid_t(uid), gid_t(gid)) != 0 { throw SystemError("lchown", path: path) }
}

/// Gives every entry under `root` (itself included, symlinks not followed, other filesystems
/// not entered) that is not owned by `uid`/`gid` to them: after root built a user's venv, no
/// file in it stays root's. Returns how many entries changed.
@discardableResult
public func changeOwnerOfTree(_ root: String, uid: UInt32, gid: UInt32) throws(SystemError) -> Int {
    guard let top = fileStatusIfPresent(root) else { throw SystemError("lstat", path: root, errno: .noSuchFileOrDirectory) }
    var changed = 0
    var stack = [root]
    var visited = 0
    while let path = stack.popLast() {
        visited += 1
        if visited > 2_000_000 { throw SystemError("chown: more than 2000000 entries", path: root, errno: Errno(rawValue: EFBIG)) }
        guard let st = fileStatusIfPresent(path) else { continue }
        if st.uid != uid || st.gid != gid {
            try changeOwner(path, uid: uid, gid: gid)
            changed += 1
        }
        if st.isDirectory && st.device == top.device {
            for name in try directoryEntries(path) { stack.append(path + "/" + name) }
        }
    }
    return changed
}

/// The home directory of `uid` from the password database, or nil.
public func homeDirectory(ofUser uid: UInt32) -> String? {
    guard let pw = getpwuid(uid_t(uid)), let dir = pw.pointee.pw_dir else { return nil }
    let home = String(cString: dir)
    return home.hasPrefix("/") ? home : nil
}
