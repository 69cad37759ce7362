import GuardedSystem

/// One installed distribution as the probe's METADATA pass saw it.
public struct InstalledDistribution: Sendable {
    public var name: String
    public var version: String
    /// The raw `Requires-Dist` values.
    public var requires: [String]
    /// The installer recorded it as asked for (a `REQUESTED` file in its dist-info).
    public var requested: Bool
    public var distInfo: String
    public var sitePackages: String

    public init(name: String, version: String, requires: [String], requested: Bool, distInfo: String, sitePackages: String) {
        self.name = name
        self.version = version
        self.requires = requires
        self.requested = requested
        self.distInfo = distInfo
        self.sitePackages = sitePackages
    }
}

/// Dependencies complete, as `pip check` means it, with one verdict rule: a missing dependency, or a
/// `~name` leftover whose package is gone, is **broken** inside the closure of the `--import`
/// modules' distributions and of the distributions the installer recorded as asked for (REQUESTED);
/// elsewhere it is degraded. Version conflicts, and requirements or markers that cannot be parsed,
/// are degraded.
public struct DependencyCheck {
    public struct Finding: Sendable, Equatable {
        public var name: String
        public var reason: String
        public var severity: CheckResult.Severity
    }

    public var findings: [Finding] = []
    /// Indices (into the distributions) of the closure of the --import modules' distributions.
    public var importClosure: Set<Int> = []

    let dists: [InstalledDistribution]
    var topLevelCache: [Int: [String]] = [:]

