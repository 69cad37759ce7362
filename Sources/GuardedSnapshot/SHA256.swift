import GuardedSystem

/// SHA-256 (FIPS 180-4), in Swift: the product links no crypto library. Blocks are read through raw
/// pointers with wrapping arithmetic, the message schedule is a ring of 16 words on the stack and
/// the rounds are unrolled with the working variables renamed rather than shifted, so the
/// compression loop has no bounds checks, no allocation and no register shuffling.
public struct SHA256 {
    private var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85, h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    private var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c, h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    /// A partial block waiting for more input: the first `pendingCount` bytes. Inline storage, so a
    /// hasher allocates nothing.
    private var pending = InlineArray<64, UInt8>(repeating: 0)
    private var pendingCount = 0
    private var totalBytes: UInt64 = 0

    public init() {}

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.finishHex()
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex($0) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        guard input.count > 0, let base = input.baseAddress else { return }
        totalBytes &+= UInt64(input.count)
        var offset = 0
        if pendingCount > 0 {
            let take = min(64 - pendingCount, input.count)
            appendPending(base, count: take)
            offset = take
            if pendingCount < 64 { return }
            compressPending()
        }
        let whole = (input.count - offset) / 64
        if whole > 0 {
            compress(base + offset, blocks: whole)
            offset += whole * 64
        }
        if offset < input.count { appendPending(base + offset, count: input.count - offset) }
    }

    private mutating func appendPending(_ source: UnsafeRawPointer, count: Int) {
        let start = pendingCount
        withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: start).copyMemory(from: source, byteCount: count) }
        pendingCount += count
    }

    private mutating func compressPending() {
        var block = pending
        withUnsafeBytes(of: &block) { compress($0.baseAddress!, blocks: 1) }
        pendingCount = 0
    }

    /// Pads and processes the last block(s): 0x80, zeroes up to 56 mod 64, the bit length
    /// big-endian. The state words are then the digest.
    private mutating func pad() {
        var block = pending
        block[pendingCount] = 0x80
        for i in (pendingCount + 1)..<64 { block[i] = 0 }
        if pendingCount >= 56 {
            withUnsafeBytes(of: &block) { compress($0.baseAddress!, blocks: 1) }
            for i in 0..<56 { block[i] = 0 }
        }
        let bitLength = totalBytes &* 8
        for i in 0..<8 { block[56 + i] = UInt8(truncatingIfNeeded: bitLength >> UInt64(56 - 8 * i)) }
        withUnsafeBytes(of: &block) { compress($0.baseAddress!, blocks: 1) }
        pendingCount = 0
    }

    /// Pads, processes the last block(s) and returns the 32-byte digest.
    public mutating func finish() -> [UInt8] {
        pad()
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            for (i, word) in [h0, h1, h2, h3, h4, h5, h6, h7].enumerated() {
                out[i * 4] = UInt8(truncatingIfNeeded: word >> 24); out[i * 4 + 1] = UInt8(truncatingIfNeeded: word >> 16)
                out[i * 4 + 2] = UInt8(truncatingIfNeeded: word >> 8); out[i * 4 + 3] = UInt8(truncatingIfNeeded: word)
            }
            count = 32
        }
    }

    /// Pads, processes the last block(s) and returns the digest as 64 lowercase hex digits,
    /// written straight into the string's storage.
    public mutating func finishHex() -> String {
        pad()
        let words = (h0, h1, h2, h3, h4, h5, h6, h7)
        return String(unsafeUninitializedCapacity: 64) { out in
            withUnsafeBytes(of: words) { raw in
                for i in 0..<8 {
                    let word = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    for j in 0..<8 {
                        let nibble = UInt8(truncatingIfNeeded: word >> UInt32(28 - 4 * j)) & 15
                        out[i * 8 + j] = nibble < 10 ? 48 + nibble : 87 + nibble
                    }
                }
            }
            return 64
        }
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }

    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        var s0 = h0, s1 = h1, s2 = h2, s3 = h3, s4 = h4, s5 = h5, s6 = h6, s7 = h7
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { buffer in
            SHA256.roundConstants.withUnsafeBufferPointer { constants in
                let w = buffer.baseAddress!, k = constants.baseAddress!
                var p = data
                for _ in 0..<blocks {
                    var a = s0, b = s1, c = s2, d = s3, e = s4, f = s5, g = s6, h = s7
                    // Rounds 0-15 take the block's words; 16-63 extend the schedule in a ring of 16.
                    var j = 0
                    while j < 16 {
                        for i in 0..<8 { w[j + i] = p.loadUnaligned(fromByteOffset: (j + i) * 4, as: UInt32.self).bigEndian }
                        SHA256.round(a, b, c, &d, e, f, g, &h, k[j] &+ w[j])
                        SHA256.round(h, a, b, &c, d, e, f, &g, k[j + 1] &+ w[j + 1])
                        SHA256.round(g, h, a, &b, c, d, e, &f, k[j + 2] &+ w[j + 2])
                        SHA256.round(f, g, h, &a, b, c, d, &e, k[j + 3] &+ w[j + 3])
                        SHA256.round(e, f, g, &h, a, b, c, &d, k[j + 4] &+ w[j + 4])
                        SHA256.round(d, e, f, &g, h, a, b, &c, k[j + 5] &+ w[j + 5])
                        SHA256.round(c, d, e, &f, g, h, a, &b, k[j + 6] &+ w[j + 6])
                        SHA256.round(b, c, d, &e, f, g, h, &a, k[j + 7] &+ w[j + 7])
                        j += 8
                    }
                    while j < 64 {
                        SHA256.round(a, b, c, &d, e, f, g, &h, k[j] &+ SHA256.expand(w, 0))
                        SHA256.round(h, a, b, &c, d, e, f, &g, k[j + 1] &+ SHA256.expand(w, 1))
                        SHA256.round(g, h, a, &b, c, d, e, &f, k[j + 2] &+ SHA256.expand(w, 2))
                        SHA256.round(f, g, h, &a, b, c, d, &e, k[j + 3] &+ SHA256.expand(w, 3))
                        SHA256.round(e, f, g, &h, a, b, c, &d, k[j + 4] &+ SHA256.expand(w, 4))
                        SHA256.round(d, e, f, &g, h, a, b, &c, k[j + 5] &+ SHA256.expand(w, 5))
                        SHA256.round(c, d, e, &f, g, h, a, &b, k[j + 6] &+ SHA256.expand(w, 6))
                        SHA256.round(b, c, d, &e, f, g, h, &a, k[j + 7] &+ SHA256.expand(w, 7))
                        SHA256.round(a, b, c, &d, e, f, g, &h, k[j + 8] &+ SHA256.expand(w, 8))
                        SHA256.round(h, a, b, &c, d, e, f, &g, k[j + 9] &+ SHA256.expand(w, 9))
                        SHA256.round(g, h, a, &b, c, d, e, &f, k[j + 10] &+ SHA256.expand(w, 10))
                        SHA256.round(f, g, h, &a, b, c, d, &e, k[j + 11] &+ SHA256.expand(w, 11))
                        SHA256.round(e, f, g, &h, a, b, c, &d, k[j + 12] &+ SHA256.expand(w, 12))
                        SHA256.round(d, e, f, &g, h, a, b, &c, k[j + 13] &+ SHA256.expand(w, 13))
                        SHA256.round(c, d, e, &f, g, h, a, &b, k[j + 14] &+ SHA256.expand(w, 14))
                        SHA256.round(b, c, d, &e, f, g, h, &a, k[j + 15] &+ SHA256.expand(w, 15))
                        j += 16
                    }
                    s0 &+= a; s1 &+= b; s2 &+= c; s3 &+= d; s4 &+= e; s5 &+= f; s6 &+= g; s7 &+= h
                    p += 64
                }
            }
        }
        h0 = s0; h1 = s1; h2 = s2; h3 = s3; h4 = s4; h5 = s5; h6 = s6; h7 = s7
    }

    /// One round with the working variables renamed instead of shifted: only `d` and `h` change.
    @inline(__always)
    private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                              _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ (g ^ (e & (f ^ g))) &+ kw
        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) | (c & (a | b)))
        d &+= t1
        h = t1 &+ t2
    }

    /// The next schedule word in slot `i` of the ring (W[t] from W[t-16], W[t-15], W[t-7], W[t-2]).
    @inline(__always)
    private static func expand(_ w: UnsafeMutablePointer<UInt32>, _ i: Int) -> UInt32 {
        let x = w[(i + 1) & 15], y = w[(i + 14) & 15]
        let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x &>> 3)
        let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y &>> 10)
        let v = w[i] &+ s0 &+ w[(i + 9) & 15] &+ s1
        w[i] = v
        return v
    }

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}
