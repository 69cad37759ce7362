import Foundation
import GuardedCore
import GuardedSnapshot
import GuardedSystem
import TestSupport
import XCTest

/// End to end: the built `guarded-run snapshot ...` (run `swift build` first).
final class SnapshotCommandTests: SnapshotTestCase {
    var state: String { temp.file("state") }

    func snapshot(_ args: [String], env: [String: String?] = [:]) -> SubprocessResult {
        runGuarded(["snapshot"] + args + ["--state-dir", state], environment: environment(env))
    }

    func testPrototypeHabitsLabelTagDryRunAndForce() throws {
        try write("agent.service", "[Service]\nExecStart=/a\n")
        try makeDirectories(state)
        try writeFileAtomically(state + "/snapshot-sets.conf", "# sets\n[set default]\n\(tree)/agent*.service\n")
        let created = snapshot(["create", "Before Phase 4", "pre-phase-4"])
        XCTAssertEqual(created.termination, .exited(0), created.errorText)
        let id = created.outputText.trimmingCharacters(in: .newlines)
        XCTAssertTrue(isValidSnapshotID(id), id)

        let list = snapshot(["list", "--json"])
        let item = try XCTUnwrap(JSONValue.parse(list.outputText)?["snapshots"]?.arrayValue?.first)
        XCTAssertEqual(item["label"]?.stringValue, "Before Phase 4")
        XCTAssertEqual(item["tag"]?.stringValue, "pre-phase-4")

        try write("agent.service", "[Service]\nExecStart=/usr/bin/guarded-run -- /a\n")
        let dry = snapshot(["restore", "pre-phase-4"])
        XCTAssertEqual(dry.termination, .exited(0))
        XCTAssertTrue(dry.outputText.hasPrefix("snapshot \(id): 0 to create, 1 to modify, 0 to delete, 0 unchanged\n"), dry.outputText)
        XCTAssertTrue(dry.outputText.contains("dry run: nothing written"))
        XCTAssertEqual(try readTextFile(tree + "/agent.service"), "[Service]\nExecStart=/usr/bin/guarded-run -- /a\n")

        let forced = snapshot(["restore", id, "--force"])
        XCTAssertEqual(forced.termination, .exited(0), forced.errorText)
        XCTAssertEqual(try readTextFile(tree + "/agent.service"), "[Service]\nExecStart=/a\n")
        XCTAssertTrue(forced.outputText.contains("pre-restore snapshot: "))
        // The pre-restore snapshot holds the state the restore replaced.
        let all = try XCTUnwrap(JSONValue.parse(snapshot(["list", "--json"]).outputText)?["snapshots"]?.arrayValue)
        XCTAssertEqual(all.count, 2)
        XCTAssertEqual(all[1]["kind"]?.stringValue, "pre-restore")
        let verify = snapshot(["verify", all[1]["id"]!.stringValue!])
        XCTAssertEqual(verify.termination, .exited(0), verify.outputText)

        let diff = snapshot(["diff", id, "--json"])
        XCTAssertEqual(JSONValue.parse(diff.outputText)?["counts"]?["modify"]?.intValue, 0)
        XCTAssertEqual(JSONValue.parse(diff.outputText)?["counts"]?["unchanged"]?.intValue, 1)
    }

    func testUsageAndMissingSnapshotExitCodes() throws {
        XCTAssertEqual(snapshot(["frobnicate"]).termination, .exited(64))
        XCTAssertEqual(snapshot(["show"]).termination, .exited(64))
        XCTAssertEqual(snapshot(["list", "--force"]).termination, .exited(64))
        XCTAssertEqual(snapshot(["show", "nope"]).termination, .exited(64))
        XCTAssertEqual(snapshot(["create", tree + "/missing.conf"]).termination, .exited(64))
        XCTAssertEqual(snapshot(["prune"]).termination, .exited(64))
    }

    func testVerifyExitsBrokenOnDamage() throws {
        try write("a.conf", "alpha")
        let id = snapshot(["create", tree]).outputText.trimmingCharacters(in: .newlines)
        XCTAssertEqual(snapshot(["verify", id]).termination, .exited(0))
        let pack = try XCTUnwrap(try directoryEntries(packsDirectory).first { $0.hasSuffix(".pack") })
        try writeFileAtomically(packsDirectory + "/" + pack, "bogus")
        let verify = snapshot(["verify", id])
        XCTAssertEqual(verify.termination, .exited(78))
        XCTAssertTrue(verify.outputText.contains("damaged"), verify.outputText)
        XCTAssertEqual(snapshot(["restore", id, "--force"]).termination, .exited(78))
    }

