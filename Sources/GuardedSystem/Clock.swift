#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time for durations, wall time for timestamps.
extension Clock {
    /// Suspends the calling thread for about `microseconds` (`usleep(3)`): a poll interval, never
    /// a wait that hopes something is over (callers re-test their condition after it).
    public static func sleep(microseconds: UInt32) { _ = usleep(microseconds) }

    /// `start` plus `seconds`, in nanoseconds, for a deadline: saturated at Int64's limits (a wait of
    /// `1e300` s is "never", not a trap); NaN counts as no time at all.
    public static func deadline(after seconds: Double, from start: Int64) -> Int64 {
        let ns = seconds * 1e9
        let delta: Int64 = ns.isNaN ? 0 : ns >= 9.2e18 ? Int64.max : ns <= -9.2e18 ? Int64.min : Int64(ns)
        let (sum, overflow) = start.addingReportingOverflow(delta)
        return overflow ? (delta > 0 ? Int64.max : Int64.min) : sum
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
