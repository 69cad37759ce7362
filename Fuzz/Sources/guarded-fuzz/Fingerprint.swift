@testable import GuardedCore
@testable import GuardedLaunch

/// The fingerprint cache, read by its one reader: the byte-level scanner the launcher's fast path
/// runs (`FastPath.parseAndVerify`, which also lstats each watched path), directly and through
/// `Fingerprint.launcherVerdict`. Most inputs fail the checksum, so the target also appends the right `end` line to the
/// input and tries that: the fuzzer then reaches the fields.
@_cdecl("fuzz_fingerprint") public func fuzzFingerprint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    check(input)
    var body = input
    if body.last != 0x0a { body.append(0x0a) }
    var sum: UInt64 = 0xcbf29ce484222325
    for b in body { sum = (sum ^ UInt64(b)) &* 0x100000001b3 }
    let hex = Array(String(sum, radix: 16).utf8)
    check(body + Array("end ".utf8) + Array(repeating: 0x30, count: 16 - hex.count) + hex + [0x0a])
    return 0
}

private func check(_ input: [UInt8]) {
    _ = Fingerprint.launcherVerdict(input, venv: "/srv/agent/.venv", imports: ["a.b", "c"])
    // parseAndVerify rewrites its buffer in place: give it a copy of exactly the input's size.
    let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(input.count, 1))
    defer { copy.deallocate() }
    input.withUnsafeBufferPointer { if let base = $0.baseAddress { copy.initialize(from: base, count: input.count) } }
    let venv = Array("/srv/agent/.venv".utf8)
    venv.withUnsafeBufferPointer { v in
        let imports = BytesList(capacity: 1)
        defer { imports.free() }
        var parsed = FastPath.Parsed()
        defer { parsed.reasons.free() }
        _ = FastPath.parseAndVerify(copy, input.count, venv: Bytes(v.baseAddress!, v.count), imports: imports, into: &parsed)
    }
}
