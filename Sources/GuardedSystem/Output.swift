#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to the standard descriptors: a line reaches the terminal or the journal
/// whole, in one write(2), even if the process exits or execs right after.
public enum Output {
    public static func standardError(_ line: String) { writeLine(2, line) }
    public static func standardOutput(_ text: String) { writeText(1, text) }

    public static func writeLine(_ fd: Int32, _ line: String) {
        writeText(fd, line.hasSuffix("\n") ? line : line + "\n")
    }

    public static func writeText(_ fd: Int32, _ text: String) {
        var copy = text
        copy.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Bytes that need not be UTF-8 (a patch of a file's content).
    public static func standardOutput(bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeAll(1, $0) }
    }

    private static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            let n = retryingOnInterrupt { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// True when the descriptor is a terminal (progress output and colour only then).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}
