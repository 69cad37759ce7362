/// Path text helpers: pure string work, no syscalls.

public func parentDirectory(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
}

public func baseName(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return String(p) }
    return String(p[p.index(after: slash)...])
}

/// Joins `path` to `base` unless it is already absolute.
public func absolutePath(_ path: String, relativeTo base: String) -> String {
    path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : base + "/" + path)
}

/// Removes "." components, duplicate and trailing slashes, and resolves ".." textually.
public func normalizedPath(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
}

/// True when `path` is `root` or below it (textually, on normalized paths).
public func isInside(_ path: String, _ root: String) -> Bool {
    let p = normalizedPath(path), r = normalizedPath(root)
    if r == "/" { return p.hasPrefix("/") }
    return p == r || p.hasPrefix(r + "/")
}
