#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// One binary holds every target; libFuzzer's own main runs it. FUZZ_TARGET=NAME picks the function
// `@_cdecl("fuzz_NAME")` (found with dlsym, so a new target is one new file and nothing else).

typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
nonisolated(unsafe) var selectedTarget: FuzzTarget? = nil

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }),
          let symbol = dlsym(dlopen(nil, RTLD_NOW), "fuzz_" + name) else {
        let message = "guarded-fuzz: FUZZ_TARGET must name a target (a function marked @_cdecl(\"fuzz_NAME\"))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(64)
    }
    selectedTarget = unsafeBitCast(symbol, to: FuzzTarget.self)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selectedTarget!(data, size)
}
