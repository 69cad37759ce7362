/// Monotonic time for durations, wall time for timestamps.
public enum Clock {
    /// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps.
    @inline(__always)
    public static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Seconds and nanoseconds since the epoch (CLOCK_REALTIME).
    public static func wallTime() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// RFC 3339 UTC with microseconds, e.g. `2026-11-25T15:08:30.123456Z`.
    public static func rfc3339(seconds: Int64, nanoseconds: Int64 = 0) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let micros = Int32(nanoseconds / 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(micros, 6))Z"
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
