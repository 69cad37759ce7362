import Foundation
import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

/// Snapshot kinds (manual, pre-restore, wrap, unwrap, convert) end to end, and `prune --keep N`
/// counting per kind and keeping tagged snapshots.
final class SnapshotKindTests: SnapshotTestCase {
    var state: String { temp.file("state") }

    func snapshot(_ args: [String]) -> SubprocessResult {
        runGuarded(["snapshot"] + args + ["--state-dir", state])
    }

    func listed() throws -> [(id: String, kind: String, tag: String?)] {
        let r = snapshot(["list", "--json"])
        XCTAssertEqual(r.termination, .exited(0), r.errorText)
        return try XCTUnwrap(JSONValue.parse(r.outputText)?["snapshots"]?.arrayValue).map {
            ($0["id"]?.stringValue ?? "", $0["kind"]?.stringValue ?? "", $0["tag"]?.stringValue)
        }
    }

    func testWrapUnwrapAndRestoreSnapshotsCarryTheirKind() throws {
        try write("agent.service", "[Service]\nExecStart=/usr/bin/python3 -m agent\n")
        try write("com.example.agent.plist", """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0"><dict><key>Label</key><string>com.example.agent</string>
            <key>ProgramArguments</key><array><string>/usr/bin/python3</string><string>agent.py</string></array></dict></plist>

            """)
        let manual = snapshot(["create", tree, "--tag", "before-wrap"])
        XCTAssertEqual(manual.termination, .exited(0), manual.errorText)
        for args in [["wrap", "systemd", tree + "/agent.service", "--guarded-run", "/usr/local/bin/guarded-run"],
                     ["wrap", "launchd", tree + "/com.example.agent.plist", "--guarded-run", "/usr/local/bin/guarded-run"],
                     ["unwrap", "systemd", tree + "/agent.service"],
                     ["unwrap", "launchd", tree + "/com.example.agent.plist"]] {
            let r = runGuarded(args + ["--state-dir", state, "--force"])
            XCTAssertEqual(r.termination, .exited(0), "\(args): \(r.outputText)\(r.errorText)")
        }
        try write("agent.service", "[Service]\nExecStart=/edited\n")
        let restored = snapshot(["restore", "before-wrap", "--force"])
        XCTAssertEqual(restored.termination, .exited(0), restored.errorText)
        XCTAssertEqual(try listed().map(\.kind), ["manual", "wrap", "wrap", "unwrap", "unwrap", "pre-restore"])
        let text = snapshot(["list"]).outputText.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertEqual(text.dropFirst().map { String($0[2]) }, ["manual", "wrap", "wrap", "unwrap", "unwrap", "pre-restore"])
        let show = snapshot(["show", try listed()[1].id])
        XCTAssertTrue(show.outputText.contains("kind:             wrap\n"), show.outputText)
    }

    /// `--keep 1` keeps the newest snapshot of each kind; older tagged snapshots stay unless
    /// `--include-tagged`; the dry run names exactly what the forced prune removes.
    func testPruneCountsPerKindAndKeepsTaggedSnapshots() throws {
        try write("a.conf", "1")
        let store = SnapshotStore(state: StateDirectory(path: state))
        let tagged = try store.create(paths: [tree], label: nil, tag: "golden")
        let manual1 = try store.create(paths: [tree], label: nil, tag: nil)
        let wrap1 = try store.create(paths: [tree], label: "wrap systemd", tag: nil, kind: .wrap)
        try write("a.conf", "2")
        let wrap2 = try store.create(paths: [tree], label: "wrap mcp", tag: nil, kind: .wrap)
        let unwrap1 = try store.create(paths: [tree], label: "unwrap launchd", tag: nil, kind: .unwrap)
        let manual2 = try store.create(paths: [tree], label: nil, tag: nil)

        let dry = snapshot(["prune", "--keep", "1", "--json"])
        XCTAssertEqual(dry.termination, .exited(0), dry.errorText)
        let dryJSON = try XCTUnwrap(JSONValue.parse(dry.outputText))
        let dryRemove = try XCTUnwrap(dryJSON["remove"]?.arrayValue).compactMap(\.stringValue)
        XCTAssertEqual(dryRemove, [manual1.id, wrap1.id])
        XCTAssertEqual(dryJSON["protected"]?.arrayValue?.compactMap(\.stringValue), [tagged.id])
        XCTAssertEqual(dryJSON["protected_reasons"]?[tagged.id]?.stringValue, "tagged golden; --include-tagged prunes it")
        XCTAssertTrue(snapshot(["prune", "--keep", "1"]).outputText.contains("protected  \(tagged.id) (tagged golden; --include-tagged prunes it)\n"))

        let forced = snapshot(["prune", "--keep", "1", "--force", "--json"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertEqual(JSONValue.parse(forced.outputText)?["remove"]?.arrayValue?.compactMap(\.stringValue), dryRemove)
        XCTAssertEqual(store.ids(), [tagged.id, wrap2.id, unwrap1.id, manual2.id])
        for id in store.ids() { XCTAssertEqual(store.verify(try store.load(id)), [], id) }

        let all = snapshot(["prune", "--keep", "1", "--include-tagged", "--force"])
        XCTAssertEqual(all.termination, .exited(0), all.errorText)
        XCTAssertEqual(store.ids(), [wrap2.id, unwrap1.id, manual2.id])
        XCTAssertEqual(snapshot(["prune", "--keep", "1", "--include-tagged", "--bogus"]).termination, .exited(64))
    }

    /// A damaged manifest has no kind: it goes unless it is among the newest N of the store.
    func testPruneRemovesAnOldDamagedManifestAndKeepsANewOne() throws {
        try write("a.conf", "1")
        let store = SnapshotStore(state: StateDirectory(path: state))
        let old = try store.create(paths: [tree], label: nil, tag: nil)
        let middle = try store.create(paths: [tree], label: nil, tag: nil)
        let newest = try store.create(paths: [tree], label: nil, tag: nil)
        let wrap = try store.create(paths: [tree], label: "wrap systemd", tag: nil, kind: .wrap)
        try writeFileAtomically(store.path + "/manifests/\(old.id)/manifest.json", "garbage")
        XCTAssertEqual(store.prunePlan(keep: 1, includePreRestore: false).remove, [old.id, middle.id])
        try writeFileAtomically(store.path + "/manifests/\(wrap.id)/manifest.json", "garbage")
        XCTAssertEqual(store.prunePlan(keep: 1, includePreRestore: false).remove, [old.id, middle.id],
                       "the damaged newest snapshot stays; the newest manual one too")
        _ = newest
    }

    func testKindFromTheWritingCommandsLabel() {
        XCTAssertEqual(SnapshotManifest.Kind(command: "wrap systemd"), .wrap)
        XCTAssertEqual(SnapshotManifest.Kind(command: "wrap mcp"), .wrap)
        XCTAssertEqual(SnapshotManifest.Kind(command: "unwrap launchd"), .unwrap)
        XCTAssertEqual(SnapshotManifest.Kind(command: "convert launchd-to-systemd"), .convert)
        XCTAssertEqual(SnapshotManifest.Kind(command: "wrapper"), .manual)
        XCTAssertEqual(SnapshotManifest.Kind(command: ""), .manual)
    }
}
