import GuardedSystem

/// PEP 440 versions and specifiers, PEP 508 requirements and markers: enough to say what `pip check`
/// says about an installed set. Written here because the venv cannot be relied on to have
/// `packaging`, and in Swift rather than in the probe because compiling the same logic as Python
/// source cost about 8% of the probe on every full check (measured with callgrind: 27.6M instructions
/// to compile 600 lines, against 327M for an interpreter that only builds an ssl context).
/// Everything here reads outside input (METADATA): nil means "cannot parse", never a trap.

/// A PEP 440 version, compared as `packaging` does.
public struct PackageVersion: Sendable, Equatable {
    public var epoch = 0
    public var release: [Int] = []
    /// (0 a, 1 b, 2 rc; number)
    public var pre: (Int, Int)? = nil
    public var post: Int? = nil
    public var dev: Int? = nil
    /// Segments: numbers compare above strings.
    public var local: [LocalSegment]? = nil

    public enum LocalSegment: Sendable, Equatable {
        case number(Int), text(String)
    }

    public static func == (a: PackageVersion, b: PackageVersion) -> Bool { compare(a, b, withLocal: true) == 0 }

    public init?(_ text: String) {
        var s = Array(text.lowercased().utf8)[...]
        while let f = s.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { s = s.dropFirst() }
        while let l = s.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") || l == UInt8(ascii: "\n") || l == UInt8(ascii: "\r") { s = s.dropLast() }
        if s.first == UInt8(ascii: "v") { s = s.dropFirst() }
        func number() -> Int? {
            var n = 0, any = false
            while let c = s.first, ASCII.isDigit(c) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
                if o1 || o2 { return nil }
                n = a; any = true; s = s.dropFirst()
            }
            return any ? n : nil
        }
        func letters() -> String {
            var out = ""
            while let c = s.first, c >= 0x61, c <= 0x7A { out.unicodeScalars.append(Unicode.Scalar(c)); s = s.dropFirst() }
            return out
        }
        func isSeparator(_ c: UInt8?) -> Bool { c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") }
        guard let first = number() else { return nil }
        if s.first == UInt8(ascii: "!") {
            s = s.dropFirst()
            epoch = first
            guard let r = number() else { return nil }
            release = [r]
        } else {
            release = [first]
        }
        while s.first == UInt8(ascii: "."), let c = s.dropFirst().first, ASCII.isDigit(c) {
            s = s.dropFirst()
            guard let r = number() else { return nil }
            release.append(r)
        }
        // Pre-release, post-release, dev-release, each with optional separators; then +local.
        func digitAfterSeparator() -> Bool {
            guard isSeparator(s.first), let c = s.dropFirst().first else { return false }
            return ASCII.isDigit(c)
        }
        let ranks = ["a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2]
        var save = s
        if isSeparator(s.first) { s = s.dropFirst() }
        if let rank = ranks[letters()] {
            if digitAfterSeparator() { s = s.dropFirst() }
            pre = (rank, number() ?? 0)
        } else {
            s = save
        }
        save = s
        if s.first == UInt8(ascii: "-"), let c = s.dropFirst().first, ASCII.isDigit(c) {
            s = s.dropFirst()
            post = number()
        } else {
            if isSeparator(s.first) { s = s.dropFirst() }
            let word = letters()
            if word == "post" || word == "rev" || word == "r" {
                if digitAfterSeparator() { s = s.dropFirst() }
                post = number() ?? 0
            } else {
                s = save
            }
        }
        save = s
        if isSeparator(s.first) { s = s.dropFirst() }
        if letters() == "dev" {
            if digitAfterSeparator() { s = s.dropFirst() }
            dev = number() ?? 0
        } else {
            s = save
        }
        if s.first == UInt8(ascii: "+") {
            s = s.dropFirst()
            var segments: [LocalSegment] = []
            var current: [UInt8] = []
            func flush() -> Bool {
                guard !current.isEmpty else { return false }
                if current.allSatisfy(ASCII.isDigit) {
                    var n = 0
                    for c in current {
                        let (m, o1) = n.multipliedReportingOverflow(by: 10)
                        let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
                        if o1 || o2 { return false }
                        n = a
                    }
                    segments.append(.number(n))
                } else {
                    segments.append(.text(String(decoding: current, as: UTF8.self)))
                }
                current = []
                return true
            }
            while let c = s.first {
                if isSeparator(c) {
                    guard flush() else { return nil }
                } else if ASCII.isDigit(c) || (c >= 0x61 && c <= 0x7A) {
                    current.append(c)
                } else {
                    return nil
                }
                s = s.dropFirst()
            }
            guard flush() else { return nil }
            local = segments
        }
        guard s.isEmpty else { return nil }
    }

    var isPrerelease: Bool { pre != nil || dev != nil }
    var trimmedRelease: ArraySlice<Int> {
        var r = release[...]
        while r.count > 1, r.last == 0 { r = r.dropLast() }
        return r
    }

    /// -1, 0, 1 as `packaging` orders versions; `withLocal: false` compares the public versions.
    static func compare(_ a: PackageVersion, _ b: PackageVersion, withLocal: Bool) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let ra = a.trimmedRelease, rb = b.trimmedRelease
        for (x, y) in zip(ra, rb) where x != y { return x < y ? -1 : 1 }
        if ra.count != rb.count { return ra.count < rb.count ? -1 : 1 }
        func preKey(_ v: PackageVersion) -> (Int, Int) {
            if let p = v.pre { return p }
            return v.post == nil && v.dev != nil ? (-1, 0) : (3, 0)
        }
        let pa = preKey(a), pb = preKey(b)
        if pa != pb { return pa < pb ? -1 : 1 }
        let qa = a.post ?? -1, qb = b.post ?? -1
        if qa != qb { return qa < qb ? -1 : 1 }
        let da = a.dev ?? Int.max, db = b.dev ?? Int.max
        if da != db { return da < db ? -1 : 1 }
        guard withLocal else { return 0 }
        switch (a.local, b.local) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let la?, let lb?):
            for (x, y) in zip(la, lb) {
                switch (x, y) {
                case (.number(let m), .number(let n)) where m != n: return m < n ? -1 : 1
                case (.text(let m), .text(let n)) where m != n: return m < n ? -1 : 1
                case (.number, .text): return 1
                case (.text, .number): return -1
                default: continue
                }
            }
            return la.count == lb.count ? 0 : (la.count < lb.count ? -1 : 1)
        }
    }

    /// The normal form, as `str(packaging.version.Version(...))`.
    public var normalized: String {
        var t = (epoch != 0 ? "\(epoch)!" : "") + release.map(String.init).joined(separator: ".")
        if let p = pre { t += ["a", "b", "rc"][p.0] + String(p.1) }
        if let p = post { t += ".post\(p)" }
        if let d = dev { t += ".dev\(d)" }
        if let l = local {
            t += "+" + l.map { if case .number(let n) = $0 { return String(n) } else if case .text(let s) = $0 { return s } else { return "" } }.joined(separator: ".")
        }
        return t
    }
}

