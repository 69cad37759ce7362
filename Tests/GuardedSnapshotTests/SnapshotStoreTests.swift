import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

final class SnapshotStoreTests: SnapshotTestCase {
    /// Round trip on random trees: random files, directories and symlinks with random modes;
    /// random mutations; restore; the tree equals the snapshot and the diff is empty.
    func testRoundTripOnRandomTrees() throws {
        var rng = SeededGenerator(seed: 0x5eed)
        for round in 0..<6 {
            let root = tree + "/r\(round)"
            try makeDirectories(root)
            var dirs = [""]
            var files: [String] = []
            for i in 0..<Int.random(in: 10...30, using: &rng) {
                let parent = dirs.randomElement(using: &rng)!
                let rel = (parent.isEmpty ? "" : parent + "/") + "n\(i)"
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<2:
                    try makeDirectories(root + "/" + rel, mode: 0o755)
                    chmod(root + "/" + rel, [0o700, 0o755, 0o750][Int.random(in: 0..<3, using: &rng)])
                    dirs.append(rel)
                case 2:
                    try makeSymbolicLink(root + "/" + rel, pointingTo: ["../x", "n0", "/nonexistent/\(i)"][Int.random(in: 0..<3, using: &rng)])
                    files.append(rel)
                default:
                    let bytes = (0..<Int.random(in: 0..<3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    try writeFileAtomically(root + "/" + rel, bytes, mode: [0o600, 0o644, 0o640, 0o755, 0o4755][Int.random(in: 0..<5, using: &rng)])
                    files.append(rel)
                }
            }
            let before = treeState(root)
            let manifest = try store.create(paths: [root], label: "round \(round)", tag: nil)
            XCTAssertEqual(store.verify(manifest), [])

            // Random mutations: edit, delete, chmod, replace with a symlink or a directory, add files.
            for rel in files.shuffled(using: &rng).prefix(6) {
                let path = root + "/" + rel
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: try removeTree(path)
                case 1: try removeTree(path); try writeFileAtomically(path, "changed \(rel)")
                case 2: if fileStatusIfPresent(path)?.isSymbolicLink == false { chmod(path, 0o611) }
                case 3: try removeTree(path); try makeSymbolicLink(path, pointingTo: outside)
                default: try removeTree(path); try makeDirectories(path + "/sub"); try writeFileAtomically(path + "/sub/x", "x")
                }
            }
            if let d = dirs.dropFirst().randomElement(using: &rng) { try removeTree(root + "/" + d) }
            try writeFileAtomically(root + "/added-\(round)", "new")
            XCTAssertNotEqual(treeState(root), before)

            let planText = store.plan(manifest, deleteNew: true).text()
            let report: RestoreReport
            do { report = try forceRestore(manifest.id, deleteNew: true) } catch { XCTFail("\(error)\n\(planText)"); throw error }
            XCTAssertNotNil(report.preRestore)
            XCTAssertEqual(treeState(root), before, "round \(round)")
            let after = store.plan(try store.load(manifest.id), deleteNew: true)
            XCTAssertFalse(after.hasChanges, "round \(round): \(after.text())")
            XCTAssertEqual(after.create, [])
            XCTAssertEqual(after.modify.count, 0)
            XCTAssertEqual(after.new, [])
        }
    }

