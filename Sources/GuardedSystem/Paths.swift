/// Path text helpers: pure string work, no syscalls.

// Every helper here cuts at '/' bytes, as the kernel and the launcher's fast path do, never at
// Characters: a '/' followed by a combining mark (or after a prepended mark) is part of one Character,
// so a Character split missed it, and `bin/\u{301}python` was not in `bin/`.

public func parentDirectory(of path: String) -> String {
    let p = withoutTrailingSlashes(path)
    guard let slash = p.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
}

public func baseName(of path: String) -> String {
    let p = withoutTrailingSlashes(path)
    guard let slash = p.utf8.lastIndex(of: UInt8(ascii: "/")) else { return String(p) }
    return String(p[p.utf8.index(after: slash)...])
}

private func withoutTrailingSlashes(_ path: String) -> Substring {
    var p = Substring(path)
    while p.utf8.count > 1 && p.utf8.last == UInt8(ascii: "/") { p = p[..<p.utf8.index(before: p.endIndex)] }
    return p
}

/// Joins `path` to `base` unless it is already absolute.
public func absolutePath(_ path: String, relativeTo base: String) -> String {
    path.utf8.first == UInt8(ascii: "/") ? path : (base.utf8.last == UInt8(ascii: "/") ? base + path : base + "/" + path)
}

/// Removes "." components, duplicate and trailing slashes, and resolves ".." textually.
public func normalizedPath(_ path: String) -> String {
    var parts: [Substring] = []
    for bytes in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
        let part = path[bytes.startIndex..<bytes.endIndex]
        if part == "." { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    return path.utf8.first == UInt8(ascii: "/") ? "/" + joined : (joined.isEmpty ? "." : joined)
}

/// True when `path` is `root` or below it (textually, on normalized paths).
public func isInside(_ path: String, _ root: String) -> Bool {
    // Bytes: String comparison is canonical equivalence (`é` equals `e` + U+0301, two names on Linux).
    let p = normalizedPath(path).utf8, r = normalizedPath(root).utf8
    if r.elementsEqual("/".utf8) { return p.first == UInt8(ascii: "/") }
    return p.elementsEqual(r) || (p.starts(with: r) && p.dropFirst(r.count).first == UInt8(ascii: "/"))
}
