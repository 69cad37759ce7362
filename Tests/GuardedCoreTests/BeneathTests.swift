@testable import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// `openBeneath` and the `StateDirectory` walk refuse a symlink at every component, both ways it
/// resolves: openat2 (this kernel) and the openat/O_NOFOLLOW walk (old kernels, seccomp).
final class BeneathTests: XCTestCase {
    var tmp: TemporaryDirectory!

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory("beneath")
        try makeDirectories(tmp.file("root/a/b"), mode: 0o700)
        try makeDirectories(tmp.file("elsewhere/b"), mode: 0o700)
        try tmp.write("root/a/b/file", "inside\n", mode: 0o600)
        try tmp.write("elsewhere/b/file", "outside\n", mode: 0o600)
        try tmp.write("elsewhere/file", "outside\n", mode: 0o600)
    }

    override func tearDown() {
        forceBeneathWalk(false)
        tmp?.remove()
    }

    func read(_ relative: String) -> (text: String?, errno: Int32) {
        let root = open(tmp.file("root"), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(root) }
        let fd = openBeneath(root, relative, O_RDONLY)
        guard fd >= 0 else { return (nil, errno) }
        let owned = FileDescriptor(adopting: fd)
        return ((try? owned.readAll()).map { String(decoding: $0, as: UTF8.self) }, 0)
    }

    func bothWays(_ body: (String) throws -> Void) rethrows {
        for walk in [false, true] {
            forceBeneathWalk(walk)
            try body(walk ? "walk" : "default")
        }
        forceBeneathWalk(false)
    }

    func testPlainPathOpensBothWays() {
        bothWays { way in
            XCTAssertEqual(read("a/b/file").text, "inside\n", way)
            #if os(Linux)
            XCTAssertEqual(lastBeneathMethod(), way == "walk" ? 0 : 2, way)
            #endif
        }
    }

    func testLinkAtEveryComponentIsRefused() throws {
        let plants: [(String, String, String)] = [
            ("a", "root/a", "elsewhere"),
            ("a/b", "root/a/b", "elsewhere/b"),
            ("a/b/file", "root/a/b/file", "elsewhere/file"),
        ]
        for (label, at, target) in plants {
            let saved = tmp.file("saved")
            try renameItem(tmp.file(at), to: saved)
            try makeSymbolicLink(tmp.file(at), pointingTo: tmp.file(target))
            bothWays { way in
                let r = read("a/b/file")
                XCTAssertNil(r.text, "\(label), \(way)")
                XCTAssertTrue(r.errno == ELOOP || r.errno == ENOTDIR, "\(label), \(way): errno \(r.errno)")
            }
            try removeFile(tmp.file(at))
            try renameItem(saved, to: tmp.file(at))
        }
    }

    func testEscapesAreRefused() {
        bothWays { way in
            for bad in ["/etc/passwd", "", "../elsewhere/file"] {
                XCTAssertNil(read(bad).text, "\(bad), \(way)")
            }
        }
    }

    func testStateDirectoryFilesRefuseLinksBothWays() throws {
        let state = StateDirectory(path: tmp.file("state"))
        try bothWays { way in
            try state.writeFile(["venvs", "k"], "f", Array("one\n".utf8))
            XCTAssertEqual(state.readFile(["venvs", "k"], "f", limit: 100), Array("one\n".utf8), way)
            try renameItem(tmp.file("state/venvs"), to: tmp.file("moved"))
            try makeSymbolicLink(tmp.file("state/venvs"), pointingTo: tmp.file("moved"))
            XCTAssertNil(state.readFile(["venvs", "k"], "f", limit: 100), way)
            XCTAssertThrowsError(try state.writeFile(["venvs", "k"], "f", Array("two\n".utf8)), way)
            XCTAssertEqual(try readTextFile(tmp.file("moved/k/f")), "one\n", way)
            try removeFile(tmp.file("state/venvs"))
            try renameItem(tmp.file("moved"), to: tmp.file("state/venvs"))
        }
        // The state directory itself behind a link is fine.
        try makeSymbolicLink(tmp.file("state-link"), pointingTo: tmp.file("state"))
        XCTAssertEqual(StateDirectory(path: tmp.file("state-link")).readFile(["venvs", "k"], "f", limit: 100), Array("one\n".utf8))
    }

    func testStateDirectoryResolvePrecedence() {
        func resolve(_ explicit: String?, env: [String: String?]) -> StateDirectory? {
            var saved: [String: String?] = [:]
            for (k, v) in env {
                saved[k] = Environment.value(k)
                if let v { setenv(k, v, 1) } else { unsetenv(k) }
            }
            defer { for (k, v) in saved { if let v { setenv(k, v, 1) } else { unsetenv(k) } } }
            return StateDirectory.resolve(explicit: explicit)
        }
        let all: [String: String?] = ["GUARDED_RUN_STATE_DIR": "/env", "STATE_DIRECTORY": "/sd/one:/sd/two"]
        XCTAssertEqual(resolve("/opt", env: all)?.path, "/opt")
        XCTAssertEqual(resolve(nil, env: all)?.path, "/env")
        XCTAssertEqual(resolve(nil, env: ["GUARDED_RUN_STATE_DIR": nil, "STATE_DIRECTORY": "/sd/one:/sd/two"])?.path, "/sd/one")
        XCTAssertEqual(resolve(nil, env: ["GUARDED_RUN_STATE_DIR": nil, "STATE_DIRECTORY": "/sd/one:/sd/two"])?.source, .systemd)
        // Not systemd's (relative or empty first entry): the defaults.
        XCTAssertNotEqual(resolve(nil, env: ["GUARDED_RUN_STATE_DIR": nil, "STATE_DIRECTORY": "rel:/sd"])?.source, .systemd)
        XCTAssertNotEqual(resolve(nil, env: ["GUARDED_RUN_STATE_DIR": nil, "STATE_DIRECTORY": ":/sd"])?.source, .systemd)
    }
}
