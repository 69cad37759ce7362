#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the process environment. Values are never logged by this program (they may be secrets);
/// only names and our own flags are interpreted.
public enum Environment {
    public static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    /// The value's bytes as they are, for readers that must not decode them first (a path that is
    /// not UTF-8 names another directory once read into a String). Valid while the environment is
    /// not changed. A `StaticString` name: no String is made on the start path.
    public static func bytes(_ name: StaticString) -> Bytes? {
        guard let p = getenv(cString(name)) else { return nil }
        return Bytes(cString: p)
    }

    /// The whole environment as `NAME=value` strings, in order.
    public static func all() -> [String] {
        var result: [String] = []
        #if canImport(Darwin)
        guard var p = _NSGetEnviron()?.pointee else { return [] }
        #else
        guard var p = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return [] }
        #endif
        while let entry = p.pointee {
            result.append(String(cString: entry))
            p += 1
        }
        return result
    }

    /// Removes the first `NAME=` entry, the one getenv reads, and no other (unsetenv removes every
    /// entry of that name, a caller's duplicate included), shifting the rest down in place.
    public static func removeFirst(_ name: String) {
        #if canImport(Darwin)
        guard let env = _NSGetEnviron()?.pointee else { return }
        #else
        guard let env = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return }
        #endif
        let key = name + "="
        let length = key.utf8.count
        var i = 0
        while let entry = env[i], strncmp(entry, key, length) != 0 { i += 1 }
        while env[i] != nil {
            env[i] = env[i + 1]
            i += 1
        }
    }

    /// The user's home directory from $HOME. The password database is not consulted: in a static
    /// executable getpwuid would need the NSS modules of the glibc it was linked against.
    /// A HOME that is not valid UTF-8 (a Latin-1 home directory) is none: read into a String its
    /// bytes would be replaced, naming another directory, which the launcher then created as its
    /// state directory (the fast path declines such a path the same way).
    public static func homeDirectory() -> String? {
        guard let p = getenv("HOME"), let h = String(validatingCString: p), h.utf8.first == UInt8(ascii: "/") else { return nil }
        return h
    }
}
