import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

/// `snapshot diff --patch` and the unified diff under it, held against GNU diff, patch and git
/// apply as independent oracles.
final class SnapshotPatchTests: SnapshotTestCase {
    /// A random text: few distinct lines, so alignments are ambiguous and the search has work.
    func randomLines(_ count: Int, _ rng: inout SeededGenerator) -> [String] {
        let words = ["alpha", "beta", "gamma", "", "[Service]", "ExecStart=/x"]
        return (0..<count).map { _ in words[Int(rng.next() % UInt64(words.count))] }
    }

    func text(_ lines: [String], newlineAtEnd: Bool) -> [UInt8] {
        var s = lines.joined(separator: "\n")
        if newlineAtEnd && !lines.isEmpty { s += "\n" }
        return Array(s.utf8)
    }

    /// Lines starting with - or + in a unified diff's hunks (headers excluded).
    func changedLineCount(_ diff: String) -> Int {
        diff.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { ($0.hasPrefix("-") && !$0.hasPrefix("--- ")) || ($0.hasPrefix("+") && !$0.hasPrefix("+++ ")) }.count
    }

    /// Over a corpus of generated edits (inserts, deletes, replacements, moved blocks, files
    /// with and without a newline at the end, empty files), our patch applied by GNU patch and
    /// by git apply to the old file gives the new one, and it changes exactly as many lines as
    /// `diff --minimal -u` (Myers finds a shortest edit script).
    func testPatchAppliesAndIsMinimalOverGeneratedEdits() throws {
        var rng = SeededGenerator(seed: 11)
        let dir = temp.file("corpus")
        try makeDirectories(dir)
        var cases = 0
        for n in 0..<240 {
            var old = randomLines(Int(rng.next() % 40), &rng)
            if n % 17 == 0 { old = [] }
            var new = old
            for _ in 0..<Int(rng.next() % 7) {
                let at = new.isEmpty ? 0 : Int(rng.next() % UInt64(new.count + 1))
                switch rng.next() % 4 {
                case 0: new.insert(contentsOf: randomLines(1 + Int(rng.next() % 4), &rng), at: at)
                case 1: if at < new.count { new.removeSubrange(at..<min(new.count, at + 1 + Int(rng.next() % 5))) }
                case 2: if at < new.count { new[at] = "changed \(rng.next() % 3)" }
                default:
                    if at < new.count {
                        let block = Array(new[at..<min(new.count, at + 3)])
                        new.removeSubrange(at..<min(new.count, at + 3))
                        new.append(contentsOf: block)
                    }
                }
            }
            if n % 23 == 0 { new = [] }
            let oldBytes = text(old, newlineAtEnd: rng.next() % 4 != 0)
            let newBytes = text(new, newlineAtEnd: rng.next() % 4 != 0)
            let hunks = UnifiedDiff.hunks(old: oldBytes, new: newBytes)
            if oldBytes == newBytes {
                XCTAssertEqual(hunks, [], "case \(n)")
                continue
            }
            cases += 1
            let oldFile = dir + "/old", newFile = dir + "/new", patchFile = dir + "/p.diff"
            try writeFileAtomically(oldFile, oldBytes)
            try writeFileAtomically(newFile, newBytes)
            try writeFileAtomically(patchFile, Array("--- a/f\n+++ b/f\n".utf8) + hunks)
            let patchText = String(decoding: hunks, as: UTF8.self)

            let patched = TestSupport.run("/usr/bin/patch", ["-s", "-f", "--no-backup-if-mismatch", "-o", dir + "/out", oldFile, "-i", patchFile])
            XCTAssertEqual(patched.termination, .exited(0), "case \(n): patch: \(patched.outputText)\(patched.errorText)\n\(patchText)")
            XCTAssertEqual(try readFile(dir + "/out"), newBytes, "case \(n): patch gave another file\n\(patchText)")

            try writeFileAtomically(dir + "/f", oldBytes)
            let applied = TestSupport.run("/usr/bin/git", ["apply", "p.diff"], cwd: dir)
            XCTAssertEqual(applied.termination, .exited(0), "case \(n): git apply: \(applied.errorText)\n\(patchText)")
            XCTAssertEqual(try readFile(dir + "/f"), newBytes, "case \(n): git apply gave another file")

            let gnu = TestSupport.run("/usr/bin/diff", ["--minimal", "-u", oldFile, newFile])
            XCTAssertEqual(gnu.termination, .exited(1))
            XCTAssertEqual(changedLineCount(patchText), changedLineCount(gnu.outputText), "case \(n): not minimal\n\(patchText)\nGNU:\n\(gnu.outputText)")
        }
        XCTAssertGreaterThan(cases, 150)
    }

