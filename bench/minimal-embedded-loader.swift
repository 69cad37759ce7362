// The floor the start-up issue aims at: an Embedded Swift program (no runtime start-up) that lstats
// the same 10 paths as minimal-swift-loader.swift and execs argv[1].
@_extern(c, "lstat") func lstat(_ path: UnsafePointer<CChar>, _ buf: UnsafeMutableRawPointer) -> Int32
@_extern(c, "execv") func execv(_ path: UnsafePointer<CChar>, _ argv: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32

@_cdecl("main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    // struct stat is 144 bytes on x86_64 and aarch64 Linux; 256 leaves room elsewhere.
    var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &buffer) { st in
        _ = lstat("/", st.baseAddress!); _ = lstat("/usr", st.baseAddress!); _ = lstat("/usr/bin", st.baseAddress!)
        _ = lstat("/usr/lib", st.baseAddress!); _ = lstat("/etc", st.baseAddress!); _ = lstat("/tmp", st.baseAddress!)
        _ = lstat("/bin", st.baseAddress!); _ = lstat("/usr/bin/env", st.baseAddress!)
        _ = lstat("/etc/passwd", st.baseAddress!); _ = lstat("/usr/local", st.baseAddress!)
    }
    guard argc > 1, let path = argv[1] else { return 64 }
    _ = execv(path, argv + 1)
    return 127
}
