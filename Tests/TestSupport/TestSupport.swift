// Shared by the test targets: private temp dirs, running the built binary, real venvs.
import GuardedSystem
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
        let fd = try FileDescriptor.open(full, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        try fd.writeAll(Array(text.utf8))
        fchmod(fd.rawValue, mode)
    }

    public func remove() { try? removeTree(path) }
}

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

/// The Python the tests build venvs from (Python 3.11 at /usr/bin/python3 on the CI machine).
public var testPython: String { Environment.value("GUARDED_RUN_TEST_PYTHON") ?? "/usr/bin/python3" }

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

/// Creates a real venv with `python -m venv` (without pip unless asked: much faster).
public func makeVenv(_ path: String, python: String = testPython, withPip: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) {
    var args = ["-m", "venv"]
    if !withPip { args.append("--without-pip") }
    args.append(path)
    let r = run(python, args, file: file, line: line)
    XCTAssertEqual(r.termination, .exited(0), "venv creation failed: \(r.errorText)", file: file, line: line)
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
