import XCTest
final class GuardedCoreTestsPlaceholder: XCTestCase { func testNothing() {} }