    /// A second create while the store is locked waits `--wait` seconds, then exits 75 naming the holder.
    func testLockHeldMeansExit75() throws {
        try write("a.conf", "alpha")
        let lock = try store.lock()
        let result = snapshot(["create", "--wait", "0.3", tree])
        XCTAssertEqual(result.termination, .exited(75), result.errorText)
        XCTAssertTrue(result.errorText.contains("pid \(getpid())"), result.errorText)
        XCTAssertEqual(snapshot(["restore", "latest", "--force", "--wait", "0"]).termination, .exited(64), "no snapshot yet")
        withExtendedLifetime(lock) {}
    }

    /// SIGKILL in the middle of a restore (stopped by the test-only hook after 2 files); a second
    /// restore takes over the stale lock, completes, and the tree is right.
    func testSigkillDuringRestoreThenSecondRestoreCompletes() throws {
        for i in 0..<6 { try write("f\(i).conf", "original \(i)") }
        let id = snapshot(["create", tree]).outputText.trimmingCharacters(in: .newlines)
        let wanted = treeState(tree)
        for i in 0..<6 { try write("f\(i).conf", "edited \(i)") }

        let marker = temp.file("paused")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guardedRunBinary)
        process.arguments = ["snapshot", "restore", id, "--force", "--state-dir", state]
        var env = ProcessInfo.processInfo.environment
        env["GUARDED_RUN_TEST_PAUSE_AFTER_FILES"] = "2"
        env["GUARDED_RUN_TEST_PAUSE_MARKER"] = marker
        process.environment = env
        process.standardError = FileHandle.nullDevice
        try process.run()
        XCTAssertTrue(waitUntil(timeout: 60) { fileExists(marker) }, "the restore never reached the pause")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        let written = (0..<6).filter { (try? readTextFile(tree + "/f\($0).conf")) == "original \($0)" }
        XCTAssertEqual(written.count, 2, "exactly the files before the pause were restored")

        let second = snapshot(["restore", id, "--force"])
        XCTAssertEqual(second.termination, .exited(0), second.errorText)
        XCTAssertTrue(second.errorText.contains("stale lock"), second.errorText)
        XCTAssertEqual(treeState(tree), wanted)
        XCTAssertEqual(JSONValue.parse(snapshot(["diff", id, "--json"]).outputText)?["counts"]?["modify"]?.intValue, 0)
    }

    /// `--reload` runs the reload command (a fake systemctl on PATH records it); without it, it is printed.
    func testReloadRunsOnlyWhenAsked() throws {
        try write("systemd/system/agent.service", "[Service]\n")
        let id = snapshot(["create", tree + "/systemd/system/agent.service"]).outputText.trimmingCharacters(in: .newlines)
        let bin = temp.file("bin")
        let record = temp.file("systemctl-ran")
        try temp.write("bin/systemctl", "#!/bin/sh\necho \"$@\" >> \(record)\n", mode: 0o755)
        let path = bin + ":" + (Environment.value("PATH") ?? "/usr/bin:/bin")

        try write("systemd/system/agent.service", "[Service]\nchanged\n")
        let printed = snapshot(["restore", id, "--force"], env: ["PATH": path])
        XCTAssertEqual(printed.termination, .exited(0), printed.errorText)
        XCTAssertTrue(printed.outputText.contains("reload: systemctl daemon-reload"), printed.outputText)
        XCTAssertFalse(fileExists(record))

        try write("systemd/system/agent.service", "[Service]\nchanged again\n")
        let ran = snapshot(["restore", id, "--force", "--reload"], env: ["PATH": path])
        XCTAssertEqual(ran.termination, .exited(0), ran.errorText)
        XCTAssertEqual(try readTextFile(record), "daemon-reload\n")

        try write("systemd/system/agent.service", "[Service]\nand again\n")
        try temp.write("bin/systemctl", "#!/bin/sh\necho nope >&2\nexit 3\n", mode: 0o755)
        let failed = snapshot(["restore", id, "--force", "--reload"], env: ["PATH": path])
        XCTAssertEqual(failed.termination, .exited(1))
        XCTAssertTrue(failed.errorText.contains("reload failed: systemctl daemon-reload: exited with 3: nope"), failed.errorText)
    }
}
