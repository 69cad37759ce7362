@testable import GuardedCore
import GuardedSystem
import XCTest

/// Numbers read from outside: range-checked parses and saturating arithmetic (issue 9 item 7).
final class NumberRangeTests: XCTestCase {
    func testFileTimesSaturateInsteadOfTrapping() {
        XCTAssertEqual(FileStatus.nanoseconds(1, 5), 1_000_000_005)
        XCTAssertEqual(FileStatus.nanoseconds(-1, 999_999_999), -1)
        // 2300-01-01: beyond 64-bit nanoseconds (which end in April 2262).
        XCTAssertEqual(FileStatus.nanoseconds(10_413_792_000, 0), Int64.max)
        XCTAssertEqual(FileStatus.nanoseconds(9_223_372_036, 999_999_999), Int64.max)
        XCTAssertEqual(FileStatus.nanoseconds(-10_413_792_000, 0), Int64.min)
        XCTAssertEqual(FileStatus.nanoseconds(Int64.max, Int64.max), Int64.max)
    }

    func testDeadlinesSaturate() {
        XCTAssertEqual(Clock.deadline(after: 1.5, from: 100), 1_500_000_100)
        XCTAssertEqual(Clock.deadline(after: 1e300, from: 100), Int64.max)
        XCTAssertEqual(Clock.deadline(after: .infinity, from: 100), Int64.max)
        XCTAssertEqual(Clock.deadline(after: .nan, from: 100), 100)
        XCTAssertEqual(Clock.deadline(after: 9e9, from: Int64.max - 5), Int64.max)
        XCTAssertEqual(Clock.deadline(after: -1e300, from: 0), Int64.min)
    }

    func testTimestampsOfAnyInt64() {
        XCTAssertEqual(Clock.rfc3339(seconds: 0), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(Clock.rfc3339(seconds: Int64.max), "9999-12-31T23:59:59.000000Z")
        XCTAssertEqual(Clock.rfc3339(seconds: Int64.min), "0000-01-01T00:00:00.000000Z")
        XCTAssertEqual(Clock.rfc3339(seconds: 1, nanoseconds: Int64.max), "1970-01-01T00:00:01.999999Z")
    }

    func testSettingsParse() {
        let seconds = 0.001...86_400.0
        XCTAssertEqual(Setting.parse("30", range: seconds, wholeNumber: false), 30)
        XCTAssertEqual(Setting.parse("0.5", range: seconds, wholeNumber: false), 0.5)
        for bad in ["1e10", "inf", "-inf", "nan", "-1", "0", "", "abc", "1e300", " 5"] {
            XCTAssertNil(Setting.parse(bad, range: seconds, wholeNumber: false), bad)
        }
        XCTAssertEqual(Setting.parse("1000", range: 0...1000, wholeNumber: true), 1000)
        for bad in ["1001", "9223372036854775807", "99999999999999999999", "1.5", "-1", "1e3"] {
            XCTAssertNil(Setting.parse(bad, range: 0...1000, wholeNumber: true), bad)
        }
        XCTAssertEqual(Setting.all.map(\.name).count, Set(Setting.all.map(\.name)).count)
        for setting in Setting.all { XCTAssertTrue(setting.range.contains(setting.defaultValue), setting.name) }
    }

    /// The byte-level reader of GUARDED_RUN_LOG_MAX_BYTES agrees with the setting's range.
    func testLogMaxBytesReaderMatchesTheSetting() {
        defer { unsetenv("GUARDED_RUN_LOG_MAX_BYTES") }
        for (text, expected) in [("4096", Int64(4096)), ("1", 1), ("1099511627776", 1 << 40)] {
            setenv("GUARDED_RUN_LOG_MAX_BYTES", text, 1)
            XCTAssertEqual(HealthLog.maxBytesSetting, expected, text)
            XCTAssertEqual(Setting.logMaxBytes.read(), .valid(Double(expected)), text)
        }
        for text in ["0", "1099511627777", "99999999999999999999", "-5", "1e3", "12x"] {
            setenv("GUARDED_RUN_LOG_MAX_BYTES", text, 1)
            XCTAssertNil(HealthLog.maxBytesSetting, text)
            XCTAssertEqual(Setting.logMaxBytes.read(), .invalid, text)
            XCTAssertEqual(HealthLog.maxBytes, 1 << 20, text)
        }
    }

    func watchValue(_ text: String) -> (FileStatus, Int)? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { FingerprintScanner.parseWatch(Bytes($0.baseAddress!, $0.count)) }
    }

    func testWatchFieldsAreRangeChecked() {
        // Full-range device and inode, negative (pre-1970) and saturated times round-trip.
        let st = FileStatus(device: UInt64.max, inode: 1 << 63, mode: 0o100644, linkCount: 0, uid: 0, gid: 0,
                            size: 12, mtimeNs: Int64.min, ctimeNs: Int64.max)
        let fp = Fingerprint(venv: "/v", imports: [], status: "healthy", checkedAt: "t", reasons: [],
                             entries: [WatchEntry(path: "/v/x", status: st)])
        let line = fp.encoded().split(separator: "\n").first { $0.hasPrefix("watch ") }.map { String($0.dropFirst(6)) }
        XCTAssertEqual(line.flatMap(watchValue)?.0, st)
        XCTAssertEqual(watchValue("1 2 3 4 -5 6 /p")?.0.mtimeNs, -5)
        for bad in ["1 2 3 4 9999999999999999999 6 /p", "18446744073709551616 2 3 4 5 6 /p", "1 2 4294967296 4 5 6 /p",
                    "1 2 3 4 5 -9223372036854775809 /p", "1 -2 3 4 5 6 /p", "1 2 3 4 5 - /p", "1 2 3 4 5 6 p"] {
            XCTAssertNil(watchValue(bad), bad)
        }
    }
}
