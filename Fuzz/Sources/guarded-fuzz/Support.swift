import GuardedCore
import GuardedSystem
// The harness is not the product: it calls the C library (mkdtemp, setenv) directly.
#if canImport(Glibc)
import Glibc
#endif

// Helpers shared by the targets. Each target is one file defining `@_cdecl("fuzz_NAME")`.

/// The input as an array (most parsers take `[UInt8]`).
func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input as text, invalid UTF-8 repaired the way the program's own file readers repair it.
func text(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String {
    String(decoding: bytes(data, size), as: UTF8.self)
}

/// A private state directory for this process, for the readers that take a state directory and a
/// venv and read their file from there: the input is written to that file, then the reader runs.
enum Scratch {
    nonisolated(unsafe) static var root: String = {
        var template = Array("/tmp/guarded-fuzz-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static var state: StateDirectory { StateDirectory(path: root + "/state") }
    static let venv = "/nonexistent/fuzz/.venv"

    /// Writes `bytes` at `relative` inside the state directory (directories 0700, the file 0600). A
    /// plain write, not the program's atomic one: its fsyncs would make every execution take
    /// milliseconds.
    static func write(_ relative: String, _ bytes: [UInt8]) {
        writeAbsolute(state.path + "/" + relative, bytes)
    }

    /// The same at an absolute path inside the scratch directory (state kept beside a venv).
    static func writeAbsolute(_ path: String, _ bytes: [UInt8]) {
        if fileStatusIfPresent(parentDirectory(of: path)) == nil { try? makeDirectories(parentDirectory(of: path)) }
        guard let fd = try? FileDescriptor.open(path, [.writeOnly, .create, .truncate], mode: 0o600) else { return }
        try? fd.writeAll(bytes)
    }
}
