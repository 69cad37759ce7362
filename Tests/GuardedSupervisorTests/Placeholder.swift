import XCTest
final class GuardedSupervisorTestsPlaceholder: XCTestCase { func testNothing() {} }
