#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `lstat(2)`: the entry itself, never what a symlink points at.
public func fileStatus(_ path: String, followSymlinks: Bool = false) throws(SystemError) -> FileStatus {
    var st = stat()
    let rc = followSymlinks ? stat(path, &st) : lstat(path, &st)
    if rc != 0 { throw SystemError(followSymlinks ? "stat" : "lstat", path: path) }
    return FileStatus(st)
}

/// `lstat(2)` that answers nil instead of throwing, for existence tests.
public func fileStatusIfPresent(_ path: String, followSymlinks: Bool = false) -> FileStatus? {
    try? fileStatus(path, followSymlinks: followSymlinks)
}

/// `fstat(2)`.
public func fileStatus(descriptor fd: Int32) throws(SystemError) -> FileStatus {
    var st = stat()
    if fstat(fd, &st) != 0 { throw SystemError("fstat") }
    return FileStatus(st)
}

/// `readlink(2)`: the link text, unresolved.
public func readSymbolicLink(_ path: String) throws(SystemError) -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = buffer.withUnsafeMutableBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { readlink(path, $0, p.count - 1) }
    }
    if n < 0 { throw SystemError("readlink", path: path) }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`: `name` inside the open directory `directory`, never
/// what a symlink there points at. Relative to a descriptor, so a symlink planted at a parent
/// after the directory was opened cannot redirect it.
public func fileStatus(in directory: Int32, _ name: String) throws(SystemError) -> FileStatus {
    var st = stat()
    if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("lstat", path: name) }
    return FileStatus(st)
}

/// `readlinkat(2)`: the link text of `name` inside `directory`, unresolved.
public func readSymbolicLink(in directory: Int32, _ name: String) throws(SystemError) -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = buffer.withUnsafeMutableBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { readlinkat(directory, name, $0, p.count - 1) }
    }
    if n < 0 { throw SystemError("readlink", path: name) }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

public func pathIsAbsent(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) != 0 && errno == ENOENT
}
