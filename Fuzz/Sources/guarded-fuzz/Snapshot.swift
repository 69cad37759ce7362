@testable import GuardedSnapshot

/// A snapshot's manifest.json (parsed and validated as `restore` and `verify` do).
@_cdecl("fuzz_snapshot_manifest") public func fuzzSnapshotManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    if let manifest = try? SnapshotManifest.parse(input, expectedID: nil) {
        _ = manifest.json().serialized()
    }
    return 0
}

/// A pack index (`<sha256> <offset> <size>` lines).
@_cdecl("fuzz_pack_index") public func fuzzPackIndex(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var total: Int64 = 0
    BlobStore.parseIndex(bytes(data, size)) { _, offset, length in total = total &+ offset &+ length }
    return 0
}

/// snapshot-sets.conf.
@_cdecl("fuzz_snapshot_sets") public func fuzzSnapshotSets(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? SnapshotSets.parse(text(data, size))
    return 0
}
