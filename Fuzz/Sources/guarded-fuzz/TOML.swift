import GuardedRepair

/// TOML (lock files such as uv.lock and poetry.lock, pyproject.toml), as the repair's source readers
/// parse them.
@_cdecl("fuzz_toml") public func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = parseTOML(bytes(data, size))
    return 0
}
