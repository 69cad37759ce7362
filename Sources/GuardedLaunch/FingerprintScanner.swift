// The fingerprint cache's format, read at the byte level (Fingerprint.swift in GuardedCore writes it).
#if GUARDED_EMBEDDED
import CSystemShims
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the fingerprint format at the byte level: checksum, header, then `key value` lines. Shared
/// by the launcher's fast path (`FastPath.parseAndVerify`) and `Fingerprint.launcherVerdict`, so the
/// format is read in one place.
public enum FingerprintScanner {
    /// Verifies the trailing `end <checksum>` line and the header, then calls `body(key, value,
    /// lineEnd)` for every line in between (`lineEnd` is the index of that line's newline). False when
    /// the bytes are not a well-formed fingerprint or `body` returns false.
    public static func forEachField(_ b: UnsafePointer<UInt8>, _ n: Int, _ body: (Bytes, Bytes, Int) -> Bool) -> Bool {
        guard n > 24, b[n - 1] == UInt8(ascii: "\n") else { return false }
        var endStart = n - 2
        while endStart > 0 && b[endStart] != UInt8(ascii: "\n") { endStart -= 1 }
        guard endStart > 0, n - endStart - 2 == 20, memcmp(b + endStart + 1, cString("end "), 4) == 0 else { return false }
        var expected: UInt64 = 0
        for k in (endStart + 5)..<(n - 1) {
            let c = b[k]
            guard (48...57).contains(c) || (97...102).contains(c) else { return false }
            expected = expected << 4 | UInt64(c <= 57 ? c - 48 : c - 87)
        }
        guard FNV1a.add(FNV1a.offset, b, endStart + 1) == expected else { return false }

        var start = 0
        var first = true
        while start <= endStart {
            var end = start
            while b[end] != UInt8(ascii: "\n") { end += 1 }
            let line = Bytes(b + start, end - start)
            start = end + 1
            if first {
                guard line.equals(LaunchFormat.fingerprintHeader) else { return false }
                first = false
                continue
            }
            guard let space = memchr(line.base, 0x20, line.count) else { return false }
            let keyLength = UnsafeRawPointer(space) - UnsafeRawPointer(line.base)
            guard body(Bytes(line.base, keyLength), Bytes(line.base + keyLength + 1, line.count - keyLength - 1), end) else {
                return false
            }
        }
        return true
    }

    /// Parses a watch line's value, `<dev> <ino> <mode> <size> <mtime-ns> <ctime-ns> <path>`: the
    /// recorded status and where the (absolute) path starts in `value`.
    /// Numbers are range-checked with overflow-checked arithmetic (a checksum proves no more than that
    /// the bytes are what was written, and anyone who can write the file can compute it): device and
    /// inode are full 64-bit unsigned, size and times signed 64-bit (a time before 1970 is negative).
    public static func parseWatch(_ value: Bytes) -> (FileStatus, Int)? {
        var cursor = 0
        func number(signed: Bool) -> (negative: Bool, magnitude: UInt64)? {
            var negative = false
            if signed, cursor < value.count, value[cursor] == UInt8(ascii: "-") { negative = true; cursor += 1 }
            var v: UInt64 = 0, digits = 0
            while cursor < value.count, value[cursor] != UInt8(ascii: " ") {
                let c = value[cursor]
                guard c >= 48, c <= 57 else { return nil }
                let (times10, o1) = v.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 48))
                guard !o1, !o2 else { return nil }
                v = sum
                digits += 1
                cursor += 1
            }
            guard digits > 0, cursor < value.count else { return nil }
            cursor += 1
            return (negative, v)
        }
        func unsigned() -> UInt64? {
            guard let n = number(signed: false) else { return nil }
            return n.magnitude
        }
        func signed() -> Int64? {
            guard let n = number(signed: true) else { return nil }
            if n.negative { return n.magnitude <= 1 << 63 ? Int64(bitPattern: 0 &- n.magnitude) : nil }
            return n.magnitude <= UInt64(Int64.max) ? Int64(n.magnitude) : nil
        }
        guard let dev = unsigned(), let ino = unsigned(), let mode = unsigned(), let size = signed(),
              let m = signed(), let c = signed(), mode <= UInt64(UInt32.max),
              cursor < value.count, value[cursor] == UInt8(ascii: "/") else { return nil }
        return (FileStatus(device: dev, inode: ino, mode: UInt32(mode), linkCount: 0, uid: 0, gid: 0,
                           size: size, mtimeNs: m, ctimeNs: c), cursor)
    }
}

