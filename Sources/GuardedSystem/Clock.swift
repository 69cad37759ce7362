/// Monotonic time for durations, wall time for timestamps.
public enum Clock {
    /// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps.
    @inlinable
    public static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// `start` plus `seconds`, in nanoseconds, for a deadline: saturated at Int64's limits (a wait of
    /// `1e300` s is "never", not a trap); NaN counts as no time at all.
    public static func deadline(after seconds: Double, from start: Int64) -> Int64 {
        let ns = seconds * 1e9
        let delta: Int64 = ns.isNaN ? 0 : ns >= 9.2e18 ? Int64.max : ns <= -9.2e18 ? Int64.min : Int64(ns)
        let (sum, overflow) = start.addingReportingOverflow(delta)
        return overflow ? (delta > 0 ? Int64.max : Int64.min) : sum
    }

    /// Seconds and nanoseconds since the epoch (CLOCK_REALTIME).
    @inlinable
    public static func wallTime() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// Nanoseconds since the epoch (CLOCK_REALTIME), to compare with file times.
    public static func wallNanoseconds() -> Int64 {
        let (s, n) = wallTime()
        let (scaled, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflow2) = scaled.addingReportingOverflow(n)
        return overflow || overflow2 ? Int64.max : sum
    }

    /// RFC 3339 UTC with microseconds, e.g. `2026-11-25T15:08:30.123456Z`.
    /// Computed here rather than with gmtime_r, which in glibc reads /etc/localtime on every start.
    public static func rfc3339(seconds: Int64, nanoseconds: Int64 = 0) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: rfc3339Length) { buffer in
            writeRFC3339(seconds: seconds, nanoseconds: nanoseconds, into: buffer.baseAddress!)
            return String(decoding: buffer, as: UTF8.self)
        }
    }

    /// The length of every timestamp `writeRFC3339` writes.
    public static let rfc3339Length = 27

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes) for years 0 to 9999.
    /// Seconds outside those years are clamped to them (times read from files may be anything).
    public static func writeRFC3339(seconds unclamped: Int64, nanoseconds unclampedNs: Int64, into out: UnsafeMutablePointer<UInt8>) {
        let seconds = min(max(unclamped, -62_167_219_200), 253_402_300_799)
        let nanoseconds = min(max(unclampedNs, 0), 999_999_999)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var position = 0
        func digits(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = v
            while divisor > 0 { out[position] = UInt8(48 + (value / divisor) % 10); position += 1; value %= divisor; divisor /= 10 }
        }
        func char(_ c: UInt8) { out[position] = c; position += 1 }
        digits(year, 4); char(45); digits(month, 2); char(45); digits(day, 2); char(84)
        digits(secondOfDay / 3600, 2); char(58); digits(secondOfDay / 60 % 60, 2); char(58)
        digits(secondOfDay % 60, 2); char(46); digits(nanoseconds / 1000, 6); char(90)
    }

    public static func nowRFC3339() -> String {
        let now = wallTime()
        return rfc3339(seconds: now.seconds, nanoseconds: now.nanoseconds)
    }

    /// Parses the RFC 3339 UTC form this program writes (`Z` suffix, optional fraction) back to
    /// epoch seconds; nil for anything else.
    public static func parseRFC3339(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z") else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
              let mi = num(14, 2), let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var fraction = 0.0
        if b.count > 21 && b[19] == UInt8(ascii: ".") {
            var scale = 0.1
            for i in 20..<(b.count - 1) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                fraction += Double(b[i] - 48) * scale
                scale /= 10
            }
        }
        // Days from civil (Howard Hinnant's algorithm): no timegm, which is not in every libc.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Double(days * 86400 + h * 3600 + mi * 60 + s) + fraction
    }
}