/// One version clause of a requirement, e.g. (">=", "1.26").
public enum VersionSpecifier {
    public static let operators = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]

    /// Whether `installed` satisfies `op spec` (pre-releases allowed, as `pip check` asks); nil when
    /// either side cannot be parsed.
    public static func contains(_ op: String, _ spec: String, installed: String) -> Bool? {
        if op == "===" {
            let have = PackageVersion(installed)?.normalized ?? installed
            return trimmed(have).lowercased() == trimmed(spec).lowercased()
        }
        guard let c = PackageVersion(installed) else { return nil }
        if op == "==" || op == "!=" {
            let same: Bool
            if spec.hasSuffix(".*") {
                guard let m = prefixMatch(c, String(spec.dropLast(2))) else { return nil }
                same = m
            } else {
                guard let v = PackageVersion(spec) else { return nil }
                same = PackageVersion.compare(c, v, withLocal: v.local != nil) == 0
            }
            return op == "==" ? same : !same
        }
        guard let v = PackageVersion(spec) else { return nil }
        let order = PackageVersion.compare(c, v, withLocal: false)
        let sameBase = c.epoch == v.epoch && c.trimmedRelease == v.trimmedRelease
        switch op {
        case "~=":
            guard v.release.count >= 2 else { return nil }
            guard let m = prefixMatch(c, v.release.dropLast().map(String.init).joined(separator: "."), epoch: v.epoch) else { return nil }
            return order >= 0 && m
        case ">=": return order >= 0
        case "<=": return order <= 0
        case "<": return order < 0 && !(c.isPrerelease && !v.isPrerelease && sameBase)
        case ">": return order > 0 && !(c.post != nil && v.post == nil && sameBase) && !(c.local != nil && sameBase)
        default: return nil
        }
    }

    static func prefixMatch(_ c: PackageVersion, _ prefix: String, epoch: Int? = nil) -> Bool? {
        guard let p = PackageVersion(prefix) else { return nil }
        let n = p.release.count
        var padded = Array(c.release.prefix(n))
        while padded.count < n { padded.append(0) }
        return c.epoch == (epoch ?? p.epoch) && padded == p.release
    }

    static func trimmed(_ s: String) -> String {
        var t = Substring(s)
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        return String(t)
    }
}

