import GuardedSystem

/// Reads binary property lists (`bplist00`, the format `plutil -convert binary1` writes and many
/// tools leave in ~/Library/LaunchAgents). Every offset and count is bounds-checked without
/// overflow, object references may not loop, and the decoded tree is capped in depth and in size
/// (objects may share sub-objects, so a few hundred bytes could otherwise expand to 2^60 values):
/// a damaged or hostile file is an error, never a crash, a hang or a runaway allocation. Each
/// object is decoded once; a shared one is reused (arrays are copy-on-write) and counted again.
public enum BinaryPlist {
    /// Nesting deeper than this is refused (launchd plists nest a few levels).
    public static let maxDepth = 64
    /// Values in the decoded tree, counting each use of a shared object (a launchd job has dozens;
    /// every consumer walks the whole tree, so this bounds their work too).
    public static let maxObjects = 16_384

    public static func isBinary(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && Array(bytes[0..<8]) == Array("bplist00".utf8)
    }

    public static func read(_ b: [UInt8]) throws(PlistError) -> PlistValue {
        guard isBinary(b), b.count >= 8 + 32 else { throw PlistError("not a bplist00 file") }
        let trailer = b.count - 32
        let offsetSize = Int(b[trailer + 6])
        let refSize = Int(b[trailer + 7])
        let count = unsigned(b, trailer + 8, 8)
        let top = unsigned(b, trailer + 16, 8)
        let tableStart = unsigned(b, trailer + 24, 8)
        // count < b.count and offsetSize <= 8, so the product cannot overflow; tableStart is checked
        // before anything is added to it.
        guard (1...8).contains(offsetSize), (1...8).contains(refSize), count > 0, count < UInt64(b.count),
              top < count, tableStart >= 8, tableStart <= UInt64(trailer),
              count * UInt64(offsetSize) <= UInt64(trailer) - tableStart else {
            throw PlistError("damaged bplist trailer")
        }
        var reader = Reader(b: b, offsetSize: offsetSize, refSize: refSize, count: Int(count), table: Int(tableStart))
        return try reader.object(Int(top), depth: 0)
    }

    static func unsigned(_ b: [UInt8], _ at: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<size { v = v << 8 | UInt64(b[at + k]) }
        return v
    }

    struct Reader {
        let b: [UInt8]
        let offsetSize: Int
        let refSize: Int
        let count: Int
        let table: Int
        var visiting: Set<Int> = []
        /// Values in the tree so far (shared ones counted at each use).
        var decoded = 0
        /// Objects already decoded: the value, its values in all, and its height.
        var done: [Int: (value: PlistValue, values: Int, height: Int)] = [:]
        var deepest = 0

        func offset(of object: Int) throws(PlistError) -> Int {
            let o = BinaryPlist.unsigned(b, table + object * offsetSize, offsetSize)
            guard o >= 8, o < UInt64(table) else { throw PlistError("damaged bplist offset") }
            return Int(o)
        }

        func need(_ at: Int, _ n: Int) throws(PlistError) {
            guard n >= 0, at + n <= table else { throw PlistError("damaged bplist object") }
        }

        /// The length in the low nibble, or the integer object after the marker when it is 0xF.
        func length(_ marker: UInt8, at o: Int) throws(PlistError) -> (Int, Int) {
            let low = Int(marker & 0x0f)
            if low != 0x0f { return (low, o + 1) }
            try need(o + 1, 1)
            let intMarker = b[o + 1]
            guard intMarker & 0xf0 == 0x10 else { throw PlistError("damaged bplist length") }
            let size = 1 << Int(intMarker & 0x0f)
            guard size <= 8 else { throw PlistError("damaged bplist length") }
            try need(o + 2, size)
            let v = BinaryPlist.unsigned(b, o + 2, size)
            guard v < UInt64(b.count) else { throw PlistError("damaged bplist length") }
            return (Int(v), o + 2 + size)
        }

        func ref(_ at: Int) throws(PlistError) -> Int {
            try need(at, refSize)
            let r = BinaryPlist.unsigned(b, at, refSize)
            guard r < UInt64(count) else { throw PlistError("damaged bplist reference") }
            return Int(r)
        }

        mutating func object(_ index: Int, depth: Int) throws(PlistError) -> PlistValue {
            if let known = done[index] {
                try count(known.values, deepest: depth + known.height)
                return known.value
            }
            // `deepest` within this object's subtree, then back to the whole tree's.
            let before = decoded, outerDeepest = deepest
            deepest = depth
            let value = try decode(index, depth: depth)
            done[index] = (value, decoded - before, deepest - depth)
            deepest = max(outerDeepest, deepest)
            return value
        }

