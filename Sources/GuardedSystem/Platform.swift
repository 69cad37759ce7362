// The C library and the launcher's shared module, re-exported to every module above this one (which
// then need no import of their own). Platform differences are listed in docs/portability.md.
// The launcher's shared definitions (byte views, FileStatus, Clock, the fast path) sit below this module.
@_exported public import GuardedLaunch

#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
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