/// A PEP 508 requirement as it appears in `Requires-Dist`.
public struct Requirement: Sendable, Equatable {
    public var name: String
    public var extras: [String]
    public var specifiers: [Specifier]
    public var marker: String?

    public struct Specifier: Sendable, Equatable {
        public var op: String
        public var version: String
    }

    /// `name>=1,<2` as shown in reasons (never a direct URL: it may hold credentials).
    public var shown: String { name + specifiers.map { $0.op + $0.version }.joined(separator: ",") }

    /// Read byte by byte: every delimiter of the grammar is ASCII, and `packaging` reads code points,
    /// not grapheme clusters. Character by Character this cost 36,000 instructions a requirement
    /// (2.5M of the 8M guarded-run spent on a check of the bench venv, callgrind).
    public init?(_ text: String) {
        let all = Array(text.utf8)[...]
        func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var t = s
            while t.first == UInt8(ascii: " ") { t = t.dropFirst() }
            while t.last == UInt8(ascii: " ") { t = t.dropLast() }
            return t
        }
        func string(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }
        let semicolon = all.firstIndex(of: UInt8(ascii: ";"))
        let body = trimmed(semicolon.map { all[..<$0] } ?? all)
        if let semicolon {
            let m = trimmed(all[(semicolon + 1)...])
            marker = m.isEmpty ? nil : string(m)
        } else {
            marker = nil
        }
        let nameBytes = body.prefix { ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        guard let f = nameBytes.first, let l = nameBytes.last, ASCII.isAlphanumeric(f), ASCII.isAlphanumeric(l) else { return nil }
        name = string(nameBytes)
        var rest = trimmed(body[nameBytes.endIndex...])
        extras = []
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            extras = rest[(rest.startIndex + 1)..<close].split(separator: UInt8(ascii: ","))
                .map { normalizedName(string(trimmed($0))) }.filter { !$0.isEmpty }
            rest = trimmed(rest[(close + 1)...])
        }
        specifiers = []
        if rest.first == UInt8(ascii: "@") { return }  // a direct URL: any installed version satisfies it
        if rest.first == UInt8(ascii: "("), rest.last == UInt8(ascii: ")") { rest = rest.dropFirst().dropLast() }
        for part in rest.split(separator: UInt8(ascii: ",")) {
            let p = trimmed(part)
            if p.isEmpty { continue }
            guard let op = VersionSpecifier.operators.first(where: { p.starts(with: $0.utf8) }) else { return nil }
            let v = trimmed(p.dropFirst(op.utf8.count))
            guard !v.isEmpty, !v.contains(UInt8(ascii: " ")), !v.contains(UInt8(ascii: "\t")) else { return nil }
            specifiers.append(Specifier(op: op, version: string(v)))
        }
    }
}

/// PEP 503 name normalization: lowercase, runs of `-_.` become one `-`.
public func normalizedName(_ name: String) -> String {
    var out = ""
    var dash = false
    for c in name.lowercased() {
        if c == "-" || c == "_" || c == "." {
            if !dash { out.append("-"); dash = true }
        } else {
            out.append(c); dash = false
        }
    }
    return out
}

/// PEP 508 environment markers.
public enum Marker {
    static let variables: Set<String> = ["os_name", "sys_platform", "platform_machine", "platform_python_implementation",
                                         "platform_release", "platform_system", "platform_version", "python_version",
                                         "python_full_version", "implementation_name", "implementation_version", "extra"]

