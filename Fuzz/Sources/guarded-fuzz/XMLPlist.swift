import GuardedSupervisor

/// XML plists: the reader (with its byte spans for splicing), conversion and wrap/unwrap.
@_cdecl("fuzz_xmlplist") public func fuzzXMLPlist(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    guard let doc = try? PlistDocument(input) else { return 0 }
    _ = LaunchdConverter.convert(doc.root, options: .init(guardedRun: "/usr/local/bin/guarded-run", userUnits: true))
    _ = LaunchdWrap.describe(doc.root)
    _ = LaunchdWrap.keepAliveAdvice(doc.root)
    if let wrapped = try? LaunchdWrap.wrap(input, options: .init(agent: "fuzz", autoRepair: true, giveUpAfter: 3, keepAlive: true,
                                                                guardedRun: "/usr/local/bin/guarded-run")) {
        _ = try? LaunchdWrap.unwrap(wrapped.bytes)
    }
    return 0
}
