// TEMPORARY: replaced by the snapshot branch at merge
import GuardedCore

/// The snapshot store's public shape, as the snapshot branch will provide it. This stand-in
/// returns an id and writes nothing, so the supervisor commands can be built and tested first.
public struct SnapshotStore {
    public let state: StateDirectory
    public init(state: StateDirectory) { self.state = state }

    public func create(paths: [String], label: String?, tag: String?) throws -> SnapshotManifest {
        SnapshotManifest(id: "placeholder-" + fnv1a64Hex(paths.joined(separator: "\n")))
    }
}

/// What `SnapshotStore.create` returns.
public struct SnapshotManifest {
    public let id: String
}
