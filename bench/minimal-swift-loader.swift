// The reference the issue gives for orientation: a minimal static Swift program that lstats 10 paths
// and execs argv[1]. What it costs above the C loader is the Swift runtime's own start-up.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

var st = stat()
for path in ["/", "/usr", "/usr/bin", "/usr/lib", "/etc", "/tmp", "/bin", "/usr/bin/env", "/etc/passwd", "/usr/local"] {
    _ = lstat(path, &st)
}
let argv = CommandLine.unsafeArgv
_ = execv(argv[1]!, argv + 1)
exit(127)
