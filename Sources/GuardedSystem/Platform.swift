// The launcher's shared definitions (byte views, FileStatus, Clock, the fast path) sit below this module
// and are re-exported to every module above it. The C library is not: it is this module's alone (each
// file imports it), and the modules above call the typed API here instead, as with swift-system.
// Platform differences are listed in docs/portability.md.
@_exported public import GuardedLaunch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File permission bits as the C library spells them (`mode_t`), named here once: in a module that
/// also imports a C target, a bare `mode_t` in a public signature can resolve to the wrong module.
#if canImport(Glibc)
public typealias FileMode = Glibc.mode_t
#elseif canImport(Musl)
public typealias FileMode = Musl.mode_t
#elseif canImport(Darwin)
public typealias FileMode = Darwin.mode_t
#endif
