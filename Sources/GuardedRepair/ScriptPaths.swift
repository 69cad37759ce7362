import GuardedSystem

/// A venv records its own absolute path: in every console script's `#!` line, in the activate
/// scripts (`VIRTUAL_ENV=`) and in pyvenv.cfg's `command` line. A generation is built at
/// `<venv>.generations/.build-N-…` but runs as `<venv>`; this rewrites those mentions to `<venv>`
/// before the generation is verified, so a console script run as `<venv>/bin/tool` uses
/// `<venv>/bin/python` (whichever generation is current) and the generation could even be moved
/// back to the venv path as a plain directory (`generations --restore-plain`).
/// Binaries (a NUL in the first 8 KiB), symlinks and files over 4 MiB are left alone.
enum ScriptPaths {
    static func rewrite(generation: String, from old: String, to new: String) throws(SystemError) {
        let bin = generation + "/bin"
        var files = ((try? directoryEntries(bin)) ?? []).map { bin + "/" + $0 }
        files.append(generation + "/pyvenv.cfg")
        let needle = Array(old.utf8), replacement = Array(new.utf8)
        for file in files {
            guard let st = fileStatusIfPresent(file), st.isRegularFile, st.size <= 4 << 20,
                  let bytes = try? readFile(file, limit: 4 << 20), !bytes.prefix(8192).contains(0),
                  let changed = replacing(needle, with: replacement, in: bytes) else { continue }
            // No fsync each: the whole generation is made durable by one syncfs before its promotion.
            try writeFileAtomically(file, changed, mode: FileMode(st.permissions), sync: false)
        }
    }

    /// `bytes` with every occurrence of `needle` replaced, or nil when there is none.
    static func replacing(_ needle: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8]? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var out: [UInt8] = []
        var i = 0, found = false
        out.reserveCapacity(bytes.count)
        while i < bytes.count {
            if bytes[i] == needle[0], i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement)
                i += needle.count
                found = true
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return found ? out : nil
    }
}
