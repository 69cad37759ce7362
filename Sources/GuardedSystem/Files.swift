#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and writes, directory creation and removal, all without following a
/// symlink where one could have been planted.

/// Reads a whole file. `O_NOFOLLOW` makes a symlink at `path` an error (`ELOOP`), so a link planted
/// in place of one of our state files is never read through.
public func readFile(_ path: String, followSymlinks: Bool = false, limit: Int = 64 << 20) throws(SystemError) -> [UInt8] {
    let fd = try FileDescriptor.open(path, followSymlinks ? .readOnly : [.readOnly, .noFollow])
    return try fd.readAll(limit: limit, path: path)
}

/// Reads a whole text file; invalid UTF-8 is repaired, never fatal.
public func readTextFile(_ path: String, followSymlinks: Bool = false, limit: Int = 64 << 20) throws(SystemError) -> String {
    String(decoding: try readFile(path, followSymlinks: followSymlinks, limit: limit), as: UTF8.self)
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, write, fsync, rename over
/// `path`, fsync the directory. A reader (or a crash) sees the old content or the new, never a mix:
/// rename(2) within one filesystem is atomic, and the directory fsync makes the rename durable.
/// `rename` replaces a symlink at `path` rather than writing through it.
/// `sync: false` skips both fsyncs, for files a later `syncFileSystem` makes durable together.
/// With `owner`, the temp file is given that owner before the rename, through its descriptor:
/// the file never appears under `path` with another owner (a SIGKILL cannot leave a user's file
/// owned by root), and no chown by name can be redirected to a file linked in its place.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: FileMode = 0o600, sync: Bool = true,
                                owner: (uid: UInt32, gid: UInt32)? = nil) throws(SystemError) {
    let directory = parentDirectory(of: path)
    let temp = "\(directory)/.\(baseName(of: path)).tmp.\(getpid()).\(randomHex(6))"
    do throws(SystemError) {
        let fd = try FileDescriptor.open(temp, [.writeOnly, .create, .exclusive, .noFollow], mode: mode)
        // Before the chmod: a chown may clear the set-id bits.
        if let owner, owner.uid != geteuid() || owner.gid != getegid(), fchown(fd.rawValue, owner.uid, owner.gid) != 0 {
            throw SystemError("chown", path: temp)
        }
        // The umask may have narrowed the mode; set exactly what was asked.
        if fchmod(fd.rawValue, mode) != 0 { throw SystemError("fchmod", path: temp) }
        try fd.writeAll(bytes, path: temp)
        if sync { try fd.sync(path: temp) }
    } catch {
        _ = unlink(temp)
        throw error
    }
    if rename(temp, path) != 0 {
        let failure = SystemError("rename", path: path)
        _ = unlink(temp)
        throw failure
    }
    if sync { try syncDirectory(directory) }
}

public func writeFileAtomically(_ path: String, _ text: String, mode: FileMode = 0o600) throws(SystemError) {
    try writeFileAtomically(path, Array(text.utf8), mode: mode)
}

/// fsync of a directory: makes a rename or create inside it durable across power loss.
public func syncDirectory(_ path: String) throws(SystemError) {
    let fd = try FileDescriptor.open(path, [.readOnly, .directory])
    try fd.sync(path: path)
}

/// Creates `path` and any missing parents (`mkdir -p`), new directories with `mode`.
/// Existing components may be symlinks (on macOS /var is one); see `makePrivateDirectory` for
/// directories where a planted link must be refused.
public func makeDirectories(_ path: String, mode: FileMode = 0o755) throws(SystemError) {
    if isDirectory(path) { return }
    let parent = parentDirectory(of: path)
    if parent != path && parent != "." { try makeDirectories(parent, mode: mode) }
    if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    if !isDirectory(path) { throw SystemError("mkdir", path: path, errno: .notDirectory) }
}

