// Shared by the test targets: private temp dirs, running the built binary, real venvs.
import GuardedSystem
import Synchronization
import XCTest

/// A private (0700) temporary directory, removed by `remove()` (call it from tearDown / defer).
public final class TemporaryDirectory {
    public let path: String

    public init(_ label: String = "test") throws {
        var template = Array("/tmp/guarded-run-\(label)-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw SystemError("mkdtemp")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o700)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ text: String, mode: mode_t = 0o644) throws {
        let full = file(name)
        try makeDirectories(parentDirectory(of: full))
        let fd = try FileDescriptor.open(full, [.writeOnly, .create, .truncate], mode: mode)
        try fd.writeAll(Array(text.utf8))
        fchmod(fd.rawValue, mode)
    }

    public func remove() { try? removeTree(path) }

    /// A private temporary directory that lives as long as this test process (removed when it
    /// exits): for what a process builds once and every test reuses when scripts/test has not
    /// built it for the whole run (the template venv, the wheelhouse).
    public static func forThisProcess(_ label: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(label)
        processDirectories.withLock { list in
            if list.isEmpty { atexit { processDirectories.withLock { $0.forEach { try? removeTree($0) } } } }
            list.append(dir.path)
        }
        return dir
    }
}

/// What `TemporaryDirectory.forThisProcess` removes at exit.
private let processDirectories = Mutex<[String]>([])

/// The product built by `swift build` beside the test bundle.
public var guardedRunBinary: String {
    if let explicit = Environment.value("GUARDED_RUN_BINARY") { return explicit }
    // XCTest runs `.build/<triple>/debug/guarded-runPackageTests.xctest`; the product is its sibling.
    var dir = parentDirectory(of: CommandLine.arguments[0])
    if dir.hasSuffix(".xctest/Contents/MacOS") { dir = parentDirectory(of: parentDirectory(of: parentDirectory(of: dir))) }
    return dir + "/guarded-run"
}

/// The full binary the launcher hands over to, beside it.
public var guardedRunFullBinary: String { parentDirectory(of: guardedRunBinary) + "/guarded-run-full" }

/// Installs the pair (guarded-run and guarded-run-full beside it) into `directory`, as an operator
/// would copy them; returns the launcher's path.
@discardableResult
public func installGuardedRun(into directory: String) throws -> String {
    for (source, name) in [(guardedRunBinary, "guarded-run"), (guardedRunFullBinary, "guarded-run-full")] {
        try writeFileAtomically(directory + "/" + name, try readFile(source, followSymlinks: true), mode: 0o755)
    }
    return directory + "/guarded-run"
}

/// The Python the tests build venvs from: GUARDED_RUN_TEST_PYTHON, else /usr/bin/python3 (Python
/// 3.11 on the CI machine).
public var testPython: String { Environment.value("GUARDED_RUN_TEST_PYTHON") ?? "/usr/bin/python3" }

/// The test Python's `major.minor` (e.g. "3.11"), asked of it once: venvs of it hold
/// `lib/python<version>/site-packages` and name `bin/python<version>`.
public let testPythonVersion: String = {
    let r = run(testPython, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    let text = r.outputText.split(separator: "\n").first.map(String.init) ?? ""
    XCTAssertEqual(r.termination, .exited(0), "\(testPython): \(r.errorText)")
    return text.isEmpty ? "3" : text
}()

/// The repository's root (this file is Tests/TestSupport/TestSupport.swift in it).
public let repositoryRoot = parentDirectory(of: parentDirectory(of: parentDirectory(of: #filePath)))

/// Runs a program and waits for it; fails the test on a spawn error.
@discardableResult
public func run(_ executable: String, _ arguments: [String], environment: [String]? = nil,
                cwd: String? = nil, timeout: Double = 120,
                file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
    do {
        return try Subprocess.run(executable, arguments, environment: environment, workingDirectory: cwd, timeoutSeconds: timeout)
    } catch {
        XCTFail("spawn \(executable): \(error)", file: file, line: line)
        return SubprocessResult(termination: .exited(-1), standardOutput: [], standardError: [], timedOut: false, durationNanoseconds: 0)
    }
}

/// Runs the built guarded-run with `arguments`.
@discardableResult
public func runGuarded(_ arguments: [String], environment: [String]? = nil, cwd: String? = nil,
                       timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) -> SubprocessResult {
    run(guardedRunBinary, arguments, environment: environment, cwd: cwd, timeout: timeout, file: file, line: line)
}

/// The test's environment with some variables replaced (nil removes).
public func environment(_ changes: [String: String?]) -> [String] {
    var env = Environment.all().filter { entry in
        let name = String(entry.prefix(while: { $0 != "=" }))
        return changes[name] == nil
    }
    for (k, v) in changes { if let v { env.append("\(k)=\(v)") } }
    return env
}

/// Creates a real venv: `python -m venv` (without pip unless asked: much faster) or, for a venv
/// of the test Python without pip, a copy of one template venv (`templateVenv`), with the mentions
/// of the template's path rewritten, which is what `python -m venv` would have written (measured
/// on the 2-core project machine: 0.14 s for `python3 -m venv --without-pip`, 0.01 s for the copy).
public func makeVenv(_ path: String, python: String = testPython, withPip: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) {
    if !withPip, python == testPython, fileStatusIfPresent(path) == nil, path.utf8.allSatisfy(isShellSafe), let template = templateVenv {
        copyVenv(template, to: path, file: file, line: line)
        return
    }
    var args = ["-m", "venv"]
    if !withPip { args.append("--without-pip") }
    args.append(path)
    let r = run(python, args, file: file, line: line)
    XCTAssertEqual(r.termination, .exited(0), "venv creation failed: \(r.errorText)", file: file, line: line)
}

/// A venv of the test Python without pip that `makeVenv` copies: GUARDED_RUN_TEST_VENV_TEMPLATE
/// (scripts/test makes one per run), else one made by this process; nil when none can be made (each
/// venv is then made by `python -m venv`).
public let templateVenv: String? = {
    if let given = Environment.value("GUARDED_RUN_TEST_VENV_TEMPLATE"), fileStatusIfPresent(given + "/pyvenv.cfg") != nil {
        return given
    }
    guard let dir = try? TemporaryDirectory.forThisProcess("venv-template") else { return nil }
    let r = run(testPython, ["-m", "venv", "--without-pip", dir.file("venv")])
    return r.termination == .exited(0) ? dir.file("venv") : nil
}()

/// Bytes `python -m venv` writes into the activate scripts as they are (shlex.quote's safe set): a
/// path with any other byte is written quoted, so its venv is made by python, not copied.
func isShellSafe(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "@%+=:,./-_".utf8.contains(c)
}

/// `cp -a` of `template` to `path`, then what a venv writes of its own place rewritten: its path in
/// the scripts in bin/ (activate's VIRTUAL_ENV=) and in pyvenv.cfg's `command` line, and its name
/// in the activate scripts' prompt, `(NAME) `.
func copyVenv(_ template: String, to path: String, file: StaticString, line: UInt) {
    try? makeDirectories(parentDirectory(of: path))
    let r = run("/bin/cp", ["-a", template, path], file: file, line: line)
    XCTAssertEqual(r.termination, .exited(0), "venv copy failed: \(r.errorText)", file: file, line: line)
    let files = ((try? directoryEntries(path + "/bin")) ?? []).map { path + "/bin/" + $0 } + [path + "/pyvenv.cfg"]
    for name in files {
        guard let st = fileStatusIfPresent(name), st.isRegularFile, let bytes = try? readFile(name) else { continue }
        let text = String(decoding: bytes, as: UTF8.self)
        let rewritten = text.replacing(template, with: path)
            .replacing("(\(baseName(of: template))) ", with: "(\(baseName(of: path))) ")
        guard rewritten != text else { continue }
        XCTAssertNoThrow(try writeFileAtomically(name, Array(rewritten.utf8), mode: FileMode(st.permissions), sync: false),
                         file: file, line: line)
    }
}

/// Waits until `condition` holds or the deadline passes (never sleep-and-hope).
public func waitUntil(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Clock.monotonicNanoseconds() + Int64(timeout * 1e9)
    while Clock.monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(5000)
    }
    return condition()
}
