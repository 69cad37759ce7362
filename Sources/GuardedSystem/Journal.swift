#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd-journald's native protocol, written here (no libsystemd): one AF_UNIX datagram per
/// entry to `/run/systemd/journal/socket`, fields as `KEY=value\n`, or, for a value holding a
/// newline, `KEY\n` + its length as 64-bit little-endian + the value + `\n`.
/// journald adds the trusted fields itself (`_PID`, `_UID`, `_SYSTEMD_UNIT`, ...) from the
/// socket's credentials, so an entry is filed under the sender's unit.
public enum Journal {
    public static let defaultSocketPath = "/run/systemd/journal/socket"
    /// Values longer than this are cut (with `...`): our messages are one line, and a datagram
    /// must stay under the socket's send buffer (journald's memfd path for large entries is not
    /// needed for them).
    public static let maxValueBytes = 16 << 10

    /// The socket to send to: `GUARDED_RUN_JOURNAL_SOCKET` is a test hook (tests bind their own
    /// datagram socket in a temp dir and never touch the host's journald), else the standard path.
    public static var socketPath: String {
        if let hook = Environment.value("GUARDED_RUN_JOURNAL_SOCKET"), hook.hasPrefix("/") { return hook }
        return defaultSocketPath
    }

    /// One entry as the datagram's bytes. Field names must be uppercase letters, digits and `_`,
    /// not starting with `_` (journald drops anything else); invalid names are skipped.
    public static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields where isValidFieldName(name) {
            var v = Array(value.utf8)
            if v.count > maxValueBytes { v = Array(v.prefix(maxValueBytes - 3)) + Array("...".utf8) }
            out += name.utf8
            if v.contains(UInt8(ascii: "\n")) {
                out.append(UInt8(ascii: "\n"))
                var length = UInt64(v.count).littleEndian
                withUnsafeBytes(of: &length) { out += $0 }
                out += v
            } else {
                out.append(UInt8(ascii: "="))
                out += v
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    #if canImport(Darwin)
    static let noSignal: Int32 = 0 // datagram sockets raise no SIGPIPE there
    #else
    static let noSignal = Int32(MSG_NOSIGNAL)
    #endif

    public static func isValidFieldName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "_"), name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ASCII.isDigit($0) || $0 == UInt8(ascii: "_") } // upper case only
    }

    /// Sends one entry; false when the socket is absent or the send fails (the caller falls back
    /// to stderr).
    public static func send(_ fields: [(String, String)], socketPath: String = Journal.socketPath) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #elseif canImport(Musl)
        let fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let datagram = encode(fields)
        let sent = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    retryingOnInterrupt {
                        sendto(fd, bytes.baseAddress, bytes.count, Journal.noSignal, sa, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        }
        return sent == datagram.count
    }
}