/// Creates a private directory (0700) whose own parents may be shared, and refuses one that is a
/// symlink or is not ours: such a link could have been planted to redirect our writes elsewhere.
/// The parents are created with `mkdir -p` semantics and mode 0700 as well.
public func makePrivateDirectory(_ path: String) throws(SystemError) {
    if fileStatusIfPresent(path) == nil {
        let parent = parentDirectory(of: path)
        if parent != path && parent != "." && !isDirectory(parent) { try makeDirectories(parent, mode: 0o700) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    }
    let st = try fileStatus(path)
    if st.isSymbolicLink { throw SystemError("mkdir", path: path, errno: .tooManySymbolicLinks) }
    if !st.isDirectory { throw SystemError("mkdir", path: path, errno: .notDirectory) }
    if st.uid != geteuid() { throw SystemError("mkdir", path: path, errno: .permissionDenied) }
}

/// Removes a file or a whole tree without following symlinks (a link inside is removed, never
/// what it points at). Missing is success.
public func removeTree(_ path: String) throws(SystemError) {
    guard let st = fileStatusIfPresent(path) else { return }
    if st.isDirectory {
        for name in try directoryEntries(path) { try removeTree("\(path)/\(name)") }
        if rmdir(path) != 0 && errno != ENOENT { throw SystemError("rmdir", path: path) }
    } else if unlink(path) != 0 && errno != ENOENT {
        throw SystemError("unlink", path: path)
    }
}

/// Names in a directory, without "." and "..", unsorted.
public func directoryEntries(_ path: String) throws(SystemError) -> [String] {
    guard let dir = opendir(path) else { throw SystemError("opendir", path: path) }
    defer { closedir(dir) }
    return entryNames(dir)
}

#if canImport(Darwin)
typealias DirectoryStream = UnsafeMutablePointer<DIR>
#else
typealias DirectoryStream = OpaquePointer
#endif

/// The names `readdir` gives, without "." and "..".
private func entryNames(_ dir: DirectoryStream) -> [String] {
    var names: [String] = []
    forEachEntry(dir) { name, _ in names.append(name) }
    return names
}

/// The readdir loop: each name (without "." and "..") with its `d_type` (`DT_REG`, `DT_DIR`, ...,
/// or `DT_UNKNOWN` where the filesystem does not say).
private func forEachEntry(_ dir: DirectoryStream, _ body: (String, UInt8) -> Void) {
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) { p in
            p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { body(name, entry.pointee.d_type) }
    }
}

/// `rename(2)`.
public func renameItem(_ from: String, to: String) throws(SystemError) {
    if rename(from, to) != 0 { throw SystemError("rename", path: "\(from) -> \(to)") }
}

/// `symlink(2)`.
public func makeSymbolicLink(_ path: String, pointingTo target: String) throws(SystemError) {
    if symlink(target, path) != 0 { throw SystemError("symlink", path: path) }
}

/// `rmdir(2)`: the directory must be empty; missing is an error too.
public func removeEmptyDirectory(_ path: String) throws(SystemError) {
    if rmdir(path) != 0 { throw SystemError("rmdir", path: path) }
}

public func removeFile(_ path: String) throws(SystemError) {
    if unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink", path: path) }
}

/// `access(2)` with `X_OK`: this process (by its real ids) may execute `path`, a symlink followed.
public func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

public func fileExists(_ path: String) -> Bool { fileStatusIfPresent(path, followSymlinks: true) != nil }

public func isDirectory(_ path: String) -> Bool { fileStatusIfPresent(path, followSymlinks: true)?.isDirectory == true }

/// `realpath(3)`.
public func resolvedPath(_ path: String) throws(SystemError) -> String {
    guard let p = realpath(path, nil) else { throw SystemError("realpath", path: path) }
    defer { free(p) }
    return String(cString: p)
}

/// The current working directory.
public func currentDirectory() -> String {
    guard let p = getcwd(nil, 0) else { return "/" }
    defer { free(p) }
    return String(cString: p)
}

/// Random bytes from the kernel, as lowercase hex (for temp names and ids).
public func randomHex(_ byteCount: Int) -> String {
    // The stdlib's generator is the kernel's (getrandom / arc4random).
    var generator = SystemRandomNumberGenerator()
    return hexString((0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) })
}