    public init(_ dists: [InstalledDistribution], modules: [String], leftovers: [String], environment: [String: String]) {
        self.dists = dists
        var byName: [String: Int] = [:]
        for (i, d) in dists.enumerated() where byName[normalizedName(d.name)] == nil { byName[normalizedName(d.name)] = i }

        // Which requirements apply: markers evaluated with each extra that some requirer asked for.
        var problems: [(dist: Int, brokenInClosure: Bool, reason: String)] = []
        var parsed: [[Requirement]] = Array(repeating: [], count: dists.count)
        for (i, d) in dists.enumerated() {
            for text in d.requires.prefix(1000) {
                if let r = Requirement(text) {
                    parsed[i].append(r)
                } else {
                    let shown = text.prefix { $0 != ";" && $0 != "@" && $0 != " " }
                    problems.append((i, false, "requirement-unreadable: \(d.name) \(d.version): cannot parse the requirement \(shown)"))
                }
            }
        }
        var edges: [[(requirement: Requirement, extra: String)]] = Array(repeating: [], count: dists.count)
        var extrasAsked: [Set<String>] = Array(repeating: [], count: dists.count)
        var work: [(Int, String)] = dists.indices.map { ($0, "") }
        while let (i, extra) = work.popLast() {
            for r in parsed[i] {
                if !extra.isEmpty, !(r.marker?.contains("extra") ?? false) { continue }
                if let marker = r.marker {
                    guard let applies = Marker.evaluate(marker, extra: extra, environment: environment) else {
                        if extra.isEmpty {
                            problems.append((i, false, "requirement-unreadable: \(dists[i].name) \(dists[i].version): cannot evaluate the marker of \(r.name) (\(marker))"))
                        }
                        continue
                    }
                    if !applies { continue }
                }
                edges[i].append((r, extra))
                if let t = byName[normalizedName(r.name)] {
                    for x in r.extras where extrasAsked[t].insert(x).inserted { work.append((t, x)) }
                }
            }
        }

        func closure(of roots: [Int]) -> Set<Int> {
            var seen = Set<Int>(), stack = roots
            while let d = stack.popLast() {
                guard seen.insert(d).inserted else { continue }
                for e in edges[d] { if let t = byName[normalizedName(e.requirement.name)] { stack.append(t) } }
            }
            return seen
        }
        var imported: [Int] = []
        for module in modules {
            let top = String(module.prefix { $0 != "." })
            for i in dists.indices where topLevels(i).contains(where: { DependencyCheck.moduleName($0) == top }) { imported.append(i) }
        }
        importClosure = closure(of: imported)
        let closure = closure(of: imported + dists.indices.filter { dists[$0].requested })

        for (i, d) in dists.enumerated() {
            for (r, extra) in edges[i] {
                let shown = r.shown + (extra.isEmpty ? "" : " (extra \(extra))")
                guard let t = byName[normalizedName(r.name)] else {
                    problems.append((i, true, "dependency-missing: \(d.name) \(d.version) requires \(shown), which is not installed"))
                    continue
                }
                let have = dists[t]
                var ok: Bool? = true
                for s in r.specifiers {
                    guard let c = VersionSpecifier.contains(s.op, s.version, installed: have.version) else { ok = nil; break }
                    if !c { ok = false }
                }
                if ok == nil {
                    problems.append((i, false, "dependency-unchecked: \(d.name) \(d.version) requires \(shown): cannot compare with \(have.name) \(have.version)"))
                } else if ok == false {
                    problems.append((i, false, "dependency-conflict: \(d.name) \(d.version) requires \(shown), but \(have.name) \(have.version) is installed"))
                }
            }
        }

        // A `~name` leftover (pip renames a package that way while it replaces it) whose package is
        // gone: the distribution that installed `name` is missing it.
        for path in leftovers {
            let sp = parentDirectory(of: path), left = baseName(of: path)
            let tail = String(left.drop { $0 == "~" })
            for i in dists.indices where dists[i].sitePackages == sp {
                for t in topLevels(i) where t.utf8.count == left.utf8.count && t.hasSuffix(tail) && fileStatusIfPresent(sp + "/" + t) == nil {
                    problems.append((i, true, "package-gone: \(dists[i].name) \(dists[i].version): \(t) is missing and \(left) is left (an interrupted install)"))
                }
            }
        }

        var all = problems.map { p in
            Finding(name: "dependencies:" + dists[p.dist].name, reason: p.reason,
                    severity: p.brokenInClosure && closure.contains(p.dist) ? .broken : .degraded)
        }
        all.sort { $0.severity == .broken && $1.severity != .broken }
        findings = Array(all.prefix(20))
        if all.count > 20 {
            let rest = all.dropFirst(20)
            findings.append(Finding(name: "dependencies", reason: "dependency-problems: \(rest.count) more",
                                    severity: rest.contains { $0.severity == .broken } ? .broken : .degraded))
        }
    }

    /// `six.py` -> `six`, `_cffi_backend.cpython-311-x86_64-linux-gnu.so` -> `_cffi_backend`.
    static func moduleName(_ top: String) -> String {
        if top.hasSuffix(".py") { return String(top.dropLast(3)) }
        return String(top.prefix { $0 != "." })
    }

    /// What a distribution installs at the top of site-packages: top_level.txt, else RECORD's first
    /// path components.
    mutating func topLevels(_ i: Int) -> [String] {
        if let cached = topLevelCache[i] { return cached }
        var names: [String] = []
        if let bytes = try? readFile(dists[i].distInfo + "/top_level.txt", limit: 1 << 20) {
            names = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " || $0 == "\t" }).map(String.init)
        } else if let bytes = try? readFile(dists[i].distInfo + "/RECORD", limit: 64 << 20) {
            var seen = Set<String>()
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                var path = line.prefix { $0 != "," }
                if path.first == "\"" { path = line.dropFirst().prefix { $0 != "\"" } }
                let first = String(path.prefix { $0 != "/" })
                if first.isEmpty || first == ".." || first == "__pycache__" || first.hasSuffix(".dist-info") || first.hasSuffix(".data") { continue }
                if seen.insert(first).inserted { names.append(first) }
            }
        }
        topLevelCache[i] = names
        return names
    }
}
