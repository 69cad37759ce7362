import Foundation
import GuardedSystem
import XCTest

/// Counts how many work items run at once (the test's own lock, independent of the pool's).
private final class Concurrency: @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private(set) var maximum = 0
    private(set) var progress: [Int] = []

    func enter() { lock.lock(); running += 1; maximum = max(maximum, running); lock.unlock() }
    func leave() { lock.lock(); running -= 1; lock.unlock() }
    func record(_ done: Int) { lock.lock(); progress.append(done); lock.unlock() }
}

final class WorkerPoolTests: XCTestCase {
    func testResultsInInputOrderWithBoundedConcurrency() {
        let counter = Concurrency()
        let items = Array(0..<64)
        let results = WorkerPool.map(items, workers: 3, progress: { done, total in
            XCTAssertEqual(total, 64)
            counter.record(done)
        }) { i -> String in
            counter.enter()
            defer { counter.leave() }
            // Real blocking work, as a probe is: a child process.
            _ = try? Subprocess.run("/bin/sh", ["-c", "exit 0"])
            return "item \(i)"
        }
        XCTAssertEqual(results, items.map { "item \($0)" })
        XCTAssertLessThanOrEqual(counter.maximum, 3)
        XCTAssertGreaterThanOrEqual(counter.maximum, 1)
        XCTAssertEqual(counter.progress, Array(1...64), "progress is reported once per item, in order")
    }

    func testOneWorkerRunsOneAtATime() {
        let counter = Concurrency()
        let results = WorkerPool.map(Array(0..<10), workers: 1) { i -> Int in
            counter.enter()
            defer { counter.leave() }
            return i * i
        }
        XCTAssertEqual(results, (0..<10).map { $0 * $0 })
        XCTAssertEqual(counter.maximum, 1)
    }

    func testMoreWorkersThanItemsAndNoItems() {
        XCTAssertEqual(WorkerPool.map([7], workers: 16) { $0 + 1 }, [8])
        XCTAssertEqual(WorkerPool.map([Int](), workers: 4) { $0 }, [])
    }

    func testProcessorCountIsTheSystems() {
        XCTAssertEqual(WorkerPool.processorCount, ProcessInfo.processInfo.activeProcessorCount)
    }
}
