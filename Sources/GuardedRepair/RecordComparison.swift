import GuardedSnapshot
import GuardedSystem

/// After a rebuild from the broken venv's dist-info: the reinstalled files against the hashes the
/// old RECORD files list. A same-named package from another index, or a rebuilt wheel that is
/// not the one that was installed, shows up here (the repair goes on; every mismatch is reported).
enum RecordComparison {
    static func mismatches(_ records: [OldRecord], sitePackages: String?) -> [String] {
        guard let site = sitePackages, !records.isEmpty else { return [] }
        var out: [String] = []
        for record in records {
            for (path, expected) in record.files {
                let file = site + "/" + path
                guard let st = fileStatusIfPresent(file), st.isRegularFile else {
                    out.append("\(record.name) \(record.version): \(path) is in the old RECORD but was not reinstalled")
                    continue
                }
                guard let bytes = try? readFile(file, limit: 256 << 20) else { continue }
                var hasher = SHA256()
                hasher.update(bytes)
                let actual = base64URL(hasher.finish())
                if actual != expected {
                    out.append("\(record.name) \(record.version): \(path) differs from the old RECORD (sha256=\(expected), now sha256=\(actual))")
                }
                if out.count >= 1000 { return out }
            }
        }
        return out
    }

    /// RECORD's hash encoding: URL-safe base64 without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            if i + 1 < bytes.count { out.append(table[Int(n >> 6 & 63)]) }
            if i + 2 < bytes.count { out.append(table[Int(n & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
