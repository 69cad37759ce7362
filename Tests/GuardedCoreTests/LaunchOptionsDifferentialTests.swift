@testable import GuardedCore
@testable import GuardedLaunch
import GuardedSystem
import TestSupport
import XCTest

/// The Embedded launcher and the full binary read one command line and one environment. The fast
/// path's code is one file both compile (GuardedLaunch), so these tests hold the only remaining
/// pair, the fast path's byte-level reading against the general code's String reading, equal over
/// generated corpora: whatever the fast path accepts, the general code accepts with the same meaning.
final class LaunchOptionsDifferentialTests: XCTestCase {
    /// argv as C strings (words may hold any byte but NUL), alive during `body`.
    func withArgv<R>(_ words: [[UInt8]], _ body: (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let all = [Array("guarded-run".utf8)] + words
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: all.count + 1)
        defer { argv.deallocate() }
        var owned: [UnsafeMutablePointer<CChar>] = []
        for (i, w) in all.enumerated() {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: w.count + 1)
            for (k, b) in w.enumerated() { p[k] = CChar(bitPattern: b) }
            p[w.count] = 0
            owned.append(p)
            argv[i] = p
        }
        argv[all.count] = nil
        defer { owned.forEach { $0.deallocate() } }
        return body(all.count, argv)
    }

    /// Options and values, good and bad, in every spelling the corpus mixes.
    static let values: [[UInt8]] = [
        "/srv/a/.venv", "/srv/a/venv/", "relative/venv", "", "/a//b", "/a/./b", "/x/y z/é", "mail", "mail agent",
        ".hidden", "a@b.c-d_e", "pkg.mod", "pkg..mod", "1pkg", "héllo", "3", "0", "007", "+5", "-1", "banana",
        "99999999999999999999", "18446744073709551616", "1e3", " 4", "--", "--venv", "-", "=", "/",
    ].map { Array($0.utf8) } + [[0x2f, 0x61, 0xff], [0x2f, 0xc0, 0xaf], [0x2f, 0xed, 0xa0, 0x80], [0x6d, 0xe9]]

    static let options = ["--venv", "--agent", "--state-dir", "--import", "--give-up-after", "--requirements",
                          "--python", "--find-links", "--auto-repair", "--no-auto-repair", "--observe", "--bogus", "-x"]

    func testEveryCommandLineTheFastPathAcceptsMeansTheSameToTheGeneralParser() {
        var generator = SplitMix(seed: 0x5eed)
        var accepted = 0, checked = 0
        func check(_ words: [[UInt8]]) {
            checked += 1
            withArgv(words) { argc, argv in
                guard let fast = FastPath.parseCommandLine(argc: argc, argv: argv) else { return }
                defer { fast.imports.free() }
                accepted += 1
                guard case .success(let request) = LaunchRequest.parse(argc: argc, argv: argv) else {
                    return XCTFail("the fast path accepts what the general parser refuses: \(words.map { String(decoding: $0, as: UTF8.self) })")
                }
                XCTAssertTrue(sameMeaning(fast, request), "\(words.map { String(decoding: $0, as: UTF8.self) })")
            }
        }
        let command: [[UInt8]] = [Array("--".utf8), Array("/srv/a/.venv/bin/python".utf8), Array("-m".utf8)]
        // Every option with every value, alone, in both spellings.
        for option in Self.options {
            for value in Self.values {
                check([Array(option.utf8), value] + command)
                check([Array(option.utf8) + [0x3d] + value] + command)
                check([Array(option.utf8)] + command)
            }
        }
        // Random mixtures: options, values, stray words, truncations, no `--`, an empty COMMAND.
        for _ in 0..<20_000 {
            var words: [[UInt8]] = []
            for _ in 0..<generator.next(upTo: 7) {
                switch generator.next(upTo: 10) {
                case 0: words.append(Self.values[generator.next(upTo: Self.values.count)])
                case 1: words.append((0..<generator.next(upTo: 6)).map { _ in UInt8(1 + generator.next(upTo: 255)) })
                case 2: words.append(Array(Self.options[generator.next(upTo: Self.options.count)].utf8) + [0x3d] + Self.values[generator.next(upTo: Self.values.count)])
                default:
                    words.append(Array(Self.options[generator.next(upTo: Self.options.count)].utf8))
                    words.append(Self.values[generator.next(upTo: Self.values.count)])
                }
            }
            switch generator.next(upTo: 6) {
            case 0: break
            case 1: words += [Array("--".utf8)]
            case 2: words += [Array("--".utf8), []]
            default: words += command
            }
            check(words)
        }
        // The corpus reaches the fast path's accepting side often enough to mean something.
        XCTAssertGreaterThan(accepted, 1_000, "of \(checked)")
    }

    /// Reproduced on 0.1.0: `--give-up-after banana` was ignored by the fast path (the agent started
    /// from the cache) and refused by the general parser (exit 64).
    func testValuesTheGeneralParserRefusesAreNotAcceptedByTheFastPath() {
        for bad in ["banana", "0", "-1", "", "99999999999999999999"] {
            let words = ["--give-up-after", bad, "--", "/srv/a/.venv/bin/python"].map { Array($0.utf8) }
            withArgv(words) { argc, argv in
                XCTAssertNil(FastPath.parseCommandLine(argc: argc, argv: argv), bad)
                guard case .failure = LaunchRequest.parse(argc: argc, argv: argv) else { return XCTFail(bad) }
            }
        }
    }

    /// The state directory from odd environments: whenever the fast path finds one, it is the one
    /// `StateDirectory.resolve` finds.
    func testStateDirectoryFromOddEnvironmentsMatchesTheGeneralCode() {
        let names = ["GUARDED_RUN_STATE_DIR", "STATE_DIRECTORY", "XDG_STATE_HOME", "HOME"]
        let saved = names.map { getenv($0).map { String(cString: $0) } }
        defer { for (n, v) in zip(names, saved) { if let v { setenv(n, v, 1) } else { unsetenv(n) } } }
        let choices: [[UInt8]?] = [nil, [], Array("/s/state".utf8), Array("rel/state".utf8), Array("/a:/b".utf8),
                                   Array(":/b".utf8), [0x2f, 0x73, 0xff], Array("/x/é".utf8),
                                   // A ':' with a combining mark after it: one Character, so a String
                                   // split at ":" did not cut STATE_DIRECTORY there; the fast path does.
                                   Array("/c:\u{301}/d".utf8)]
        var found = 0
        for a in choices { for b in choices { for c in choices { for d in choices {
            for (name, value) in zip(names, [a, b, c, d]) {
                if let value {
                    let z = (value + [0]).map { CChar(bitPattern: $0) }
                    _ = z.withUnsafeBufferPointer { setenv(name, $0.baseAddress!, 1) }
                } else { unsetenv(name) }
            }
            var out = ByteBuffer(capacity: 4096)
            defer { out.free() }
            // Bytes that are not UTF-8 never become another path (U+FFFD in their place), which the
            // general code then created (no choice here holds a real U+FFFD).
            if let general = StateDirectory.resolve(explicit: nil) {
                XCTAssertFalse(general.path.unicodeScalars.contains("\u{FFFD}"), "\([a, b, c, d])")
            }
            guard FastPath.appendStateDirectory(explicit: nil, into: &out), isValidUTF8(out.bytes) else { continue }
            found += 1
            let general = StateDirectory.resolve(explicit: nil)
            XCTAssertEqual(general?.path, String(decoding: out.bytes.buffer, as: UTF8.self), "\([a, b, c, d])")
        } } } }
        XCTAssertGreaterThan(found, 100)
    }

    /// A HOME that is not valid UTF-8 (a Latin-1 home directory) is no home, as the fast path reads
    /// it: read into a String it named another directory (its bad bytes replaced by U+FFFD), which
    /// the general code then created as its state directory, outside any path it was given.
    func testAHomeThatIsNotUTF8IsNoHome() {
        let saved = getenv("HOME").map { String(cString: $0) }
        defer { if let saved { setenv("HOME", saved, 1) } else { unsetenv("HOME") } }
        let latin1: [UInt8] = Array("/home/j".utf8) + [0xf6] + Array("rg".utf8) + [0]
        latin1.withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { _ = setenv("HOME", $0.baseAddress!, 1) } }
        XCTAssertNil(Environment.homeDirectory())
        setenv("HOME", "/home/jörg", 1)
        XCTAssertEqual(Environment.homeDirectory(), "/home/jörg")
    }

    /// A '/' followed by a combining mark is one Character with it: the general path helpers cut at
    /// Characters, so `bin/\u{301}python` was not in `bin/` (exit 64, "no venv") while the launcher,
    /// cutting at bytes as the kernel does, started it from the cache; `..` after such a component
    /// removed two; and String equality (canonical equivalence) took `e` + U+0301 for `é`.
    func testPathsAreCutAtSlashBytesAsTheFastPathAndTheKernelCutThem() throws {
        XCTAssertEqual(parentDirectory(of: "/x/venv/bin/\u{301}python"), "/x/venv/bin")
        XCTAssertEqual(baseName(of: "/x/venv/bin/\u{301}python"), "\u{301}python")
        XCTAssertEqual(normalizedPath("/a/\u{301}/../b"), "/a/b")
        XCTAssertEqual(absolutePath("/\u{301}x", relativeTo: "/cwd"), "/\u{301}x")
        XCTAssertTrue(isInside("/a/\u{301}x", "/a"))
        XCTAssertFalse(isInside("/a/e\u{301}", "/a/\u{e9}"))

        let dir = try TemporaryDirectory("combining")
        defer { dir.remove() }
        let venv = dir.file("venv")
        try makeDirectories(venv + "/bin")
        try writeFileAtomically(venv + "/pyvenv.cfg", Array("home = /usr/bin\n".utf8), mode: 0o644)
        let command = venv + "/bin/\u{301}python"
        XCTAssertEqual(venvContaining(command: command, state: StateDirectory(path: dir.file("state"), source: .option)), venv)
    }

    func testUTF8ValidityIsWhatStringKeeps() {
        var generator = SplitMix(seed: 7)
        for _ in 0..<50_000 {
            let bytes = (0..<generator.next(upTo: 6)).map { _ in UInt8(truncatingIfNeeded: generator.next(upTo: 256)) }
            let valid = bytes.withUnsafeBufferPointer { isValidUTF8(Bytes($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count)) }
            XCTAssertEqual(valid, Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes, "\(bytes)")
        }
    }
}

/// A small deterministic generator (SplitMix64) for reproducible corpora.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        z ^= z >> 31
        return Int(z % UInt64(max(bound, 1)))
    }
}
