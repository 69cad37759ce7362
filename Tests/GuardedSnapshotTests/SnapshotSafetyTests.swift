import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

final class SnapshotSafetyTests: SnapshotTestCase {
    /// A snapshot of three files, then each changed, so a restore would write all three.
    func prepared() throws -> SnapshotManifest {
        try write("a.conf", "alpha")
        try write("b.conf", "bravo")
        try write("c/d.conf", "delta")
        let manifest = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "changed a")
        try write("b.conf", "changed b")
        try write("c/d.conf", "changed d")
        return manifest
    }

    func assertRefusedWithNothingWritten(_ id: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let before = treeState(tree)
        let count = snapshotCount()
        XCTAssertThrowsError(try forceRestore(id), what, file: file, line: line) { error in
            guard let e = error as? SnapshotError, case .damaged = e else { return XCTFail("\(what): \(error)", file: file, line: line) }
        }
        XCTAssertEqual(treeState(tree), before, "\(what): nothing written", file: file, line: line)
        XCTAssertEqual(snapshotCount(), count, "\(what): no pre-restore snapshot", file: file, line: line)
    }

    /// Truncate, corrupt or delete each blob in turn: verify names it, restore refuses and writes nothing.
    func testDamagedBlobsAbortTheWholeRestore() throws {
        let manifest = try prepared()
        let blobs = try indexLines()
        XCTAssertEqual(blobs.count, 3)
        let pack = packsDirectory + "/" + blobs[0].pack + ".pack"
        let idx = packsDirectory + "/" + blobs[0].pack + ".idx"
        let original = try readFile(pack), originalIndex = try readFile(idx)
        for blob in blobs {
            // Corrupt one byte.
            var bytes = original
            bytes[blob.offset] ^= 0xff
            try writeFileAtomically(pack, bytes)
            XCTAssertEqual(store.verify(manifest).count, 1)
            assertRefusedWithNothingWritten(manifest.id, "corrupt \(blob.sha)")
            // Truncate inside the blob.
            try writeFileAtomically(pack, Array(original[0..<(blob.offset + blob.size - 1)]))
            XCTAssertFalse(store.verify(manifest).isEmpty)
            assertRefusedWithNothingWritten(manifest.id, "truncate \(blob.sha)")
            // Delete it from the index: missing, never "the file was absent".
            try writeFileAtomically(pack, original)
            let kept = try readTextFile(idx).split(separator: "\n").filter { !$0.hasPrefix(blob.sha) }.joined(separator: "\n") + "\n"
            try writeFileAtomically(idx, kept)
            XCTAssertEqual(store.verify(manifest).count, 1)
            assertRefusedWithNothingWritten(manifest.id, "delete \(blob.sha)")
            try writeFileAtomically(idx, originalIndex)
        }
        try removeFile(pack)
        XCTAssertEqual(store.verify(manifest).count, 3)
        assertRefusedWithNothingWritten(manifest.id, "pack deleted")
        try writeFileAtomically(pack, original)
        XCTAssertEqual(store.verify(manifest), [])
        _ = try forceRestore(manifest.id)
        XCTAssertEqual(try readTextFile(tree + "/a.conf"), "alpha")
    }

    /// Index lines that do not parse are skipped, never half-read: each garbage line below names a
    /// real blob at a wrong offset, so accepting any of them would make verify fail.
    func testGarbageIndexLinesAreIgnored() throws {
        let manifest = try prepared()
        let blobs = try indexLines()
        let idx = packsDirectory + "/" + blobs[0].pack + ".idx"
        let original = try readTextFile(idx)
        let sha = blobs[0].sha, upper = sha.uppercased()
        let garbage = ["junk", "\(upper) 1 \(blobs[0].size)", "\(sha) 1 \(blobs[0].size) extra", "\(sha)  1 \(blobs[0].size)",
                       "\(sha) +1 \(blobs[0].size)", "\(sha) 1 99999999999999999999", "\(sha) -1 \(blobs[0].size)",
                       "\(sha) 1 \(blobs[0].size)\r", "\(sha.dropLast()) 1 \(blobs[0].size)", "\(sha)x1 \(blobs[0].size)", ""]
        try writeFileAtomically(idx, original + garbage.joined(separator: "\n") + "\n")
        XCTAssertEqual(store.verify(manifest), [])
        // The same line accepted when it is well formed: the test can fail.
        try writeFileAtomically(idx, original + "\(sha) 1 \(blobs[0].size)\n")
        XCTAssertEqual(store.verify(manifest).count, 1)
        // A last line without its newline still counts.
        try writeFileAtomically(idx, String(original.dropLast()))
        XCTAssertEqual(store.verify(manifest), [])
    }

    /// The manifest itself: changed by one byte, hash file damaged, or deleted.
    func testDamagedManifestIsRefused() throws {
        let manifest = try prepared()
        let dir = store.path + "/manifests/" + manifest.id
        let json = try readFile(dir + "/manifest.json"), sha = try readFile(dir + "/manifest.json.sha256")
        var edited = json
        edited[edited.count / 2] ^= 0x01
        try writeFileAtomically(dir + "/manifest.json", edited)
        assertRefusedWithNothingWritten(manifest.id, "manifest edited")
        try writeFileAtomically(dir + "/manifest.json", Array(json.dropLast(10)))
        assertRefusedWithNothingWritten(manifest.id, "manifest truncated")
        try writeFileAtomically(dir + "/manifest.json", json)
        try writeFileAtomically(dir + "/manifest.json.sha256", "0000  manifest.json\n")
        assertRefusedWithNothingWritten(manifest.id, "hash file damaged")
        try removeFile(dir + "/manifest.json.sha256")
        assertRefusedWithNothingWritten(manifest.id, "hash file deleted")
        try writeFileAtomically(dir + "/manifest.json.sha256", sha)
        try removeFile(dir + "/manifest.json")
        assertRefusedWithNothingWritten(manifest.id, "manifest deleted")
    }

    /// Hostile manifests, each written with a matching hash file so only validation can refuse them.
    func testHostileManifestsAreRefused() throws {
        let manifest = try prepared()
        let dir = store.path + "/manifests/" + manifest.id
        let good = try readTextFile(dir + "/manifest.json")
        let sha = try XCTUnwrap(store.load(manifest.id).entries.first { $0.path == "a.conf" }?.sha256)
        func entry(_ path: String, root: Int = 0, type: String = "file") -> String {
            type == "file"
                ? "{\"root\":\(root),\"path\":\(JSONValue.quoted(path)),\"type\":\"file\",\"sha256\":\"\(sha)\",\"size\":5,\"mode\":\"644\",\"uid\":0,\"gid\":0,\"mtime_ns\":\"0\"}"
                : "{\"root\":\(root),\"path\":\(JSONValue.quoted(path)),\"type\":\"\(type)\",\"target\":\"/etc\",\"size\":4,\"mode\":\"777\",\"uid\":0,\"gid\":0,\"mtime_ns\":\"0\"}"
        }
        let cases: [(String, String)] = [
            ("absolute path", entry("/etc/passwd")),
            ("dot-dot", entry("../outside/x")),
            ("dot-dot inside", entry("c/../../x")),
            ("dot component", entry("./a.conf")),
            ("empty name", entry("c//d.conf")),
            ("trailing slash", entry("c/")),
            ("empty path", entry("")),
            ("NUL", entry("a\u{0}b")),
            ("duplicate", entry("a.conf")),
            ("root index out of range", entry("z.conf", root: 7)),
            ("below a symlink entry", entry("ln", type: "symlink") + "," + entry("ln/passwd")),
            ("parent not in snapshot", entry("nodir/x.conf")),
        ]
        for (what, extra) in cases {
            let hostile = good.replacingOccurrences(of: "\"entries\":[", with: "\"entries\":[" + extra + ",")
                .replacingOccurrences(of: ",,", with: ",")
            XCTAssertNotEqual(hostile, good, what)
            try writeFileAtomically(dir + "/manifest.json", hostile)
            try writeFileAtomically(dir + "/manifest.json.sha256", SHA256.hex(Array(hostile.utf8)) + "  manifest.json\n")
            assertRefusedWithNothingWritten(manifest.id, what)
            XCTAssertFalse(fileExists(outside + "/x"), what)
        }
        for (what, rootJSON) in [("relative root", "\"path\":\"tree\""), ("root with ..", "\"path\":\"\(tree)/../outside\""),
                                 ("root /", "\"path\":\"/\"")] {
            let hostile = good.replacingOccurrences(of: "\"path\":\(JSONValue.quoted(tree))", with: rootJSON)
            XCTAssertNotEqual(hostile, good, what)
            try writeFileAtomically(dir + "/manifest.json", hostile)
            try writeFileAtomically(dir + "/manifest.json.sha256", SHA256.hex(Array(hostile.utf8)) + "  manifest.json\n")
            assertRefusedWithNothingWritten(manifest.id, what)
        }
    }

    /// A symlink planted at a target file or at a parent directory, pointing outside: the outside
    /// file is untouched and the real path is restored.
    func testSymlinkAttacksNeverWriteOutside() throws {
        let manifest = try prepared()
        try temp.write("outside/a.conf", "outside a")
        try temp.write("outside/d.conf", "outside d")
        try removeFile(tree + "/a.conf")
        try makeSymbolicLink(tree + "/a.conf", pointingTo: outside + "/a.conf")
        try removeTree(tree + "/c")
        try makeSymbolicLink(tree + "/c", pointingTo: outside)
        let outsideBefore = treeState(outside)
        _ = try forceRestore(manifest.id)
        XCTAssertEqual(treeState(outside), outsideBefore)
        XCTAssertEqual(try readTextFile(tree + "/a.conf"), "alpha")
        XCTAssertTrue(try fileStatus(tree + "/c").isDirectory)
        XCTAssertEqual(try readTextFile(tree + "/c/d.conf"), "delta")
    }

    /// A symlink above the root (a parent of the root swapped for a link to elsewhere) blocks the
    /// restore: the root is only ever reached from `/` without symlinks.
    func testSymlinkAboveTheRootBlocks() throws {
        try write("c/d.conf", "delta")
        let manifest = try store.create(paths: [tree + "/c"], label: nil, tag: nil)
        try renameItem(tree, to: temp.file("moved"))
        try makeDirectories(outside + "/c")
        try temp.write("outside/c/d.conf", "outside d")
        try makeSymbolicLink(tree, pointingTo: outside)
        XCTAssertThrowsError(try forceRestore(manifest.id)) { error in
            XCTAssertTrue("\(error)".contains("without symlinks"), "\(error)")
        }
        XCTAssertEqual(try readTextFile(outside + "/c/d.conf"), "outside d")
    }
}