public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// The absolute path of the running executable (`/proc/self/exe` on Linux,
/// `_NSGetExecutablePath` on macOS), symlinks resolved; nil when it cannot be found.
public func executablePath() -> String? {
    #if canImport(Darwin)
    var size: UInt32 = 0
    _ = _NSGetExecutablePath(nil, &size)
    var buffer = [CChar](repeating: 0, count: Int(size) + 1)
    guard _NSGetExecutablePath(&buffer, &size) == 0 else { return nil }
    return try? resolvedPath(String(cString: buffer))
    #else
    return try? readSymbolicLink("/proc/self/exe")
    #endif
}

/// Names in the open directory `directory` (without "." and ".."), unsorted. The descriptor is
/// duplicated for `fdopendir`, so the caller's stays open and positioned.
public func directoryEntries(in directory: Int32, path: String? = nil) throws(SystemError) -> [String] {
    try directoryEntriesWithTypes(in: directory, path: path).map(\.name)
}

/// `directoryEntries(in:)` with each entry's `d_type` as readdir gives it: a walk that only needs to
/// open regular files can skip an lstat per entry. `DT_UNKNOWN` means "lstat it"; a type can be
/// stale by the time the entry is opened, so check what was opened (fstat).
public func directoryEntriesWithTypes(in directory: Int32, path: String? = nil) throws(SystemError) -> [(name: String, type: UInt8)] {
    let copy = dup(directory)
    if copy < 0 { throw SystemError("dup", path: path) }
    guard let dir = fdopendir(copy) else {
        let failure = SystemError("opendir", path: path)
        _ = close(copy)
        throw failure
    }
    defer { closedir(dir) }
    rewinddir(dir)
    var entries: [(name: String, type: UInt8)] = []
    forEachEntry(dir) { entries.append(($0, $1)) }
    return entries
}

/// Removes `name` inside the open directory `directory`, and everything below it when it is a
/// directory, with `*at` calls that never follow a symlink (a link is removed, not its target).
/// Missing is success.
public func removeTree(in directory: Int32, _ name: String) throws(SystemError) {
    guard let st = try? fileStatus(in: directory, name) else { return }
    if st.isDirectory {
        let sub = retryingOnInterrupt { openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if sub < 0 { throw SystemError("open", path: name) }
        let owned = FileDescriptor(adopting: sub)
        for child in try directoryEntries(in: owned.rawValue, path: name) { try removeTree(in: owned.rawValue, child) }
        if unlinkat(directory, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw SystemError("rmdir", path: name) }
    } else if unlinkat(directory, name, 0) != 0 && errno != ENOENT {
        throw SystemError("unlink", path: name)
    }
}

/// Runs `body` with the effective uid and gid of `owner` when root acts on a file another user
/// owns (a plist in their LaunchAgents, their MCP config, a drop-in beside their unit): every
/// path the body opens, creates, renames or removes is then resolved with that user's rights, so
/// a directory they swap for a symlink mid-write (to /Library/LaunchDaemons, to another unit's
/// drop-in directory) gains them nothing they could not do themselves. Otherwise runs `body` as is.
/// Root's supplementary groups stay (setgroups would affect the whole process); the ids are
/// restored before returning, also when `body` throws.
public func asOwner<T>(_ owner: (uid: UInt32, gid: UInt32)?, _ body: () throws -> T) throws -> T {
    guard let owner, geteuid() == 0, owner.uid != 0 else { return try body() }
    let gid = getegid()
    if setegid(owner.gid) != 0 { throw SystemError("setegid") }
    if seteuid(owner.uid) != 0 {
        let failure = SystemError("seteuid")
        _ = setegid(gid)
        throw failure
    }
    defer {
        // Back to root: this cannot fail for a process whose real and saved uid are 0.
        _ = seteuid(0)
        _ = setegid(gid)
    }
    return try body()
}
