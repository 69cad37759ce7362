@testable import GuardedCheck
import GuardedCore
import GuardedSystem
import TestSupport
import XCTest

/// The probe's result is the last line of its stdout that starts with the marker; whatever an
/// imported module writes to file descriptor 1 before it is not part of it.
final class ProbeOutputTests: XCTestCase {
    func result(_ text: [UInt8], exit: Int32 = 0) -> SubprocessResult {
        SubprocessResult(termination: .exited(exit), standardOutput: text, standardError: [], timedOut: false, durationNanoseconds: 0)
    }

    func testTheLastMarkerLineIsTheResult() {
        let marker = Array(probeMarker.utf8)
        func line(_ json: String) -> [UInt8] { marker + Array(json.utf8) }
        XCTAssertEqual(FullCheck.probeOutput(result(line("{\"a\":1}") + [0x0A]))?["a"]?.intValue, 1)
        XCTAssertEqual(FullCheck.probeOutput(result(line("{\"a\":1}")))?["a"]?.intValue, 1, "no final line break")
        let two = Array("noise\n".utf8) + line("{\"a\":1}") + [0x0A] + Array("more\n".utf8) + line("{\"a\":2}") + [0x0A, 0x0A]
        XCTAssertEqual(FullCheck.probeOutput(result(two))?["a"]?.intValue, 2)
        // A carriage return before the marker's line break (a module's progress output): the
        // marker's line still starts after the "\n" (a String split into Characters took "\r\n" as
        // one and missed it).
        XCTAssertEqual(FullCheck.probeOutput(result(Array("50%\r\n".utf8) + line("{\"a\":3}") + [0x0A]))?["a"]?.intValue, 3)
        // Bytes that are not UTF-8 before the line do not matter.
        XCTAssertEqual(FullCheck.probeOutput(result([0xFF, 0xFE, 0x0A] + line("{\"a\":4}") + [0x0A]))?["a"]?.intValue, 4)
        // No result: no marker, a marker not at a line's start, a failed exit, an empty output.
        XCTAssertNil(FullCheck.probeOutput(result(Array("{\"a\":1}\n".utf8))))
        XCTAssertNil(FullCheck.probeOutput(result(Array("x".utf8) + line("{\"a\":1}") + [0x0A])))
        XCTAssertNil(FullCheck.probeOutput(result(line("{\"a\":1}") + [0x0A], exit: 1)))
        XCTAssertNil(FullCheck.probeOutput(result([])))
        XCTAssertNil(FullCheck.probeOutput(result([0x0A, 0x0A])))
        XCTAssertNil(FullCheck.probeOutput(result(marker)), "a marker without a document")
    }

    /// Reproduced on the old code: a module that writes "\r" to file descriptor 1 when imported
    /// made the check say `interpreter-failed` (broken) on a healthy venv.
    func testAModuleWritingACarriageReturnToStdoutIsHealthy() throws {
        let tmp = try TemporaryDirectory("probe-output")
        defer { tmp.remove() }
        makeVenv(tmp.file("venv"))
        try tmp.write("venv/lib/python\(testPythonVersion)/site-packages/progress.py", "import os\nos.write(1, b'loading 100%\\r')\n")
        let r = runGuarded(["check", "--venv", tmp.file("venv"), "--state-dir", tmp.file("state"), "--import", "progress"])
        XCTAssertEqual(r.termination, .exited(0), r.outputText + r.errorText)
        XCTAssertTrue(r.outputText.contains("ok    import:progress"), r.outputText)
    }
}