    /// Whether the marker applies in `environment` with `extra` ("" for none); nil when it cannot be
    /// parsed or compared (an unknown variable, an operator that is not PEP 508, nesting past 32).
    public static func evaluate(_ text: String, extra: String, environment: [String: String]) -> Bool? {
        guard let tokens = tokenize(text) else { return nil }
        var parser = Parser(tokens: tokens, extra: extra, environment: environment)
        guard let r = parser.disjunction(depth: 0), parser.position == tokens.count else { return nil }
        return r
    }

    enum Token: Equatable { case open, close, string(String), word(String), op(String) }

    static func tokenize(_ text: String) -> [Token]? {
        let s = Array(text.utf8)
        var out: [Token] = []
        var i = 0
        func isWordByte(_ c: UInt8) -> Bool {
            ASCII.isWordByte(c) || c == UInt8(ascii: ".")
        }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1; continue }
            if c == UInt8(ascii: "(") { out.append(.open); i += 1; continue }
            if c == UInt8(ascii: ")") { out.append(.close); i += 1; continue }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                guard let end = s[(i + 1)...].firstIndex(of: c) else { return nil }
                out.append(.string(String(decoding: s[(i + 1)..<end], as: UTF8.self)))
                i = end + 1
                continue
            }
            if "=!<>~".utf8.contains(c) {
                guard let op = VersionSpecifier.operators.first(where: { s[i...].starts(with: $0.utf8) }) else { return nil }
                out.append(.op(op))
                i += op.utf8.count
                continue
            }
            guard isWordByte(c), !ASCII.isDigit(c), c != UInt8(ascii: ".") else { return nil }
            var j = i
            while j < s.count, isWordByte(s[j]) { j += 1 }
            let word = String(decoding: s[i..<j], as: UTF8.self)
            i = j
            if word == "not" {
                var k = j
                while k < s.count, s[k] == UInt8(ascii: " ") || s[k] == UInt8(ascii: "\t") { k += 1 }
                guard s[k...].starts(with: "in".utf8), k + 2 == s.count || !isWordByte(s[k + 2]) else { return nil }
                out.append(.op("not in"))
                i = k + 2
            } else if word == "in" {
                out.append(.op("in"))
            } else {
                out.append(.word(word))
            }
        }
        return out
    }

    struct Parser {
        let tokens: [Token]
        let extra: String
        let environment: [String: String]
        var position = 0

        mutating func next() -> Token? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func disjunction(depth: Int) -> Bool? {
            guard var r = conjunction(depth: depth) else { return nil }
            while peek == .word("or") {
                position += 1
                guard let b = conjunction(depth: depth) else { return nil }
                r = r || b
            }
            return r
        }

        mutating func conjunction(depth: Int) -> Bool? {
            guard var r = atom(depth: depth) else { return nil }
            while peek == .word("and") {
                position += 1
                guard let b = atom(depth: depth) else { return nil }
                r = r && b
            }
            return r
        }

        mutating func atom(depth: Int) -> Bool? {
            if peek == .open {
                guard depth < 32 else { return nil }
                position += 1
                guard let r = disjunction(depth: depth + 1), next() == .close else { return nil }
                return r
            }
            return comparison()
        }

        /// (value, is the variable `extra`)
        mutating func value() -> (String, Bool)? {
            switch next() {
            case .string(let s)?: return (s, false)
            case .word(let w)?:
                let name = String(w.map { $0 == "." ? "_" : $0 })
                guard Marker.variables.contains(name) else { return nil }
                if name == "extra" { return (extra, true) }
                return (environment[name] ?? "", false)
            default: return nil
            }
        }

        mutating func comparison() -> Bool? {
            guard var (a, aExtra) = value(), case .op(let op)? = next(), var (b, bExtra) = value() else { return nil }
            if aExtra || bExtra { a = normalizedName(a); b = normalizedName(b); aExtra = false; bExtra = false }
            switch op {
            case "in": return b.contains(a)
            case "not in": return !b.contains(a)
            default:
                if let r = VersionSpecifier.contains(op, b, installed: a) { return r }
                if op == "==" { return a == b }
                if op == "!=" { return a != b }
                return nil
            }
        }
    }
}

extension String {
    /// Substring containment without Foundation.
    func contains(_ other: String) -> Bool {
        if other.isEmpty { return true }
        let h = Array(utf8), n = Array(other.utf8)
        guard n.count <= h.count else { return false }
        for i in 0...(h.count - n.count) where h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { return true }
        return false
    }
}
