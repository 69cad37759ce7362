@testable import GuardedCore
@testable import GuardedLaunch
import GuardedSystem
#if canImport(Glibc)
import Glibc
#endif

/// The launcher's command line, split on NUL bytes into argv: the general parser
/// (`LaunchRequest.parse`) and the fast path's own byte-level parse (`FastPath.parseCommandLine`,
/// then `FastPath.attempt`), differentially: every command line the fast path accepts, the general
/// parser must accept with the same meaning (`sameMeaning`, LaunchOptionsDifferentialTests), or the
/// target traps and the fuzzer keeps the input. The fast path execs only on a fingerprint hit; the
/// scratch state directory has no fingerprints, and command lines that name another state
/// directory are left to the general parser.
@_cdecl("fuzz_launcher_argv") public func fuzzLauncherArguments(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    guard input.count < 4096 else { return 0 }
    var words = input.split(separator: 0, omittingEmptySubsequences: false).map { Array($0) + [0] }
    words.insert(Array("guarded-run".utf8) + [0], at: 0)
    let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: words.count + 1)
    defer { argv.deallocate() }
    var owned: [UnsafeMutablePointer<CChar>] = []
    for (i, w) in words.enumerated() {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: w.count)
        w.withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { p.initialize(from: $0.baseAddress!, count: w.count) } }
        owned.append(p)
        argv[i] = p
    }
    argv[words.count] = nil
    defer { owned.forEach { $0.deallocate() } }

    let general = LaunchRequest.parse(argc: words.count, argv: argv)
    if let fast = FastPath.parseCommandLine(argc: words.count, argv: argv) {
        defer { fast.imports.free() }
        guard case .success(let request) = general, sameMeaning(fast, request) else {
            fatalError("the fast path accepted a command line the general parser reads otherwise")
        }
    }
    let namesState = words.contains { $0.starts(with: Array("--state-dir".utf8)) }
    if !namesState {
        setenv("GUARDED_RUN_STATE_DIR", Scratch.root + "/argv-state", 1)
        FastPath.attempt(argc: words.count, argv: argv, startedNs: 0, log: .write) { _ in }
    }
    return 0
}
