import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

/// Every path below `root` (lstat, never following) as "type mode content-or-target".
func treeState(_ root: String) -> [String: String] {
    var out: [String: String] = [:]
    func visit(_ rel: String) {
        let path = rel.isEmpty ? root : root + "/" + rel
        guard let st = fileStatusIfPresent(path) else { return }
        let key = rel.isEmpty ? "." : rel
        if st.isSymbolicLink {
            out[key] = "link " + ((try? readSymbolicLink(path)) ?? "?")
        } else if st.isDirectory {
            out[key] = "dir " + String(st.permissions, radix: 8)
            for name in ((try? directoryEntries(path)) ?? []).sorted() { visit(rel.isEmpty ? name : rel + "/" + name) }
        } else {
            out[key] = "file " + String(st.permissions, radix: 8) + " " + SHA256.hex((try? readFile(path)) ?? [])
        }
    }
    visit("")
    return out
}

/// A store in its own temp dir plus a tree to snapshot.
class SnapshotTestCase: XCTestCase {
    var temp: TemporaryDirectory!
    var store: SnapshotStore!
    var tree: String { temp.file("tree") }
    var outside: String { temp.file("outside") }

    override func setUpWithError() throws {
        temp = try TemporaryDirectory("snapshot")
        try makeDirectories(temp.file("tree"))
        try makeDirectories(temp.file("outside"))
        store = SnapshotStore(state: StateDirectory(path: temp.file("state")))
    }

    override func tearDown() {
        temp.remove()
    }

    func write(_ rel: String, _ text: String, mode: mode_t = 0o644) throws {
        try temp.write("tree/" + rel, text, mode: mode)
    }

    func forceRestore(_ id: String, deleteNew: Bool = false) throws -> RestoreReport {
        var options = RestoreOptions()
        options.deleteNew = deleteNew
        options.waitSeconds = 5
        return try store.restore(id, options: options)
    }

    var packsDirectory: String { store.path + "/packs" }

    /// (sha, offset, size) of every blob in the store's indexes.
    func indexLines() throws -> [(pack: String, sha: String, offset: Int, size: Int)] {
        var out: [(String, String, Int, Int)] = []
        for name in try directoryEntries(packsDirectory).sorted() where name.hasSuffix(".idx") {
            for line in try readTextFile(packsDirectory + "/" + name).split(separator: "\n") {
                let f = line.split(separator: " ")
                out.append((String(name.dropLast(4)), String(f[0]), Int(f[1])!, Int(f[2])!))
            }
        }
        return out
    }

    func snapshotCount() -> Int { store.ids().count }
}