        /// Adds `values` to the tree's size, and notes how deep it reaches; throws past the caps.
        mutating func count(_ values: Int, deepest reached: Int) throws(PlistError) {
            guard reached < BinaryPlist.maxDepth else { throw PlistError("bplist nested more than \(BinaryPlist.maxDepth) levels deep") }
            deepest = max(deepest, reached)
            decoded += values
            guard decoded <= BinaryPlist.maxObjects else {
                throw PlistError("bplist expands to more than \(BinaryPlist.maxObjects) values (shared sub-objects)")
            }
        }

        mutating func decode(_ index: Int, depth: Int) throws(PlistError) -> PlistValue {
            guard !visiting.contains(index) else { throw PlistError("bplist references loop") }
            try count(1, deepest: depth)
            let o = try offset(of: index)
            try need(o, 1)
            let marker = b[o]
            switch marker >> 4 {
            case 0x0:
                switch marker {
                case 0x08: return .boolean(false)
                case 0x09: return .boolean(true)
                default: throw PlistError("unsupported bplist object 0x\(hexString([marker]))")
                }
            case 0x1:
                let size = 1 << Int(marker & 0x0f)
                try need(o + 1, size)
                if size == 16 {
                    // 128-bit: written for unsigned values above Int64.max; the high half is zero.
                    return .integer(String(BinaryPlist.unsigned(b, o + 9, 8)))
                }
                guard size <= 8 else { throw PlistError("damaged bplist integer") }
                let v = BinaryPlist.unsigned(b, o + 1, size)
                // 1, 2 and 4-byte integers are unsigned; 8-byte ones are signed.
                return .integer(size == 8 ? String(Int64(bitPattern: v)) : String(v))
            case 0x2:
                let size = 1 << Int(marker & 0x0f)
                try need(o + 1, size)
                if size == 4 { return .real(realText(Double(Float(bitPattern: UInt32(BinaryPlist.unsigned(b, o + 1, 4)))))) }
                guard size == 8 else { throw PlistError("damaged bplist real") }
                return .real(realText(Double(bitPattern: BinaryPlist.unsigned(b, o + 1, 8))))
            case 0x3:
                guard marker == 0x33 else { throw PlistError("damaged bplist date") }
                try need(o + 1, 8)
                let seconds = Double(bitPattern: BinaryPlist.unsigned(b, o + 1, 8))
                guard seconds.isFinite, abs(seconds) < 1e11 else { throw PlistError("damaged bplist date") }
                // Dates count seconds from 2001-01-01T00:00:00Z.
                return .date(isoDate(Int64(seconds.rounded(.down)) + 978_307_200))
            case 0x4:
                let (n, start) = try length(marker, at: o)
                try need(start, n)
                return .data(Array(b[start..<(start + n)]))
            case 0x5:
                let (n, start) = try length(marker, at: o)
                try need(start, n)
                return .string(String(decoding: b[start..<(start + n)], as: UTF8.self))
            case 0x6:
                let (n, start) = try length(marker, at: o)
                try need(start, n * 2)
                var units: [UInt16] = []
                for k in 0..<n { units.append(UInt16(b[start + 2 * k]) << 8 | UInt16(b[start + 2 * k + 1])) }
                return .string(String(decoding: units, as: UTF16.self))
            case 0xA:
                let (n, start) = try length(marker, at: o)
                try need(start, n * refSize)
                visiting.insert(index)
                defer { visiting.remove(index) }
                var items: [PlistValue] = []
                for k in 0..<n { items.append(try object(try ref(start + k * refSize), depth: depth + 1)) }
                return .array(items)
            case 0xD:
                let (n, start) = try length(marker, at: o)
                try need(start, 2 * n * refSize)
                visiting.insert(index)
                defer { visiting.remove(index) }
                var entries: [PlistEntry] = []
                for k in 0..<n {
                    guard case .string(let key) = try object(try ref(start + k * refSize), depth: depth + 1) else {
                        throw PlistError("bplist dictionary key is not a string")
                    }
                    entries.append(PlistEntry(key, try object(try ref(start + (n + k) * refSize), depth: depth + 1)))
                }
                return .dictionary(entries)
            default:
                throw PlistError("unsupported bplist object 0x\(hexString([marker]))")
            }
        }
    }

    /// Shortest text that reads back as the same Double.
    static func realText(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return "\(d)"
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the form XML plists use (no fraction: plist readers reject one).
    public static func isoDate(_ epochSeconds: Int64) -> String {
        let full = Clock.rfc3339(seconds: epochSeconds)
        return String(full.prefix(19)) + "Z"
    }
}