    func testRestoreIsIdempotent() throws {
        try write("a.conf", "a")
        try write("d/b.conf", "b", mode: 0o600)
        let manifest = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "changed")
        _ = try forceRestore(manifest.id)
        let statuses = try ["a.conf", "d/b.conf"].map { try fileStatus(tree + "/" + $0) }
        let count = snapshotCount()
        let second = try forceRestore(manifest.id)
        XCTAssertNil(second.preRestore, "the second restore has nothing to do")
        XCTAssertFalse(second.plan.hasChanges)
        XCTAssertEqual(snapshotCount(), count)
        XCTAssertEqual(try ["a.conf", "d/b.conf"].map { try fileStatus(tree + "/" + $0) }, statuses)
    }

    func testDedupStoresUnchangedContentOnce() throws {
        try write("a.conf", "same")
        try write("b.conf", "same")
        _ = try store.create(paths: [tree], label: nil, tag: nil)
        _ = try store.create(paths: [tree], label: nil, tag: nil)
        XCTAssertEqual(try indexLines().count, 1)
    }

    func testNewFilesAreKeptUnlessDeleteNewAndOnlyInsideRoots() throws {
        try write("keep/a.conf", "a")
        try write("sibling.conf", "s")
        let manifest = try store.create(paths: [tree + "/keep"], label: nil, tag: nil)
        try write("keep/new.conf", "n")
        try write("sibling-new.conf", "outside the root")
        let plan = store.plan(manifest, deleteNew: false)
        XCTAssertEqual(plan.new, [tree + "/keep/new.conf"])
        XCTAssertEqual(plan.delete, [])
        XCTAssertEqual(store.plan(manifest, deleteNew: true).delete, [tree + "/keep/new.conf"])
        // Nothing else changed: without --delete-new there is nothing to do.
        XCTAssertNil(try forceRestore(manifest.id).preRestore)
        XCTAssertTrue(fileExists(tree + "/keep/new.conf"))
        _ = try forceRestore(manifest.id, deleteNew: true)
        XCTAssertFalse(fileExists(tree + "/keep/new.conf"))
        XCTAssertTrue(fileExists(tree + "/sibling-new.conf"))
        XCTAssertTrue(fileExists(tree + "/sibling.conf"))
    }

    func testPatternRootsRecogniseNewUnitsAndDropIns() throws {
        let system = tree + "/systemd/system"
        try write("systemd/system/agent-a.service", "[Service]\n")
        try write("systemd/system/other.service", "[Service]\n")
        let roots = try snapshotRoots(for: [system + "/agent-*.service"], allowGlobs: true)
        XCTAssertEqual(roots.count, 1)
        XCTAssertEqual(roots[0].patterns, ["agent-*.service", "agent-*.service.d"])
        let manifest = try store.create(roots: roots, label: nil, tag: nil, holding: try store.lock())
        try write("systemd/system/agent-b.service", "[Service]\n")
        try write("systemd/system/agent-a.service.d/guarded.conf", "[Service]\n")
        try write("systemd/system/other2.service", "[Service]\n")
        let plan = store.plan(manifest, deleteNew: true)
        XCTAssertEqual(plan.delete, [system + "/agent-a.service.d", system + "/agent-b.service"])
        let report = try forceRestore(manifest.id, deleteNew: true)
        XCTAssertEqual(report.reloadCommands, [["systemctl", "daemon-reload"]])
        XCTAssertTrue(fileExists(system + "/other2.service"))
        XCTAssertFalse(fileExists(system + "/agent-b.service"))
    }

    /// Roots in a repository, in a linked worktree (whose `.git` is a file) and in no repository:
    /// git state exactly where git itself finds a work tree, and the repository's real state.
    func testGitStateRecordedOnlyInsideAWorkTree() throws {
        guard let git = Subprocess.findExecutable("git") else { throw XCTSkip("no git") }
        let env = environment(["GIT_DIR": nil, "GIT_WORK_TREE": nil, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"])
        func gitOut(_ dir: String, _ args: [String]) -> String? {
            let r = TestSupport.run(git, ["-C", dir] + args, environment: env)
            guard r.succeeded else { return nil }
            var text = r.outputText
            while text.hasSuffix("\n") { text.removeLast() }
            return text
        }
        let repo = tree + "/repo", plain = tree + "/plain", linked = tree + "/linked"
        try write("repo/etc/a.conf", "alpha")
        try write("plain/b.conf", "bravo")
        for args in [["init", "-q", "-b", "main"], ["add", "."],
                     ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one"],
                     ["worktree", "add", "-q", "-b", "side", linked]] {
            XCTAssertNotNil(gitOut(repo, args), "git \(args)")
        }
        let head = try XCTUnwrap(gitOut(repo, ["rev-parse", "HEAD"]))
        let clean = try store.create(paths: [repo + "/etc/a.conf", linked + "/etc", plain + "/b.conf"], label: nil, tag: nil)
        let inRepo = try XCTUnwrap(clean.roots[0].git), inLinked = try XCTUnwrap(clean.roots[1].git)
        XCTAssertEqual([inRepo.repository, inRepo.commit, inRepo.branch], [repo, head, "main"])
        XCTAssertEqual([inLinked.repository, inLinked.commit, inLinked.branch], [linked, head, "side"])
        XCTAssertFalse(inRepo.dirty || inLinked.dirty)
        // Outside any work tree (as git itself sees it): no git state, and no git run needed.
        XCTAssertEqual(clean.roots[2].git == nil, gitOut(plain, ["rev-parse", "--show-toplevel"]) == nil)
        try write("repo/etc/a.conf", "changed")
        let dirty = try store.create(paths: [repo + "/etc"], label: nil, tag: nil)
        XCTAssertEqual(dirty.roots[0].git?.dirty, true)
    }

    /// Names that only look like `.` or `..` are ordinary names: captured, loaded and restored.
    func testDotLikeNamesAreOrdinary() throws {
        for name in ["...", ".hidden", "..x", "x..", ".d/..e", "é/.f"] { try write(name, name) }
        let manifest = try store.create(paths: [tree], label: nil, tag: nil)
        let loaded = try store.load(manifest.id)
        XCTAssertEqual(Set(loaded.entries.map(\.path)), [".", "...", ".hidden", "..x", "x..", ".d", ".d/..e", "é", "é/.f"])
        XCTAssertEqual(store.verify(loaded), [])
        try write(".d/..e", "changed")
        _ = try forceRestore(loaded.id)
        XCTAssertEqual(try readTextFile(tree + "/.d/..e"), ".d/..e")
    }

    func testReloadHints() throws {
        let me = geteuid(), uid = getuid()
        func hints(_ changed: [String], deleted: [String] = [], owner: UInt32 = geteuid()) -> [[String]] {
            reloadCommands(changed: changed.map { ($0, owner) }, deleted: deleted.map { ($0, owner) })
        }
        XCTAssertEqual(hints(["/etc/systemd/system/a.service"]), [["systemctl", "daemon-reload"]])
        XCTAssertEqual(hints(["/etc/systemd/system/a.service.d/override.conf"]), [["systemctl", "daemon-reload"]])
        XCTAssertEqual(hints(["/etc/app/app.conf", "/etc/systemd/system/notes.txt"]), [])
        XCTAssertEqual(hints(["/home/me/.config/systemd/user/a.timer"], owner: me), [["systemctl", "--user", "daemon-reload"]])
        // Another user's unit: that user's manager, by name when /etc/passwd has it, else by uid.
        let other: UInt32 = me == 4_000_000 ? 4_000_001 : 4_000_000
        XCTAssertEqual(hints(["/home/x/.config/systemd/user/a.service.d/o.conf"], owner: other),
                       [["systemctl", "--user", "-M", "\(other)@", "daemon-reload"]])
        XCTAssertEqual(hints(["/Users/me/Library/LaunchAgents/com.x.plist"], owner: 501),
                       [["launchctl", "bootout", "gui/501", "/Users/me/Library/LaunchAgents/com.x.plist"],
                        ["launchctl", "bootstrap", "gui/501", "/Users/me/Library/LaunchAgents/com.x.plist"]])
        XCTAssertEqual(hints(["/Library/LaunchAgents/com.x.plist"], owner: 0),
                       [["launchctl", "bootout", "gui/\(uid)", "/Library/LaunchAgents/com.x.plist"],
                        ["launchctl", "bootstrap", "gui/\(uid)", "/Library/LaunchAgents/com.x.plist"]])
        XCTAssertEqual(hints([], deleted: ["/Library/LaunchDaemons/com.y.plist"], owner: 0),
                       [["launchctl", "bootout", "system", "/Library/LaunchDaemons/com.y.plist"]])

        try temp.write("passwd", "root:x:0:0:root:/root:/bin/sh\nbroken line\n::::\nalice:x:501:20::/Users/alice:/bin/zsh\nbob:x:99999999999999999999:1::/:\n")
        XCTAssertEqual(userName(501, passwd: temp.file("passwd")), "alice")
        XCTAssertNil(userName(502, passwd: temp.file("passwd")))
        XCTAssertNil(userName(501, passwd: temp.file("missing")))
        XCTAssertEqual(passwordEntry(uid: 501, passwd: temp.file("passwd"))?.home, "/Users/alice")
        XCTAssertNil(passwordEntry(uid: 99, passwd: temp.file("passwd")))
    }

    /// Root restoring files other users own: the hints name the owner's uid (a plist owned by
    /// 501 is `gui/501`; a user unit owned by an unknown uid is `systemctl --user -M UID@`).
    func testReloadHintsUseTheFileOwner() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give files to other users")
        let agents = "Users/alice/Library/LaunchAgents/com.example.a.plist"
        let unit = "home/bob/.config/systemd/user/agent.service"
        try write(agents, "<plist/>\n")
        try write(unit, "[Service]\n")
        XCTAssertEqual(lchown(tree + "/" + agents, 501, 20), 0)
        XCTAssertEqual(lchown(tree + "/" + unit, 4_000_000, 4_000_000), 0)
        let manifest = try store.create(paths: [tree], label: nil, tag: nil)
        try write(agents, "<plist>changed</plist>\n")
        try write(unit, "[Service]\nExecStart=/x\n")
        let hints = store.plan(manifest, deleteNew: false).reloadCommands()
        XCTAssertEqual(hints, [["launchctl", "bootout", "gui/501", tree + "/" + agents],
                               ["launchctl", "bootstrap", "gui/501", tree + "/" + agents],
                               ["systemctl", "--user", "-M", "4000000@", "daemon-reload"]])
        XCTAssertEqual(try forceRestore(manifest.id).reloadCommands, hints)
        XCTAssertEqual(try fileStatus(tree + "/" + agents).uid, 501, "restored to its owner")
    }

    func testSocketsAreRefused() throws {
        let path = tree + "/sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() where i < p.count - 1 { p[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(rc, 0)
        XCTAssertThrowsError(try store.create(paths: [tree], label: nil, tag: nil)) { error in
            XCTAssertTrue("\(error)".contains("socket"), "\(error)")
        }
        XCTAssertEqual(snapshotCount(), 0)
    }

    func testPruneKeepsNewestAndProtectsPreRestore() throws {
        try write("a.conf", "1")
        let first = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "2")
        let second = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "3")
        let report = try forceRestore(first.id)
        let pre = try XCTUnwrap(report.preRestore)
        XCTAssertEqual(pre.kind, .preRestore)
        XCTAssertEqual(pre.guards, first.id)
        // Counted per kind: the newest manual snapshot and the newest pre-restore one stay.
        let plan = store.prunePlan(keep: 0, includePreRestore: false)
        XCTAssertEqual(plan.remove, [first.id])
        XCTAssertEqual(plan.protectedIDs, [])
        let plan1 = store.prunePlan(keep: 1, includePreRestore: false)
        XCTAssertFalse(plan1.remove.contains(pre.id))
        // After a newer manual snapshot the pre-restore one is still the newest of its kind.
        let third = try store.create(paths: [tree], label: nil, tag: nil)
        let plan2 = store.prunePlan(keep: 1, includePreRestore: false)
        XCTAssertEqual(plan2.remove, [first.id, second.id])
        let lock = try store.lock()
        _ = try store.prune(plan2.remove, holding: lock)
        XCTAssertEqual(store.ids(), [pre.id, third.id])
        let last = try store.load(try store.resolve("latest"))
        XCTAssertEqual(store.verify(last), [], "pruning kept every blob the last snapshot needs")
        XCTAssertEqual(store.verify(try store.load(pre.id)), [])
    }

    func testPreRestoreSnapshotIsProtectedWhileNewest() throws {
        try write("a.conf", "1")
        let first = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "2")
        _ = try store.create(paths: [tree], label: nil, tag: nil)
        try write("a.conf", "3")
        let pre = try XCTUnwrap(try forceRestore(first.id).preRestore)
        try write("a.conf", "4")
        let pre2 = try XCTUnwrap(try forceRestore(first.id).preRestore)
        let plan = store.prunePlan(keep: 1, includePreRestore: false)
        XCTAssertEqual(plan.protectedIDs, [pre.id])
        XCTAssertEqual(plan.protected.first?.why, .preRestore)
        XCTAssertFalse(plan.remove.contains(pre2.id))
        XCTAssertTrue(store.prunePlan(keep: 1, includePreRestore: true).remove.contains(pre.id))
    }
}

/// SplitMix64: reproducible random trees.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
