import GuardedFleet
import GuardedSystem
import XCTest

/// The hook runner's edges: a hook that hangs is killed at the deadline, one that exits without
/// reading a large report does not take guarded-run down with SIGPIPE.
final class ProblemHookTests: XCTestCase {
    func testAHangingHookIsKilledAtItsDeadline() {
        let failure = ProblemHook.run("exec sleep 30", report: Array("{}".utf8), timeoutSeconds: 0.3)
        XCTAssertEqual(failure, "the on-problem hook did not finish within 0 s and was killed")
    }

    func testAHookThatDoesNotReadALargeReport() {
        // Far more than a pipe buffer: the writes meet EPIPE once the hook has exited.
        let report = [UInt8](repeating: UInt8(ascii: "x"), count: 4 << 20)
        XCTAssertNil(ProblemHook.run("exit 0", report: report))
        XCTAssertEqual(ProblemHook.run("exit 5", report: report), "the on-problem hook exited 5")
    }

    /// The hook's stderr goes into guarded-run's one warning line: an escape sequence or a
    /// carriage return in it must not reach the operator's terminal or log as such (before the
    /// fix `\e[2J` cleared the screen and `\r` hid the start of the line).
    func testTheHooksStderrCannotPaintTheTerminal() {
        let failure = ProblemHook.run("printf '\\033[2Jcleared\\rhidden\\302\\233x\\n' >&2; exit 3", report: Array("{}".utf8))
        XCTAssertEqual(failure, "the on-problem hook exited 3: \\u001b[2Jcleared\\u000dhidden\\u009bx")
    }

    func testTheWholeReportArrives() {
        let report = Array((0..<200_000).map { "line \($0)\n" }.joined().utf8)
        XCTAssertNil(ProblemHook.run("test \"$(wc -c)\" -eq \(report.count)", report: report))
    }
}
