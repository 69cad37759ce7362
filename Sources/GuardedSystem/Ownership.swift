#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

/// The entry of `uid` in /etc/passwd: its login name and home directory. Read from the file, not
/// through getpwuid: NSS in a static executable dlopens the glibc it was linked with, which a host
/// need not have. Nil when the uid is not there, or the file is unreadable or malformed (a line
/// that is not `name:password:uid:gid:gecos:home:shell` is skipped; numbers are range-checked).
public func passwordEntry(uid: UInt32, passwd: String = "/etc/passwd") -> (name: String, home: String)? {
    guard let text = try? readTextFile(passwd, followSymlinks: true, limit: 8 << 20) else { return nil }
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
        guard fields.count == 7, UInt32(fields[2]) == uid, !fields[0].isEmpty else { continue }
        return (String(fields[0]), String(fields[5]))
    }
    return nil
}

/// The home directory of `uid` from /etc/passwd (`passwordEntry`), or nil when it is not absolute.
public func homeDirectory(ofUser uid: UInt32) -> String? {
    guard let home = passwordEntry(uid: uid)?.home, home.hasPrefix("/") else { return nil }
    return home
}