    /// Two unrelated 20 000-line files: past the edit-cost bound the middle is shown removed
    /// and added whole, and the patch still applies (no quadratic search, no trap).
    func testLargeUnrelatedFilesStayBoundedAndApply() throws {
        let old = (0..<UnifiedDiff.maxLines).map { "old line \($0)" }, new = (0..<UnifiedDiff.maxLines).map { "new line \($0)" }
        let oldBytes = text(old, newlineAtEnd: true), newBytes = text(new, newlineAtEnd: false)
        XCTAssertTrue(UnifiedDiff.isDiffable(oldBytes) && UnifiedDiff.isDiffable(newBytes))
        let hunks = UnifiedDiff.hunks(old: oldBytes, new: newBytes)
        let dir = temp.file("large")
        try makeDirectories(dir)
        try writeFileAtomically(dir + "/old", oldBytes)
        try writeFileAtomically(dir + "/p.diff", Array("--- a/f\n+++ b/f\n".utf8) + hunks)
        let patched = TestSupport.run("/usr/bin/patch", ["-s", "-f", "-o", dir + "/out", dir + "/old", "-i", dir + "/p.diff"])
        XCTAssertEqual(patched.termination, .exited(0), patched.errorText)
        XCTAssertEqual(try readFile(dir + "/out"), newBytes)
        // Over the line limit or with a NUL byte: not diffable (the command says "binary or too large").
        XCTAssertFalse(UnifiedDiff.isDiffable(text(old + ["one more"], newlineAtEnd: true)))
        XCTAssertFalse(UnifiedDiff.isDiffable([0x61, 0, 0x62]))
        XCTAssertFalse(UnifiedDiff.isDiffable([UInt8](repeating: 0x61, count: UnifiedDiff.maxBytes + 1)))
    }

    /// End to end on real files: the patch `snapshot diff --patch --delete-new` prints, applied
    /// with `patch -p1 -d /` (after `git apply --check` accepts it), puts back the snapshot's
    /// text; binary and too large files and mode changes are comment lines.
    func testCommandPatchRestoresTextAndNamesTheRest() throws {
        let state = temp.file("state")
        try write("agent.service", "[Unit]\nDescription=a\n\n[Service]\nExecStart=/a\nRestart=always\n")
        try write("no-eol.conf", "key=1\nlast", mode: 0o600)
        try write("gone.conf", "will be deleted\nand restored\n")
        try write("dir name/spaced file.conf", "x\ny\n")
        try writeFileAtomically(tree + "/blob.bin", [0x00, 0x01, 0x02, 0x0a])
        let originals = treeState(tree)
        let created = runGuarded(["snapshot", "create", tree, "--state-dir", state])
        XCTAssertEqual(created.termination, .exited(0), created.errorText)
        let id = created.outputText.trimmingCharacters(in: .newlines)

        try write("agent.service", "[Unit]\nDescription=changed\n\n[Service]\nExecStart=/usr/bin/guarded-run -- /a\nRestart=always\nExtra=1\n")
        try write("no-eol.conf", "key=2\nlast\n", mode: 0o644)
        try removeFile(tree + "/gone.conf")
        try write("dir name/spaced file.conf", "x\nz\n")
        try writeFileAtomically(tree + "/blob.bin", [0x00, 0x09, 0x02, 0x0a])
        try write("new.conf", "created since\n")

        let diff = runGuarded(["snapshot", "diff", id, "--patch", "--delete-new", "--state-dir", state])
        XCTAssertEqual(diff.termination, .exited(0), diff.errorText)
        let out = diff.outputText
        XCTAssertTrue(out.contains("# \(tree)/blob.bin: binary or too large; content not shown\n"), out)
        XCTAssertTrue(out.contains("# \(tree)/no-eol.conf: mode 0644 -> 0600\n"), out)
        XCTAssertTrue(out.contains("--- a\(tree)/new.conf\n+++ /dev/null\n"), out)
        XCTAssertTrue(out.contains("--- /dev/null\n+++ b\(tree)/gone.conf\n"), out)
        XCTAssertTrue(out.contains("\\ No newline at end of file\n"), out)
        XCTAssertEqual(runGuarded(["snapshot", "diff", id, "--patch", "--json", "--state-dir", state]).termination, .exited(64))

        // Mode changes read with their direction: as on disk now -> as the restore makes it.
        let text = runGuarded(["snapshot", "diff", id, "--state-dir", state]).outputText
        XCTAssertTrue(text.contains("modify    \(tree)/no-eol.conf (content, mode 0644 -> 0600)\n"), text)
        XCTAssertTrue(text.contains("(X -> Y: X is what is on disk now, Y what the restore makes it)\n"), text)
        let json = JSONValue.parse(runGuarded(["snapshot", "diff", id, "--json", "--state-dir", state]).outputText)
        let modeChange = json?["modify"]?.arrayValue?.first { $0["path"]?.stringValue == tree + "/no-eol.conf" }?["mode"]
        XCTAssertEqual(modeChange?["now"]?.stringValue, "0644")
        XCTAssertEqual(modeChange?["restored"]?.stringValue, "0600")

        let patchFile = temp.file("restore.diff")
        try writeFileAtomically(patchFile, diff.standardOutput)
        let check = TestSupport.run("/usr/bin/git", ["apply", "--check", "-p1", patchFile], cwd: "/")
        XCTAssertEqual(check.termination, .exited(0), check.errorText)
        let patched = TestSupport.run("/usr/bin/patch", ["-p1", "-s", "-f", "-d", "/", "-i", patchFile])
        XCTAssertEqual(patched.termination, .exited(0), patched.outputText + patched.errorText)
        let now = treeState(tree)
        for path in ["agent.service", "gone.conf", "dir name/spaced file.conf"] {
            XCTAssertEqual(now[path], originals[path], path)
        }
        // patch restores content, not modes: compare the content hash only.
        XCTAssertEqual(now["no-eol.conf"]?.split(separator: " ").last, originals["no-eol.conf"]?.split(separator: " ").last)
        XCTAssertNil(now["new.conf"], "the patch deletes the file created since")
        XCTAssertNotEqual(now["blob.bin"], originals["blob.bin"], "binary files are not in the patch")
    }
}
