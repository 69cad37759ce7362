// Byte views and fixed buffers for the launcher's fast path (see LaunchSystem.swift for why no String).
#if GUARDED_EMBEDDED
import CSystemShims
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-owning view of bytes that outlive the fast path (argv, the environment, or a buffer below).
public struct Bytes {
    public var base: UnsafePointer<UInt8>
    public var count: Int

    public init(_ base: UnsafePointer<UInt8>, _ count: Int) { self.base = base; self.count = count }

    public init(cString p: UnsafePointer<CChar>) {
        self.init(UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), strlen(p))
    }

    @inline(__always) public subscript(i: Int) -> UInt8 { base[i] }

    public func equals(_ other: Bytes) -> Bool { count == other.count && memcmp(base, other.base, count) == 0 }
    public var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
    public func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && memcmp(base, literal.utf8Start, count) == 0
    }
}

/// An append-only byte buffer of fixed capacity on the heap, NUL-terminated for syscalls.
/// Overflow sets `overflowed` instead of growing (a path that long takes the general route).
public struct ByteBuffer {
    public let storage: UnsafeMutablePointer<UInt8>
    public let capacity: Int
    public var count = 0
    public var overflowed = false

    public init(capacity: Int) {
        self.capacity = capacity
        storage = FastMemory.allocate(UInt8.self, capacity: capacity + 1)
        storage[0] = 0
    }

    public func free() { FastMemory.free(storage) }

    public mutating func append(_ b: UInt8) {
        guard count < capacity else { overflowed = true; return }
        storage[count] = b
        count += 1
        storage[count] = 0
    }

    public mutating func append(_ bytes: Bytes) {
        guard count + bytes.count <= capacity else { overflowed = true; return }
        memcpy(storage + count, bytes.base, bytes.count)
        count += bytes.count
        storage[count] = 0
    }

    public mutating func append(_ literal: StaticString) {
        append(Bytes(literal.utf8Start, literal.utf8CodeUnitCount))
    }

    public mutating func appendDecimal(_ value: Int64) {
        if value < 0 { append(45) }
        var v = value.magnitude // Int64.min has no positive Int64

        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(truncatingIfNeeded: 48 + v % 10); v /= 10; n += 1 } while v > 0
            while n > 0 { n -= 1; append(d[n]) }
        }
    }

    public mutating func appendHex(_ value: UInt64, digits: Int) {
        var shift = 60
        var emitted = 0
        while shift >= 0 {
            if emitted < digits {
                let nibble = UInt8((value >> UInt64(shift)) & 15)
                append(nibble < 10 ? 48 + nibble : 87 + nibble)
            }
            emitted += 1
            shift -= 4
        }
    }

    /// Appends `bytes` as the inside of a JSON string: `"`, `\` and control bytes escaped.
    public mutating func appendJSONEscaped(_ bytes: Bytes) {
        for i in 0..<bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "n"))
            case UInt8(ascii: "\t"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "t"))
            case UInt8(ascii: "\r"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "r"))
            case 0..<0x20, 0x7f:
                append("\\u00")
                append(c >> 4 < 10 ? 48 + (c >> 4) : 87 + (c >> 4))
                append(c & 15 < 10 ? 48 + (c & 15) : 87 + (c & 15))
            default: append(c)
            }
        }
    }

    public var bytes: Bytes { Bytes(UnsafePointer(storage), count) }
    public var cString: UnsafePointer<CChar> { UnsafeRawPointer(storage).assumingMemoryBound(to: CChar.self) }
}

/// A fixed-capacity list of `Bytes` in one allocation: no Array, so no generic metadata to
/// instantiate (and demangle) at start-up.
public struct BytesList {
    public let storage: UnsafeMutablePointer<Bytes>
    public let capacity: Int
    public var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        storage = FastMemory.allocate(Bytes.self, capacity: capacity)
    }

    public func free() { FastMemory.free(storage) }

    /// False when full.
    public mutating func append(_ b: Bytes) -> Bool {
        guard count < capacity else { return false }
        (storage + count).initialize(to: b)
        count += 1
        return true
    }

    @inline(__always) public subscript(i: Int) -> Bytes {
        get { storage[i] }
        nonmutating set { storage[i] = newValue }
    }
}

