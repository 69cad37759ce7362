import GuardedSupervisor

/// Binary plists (`bplist00`): the reader, then what `convert` and `wrap launchd` do with the result.
@_cdecl("fuzz_bplist") public func fuzzBinaryPlist(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    // Mostly binary: a fuzzer seldom keeps the 8-byte magic by itself.
    if !BinaryPlist.isBinary(input) { input = Array("bplist00".utf8) + input }
    guard let root = try? BinaryPlist.read(input) else { return 0 }
    _ = PlistWriter.document(root)
    _ = LaunchdConverter.convert(root, options: .init(guardedRun: "/usr/local/bin/guarded-run"))
    if let wrapped = try? LaunchdWrap.wrap(input, options: .init(guardedRun: "/usr/local/bin/guarded-run")) {
        _ = try? LaunchdWrap.unwrap(wrapped.bytes)
    }
    return 0
}
