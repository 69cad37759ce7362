import GuardedCore
import GuardedSystem

/// A check after `FullCheck.cache`: the verdict that stands, and why no fingerprint was written
/// (nil when one was, or when the verdict is broken).
public struct CachedCheck: Sendable {
    public var report: CheckReport
    public var skipped: String?
    public var error: SystemError?
    /// Full checks run again for the caching rule (0 or 1).
    public var probes = 0
}

/// The full health check of one venv: what can be seen from outside (pyvenv.cfg, `home`, the
/// interpreter's symlink chain) first, then one isolated Python probe for the rest.
public enum FullCheck {
    /// The probe's deadline: GUARDED_RUN_CHECK_TIMEOUT seconds, default 30 (`Setting.checkTimeout`). A
    /// probe past it is killed (with its process group) and the result is transient (exit 75), not broken.
    public static var defaultTimeout: Double { Setting.checkTimeout.value }

    /// A passing check's fingerprint is written only when nothing it watched changed while it ran
    /// (`CheckReport.cacheableFingerprint`). When something did, this waits until that change is
    /// older than the filesystem's timestamp granularity (never more than `maxSettleWait`) and checks
    /// once more: that check's verdict stands (a venv broken under the first probe fails closed
    /// now), and it is cached if nothing moved under it either; otherwise nothing is cached and
    /// `skipped` says why (the next start checks again).
    public static func cache(_ report: CheckReport, state: StateDirectory,
                             timeoutSeconds: Double = defaultTimeout) -> CachedCheck {
        var current = report
        var probes = 0
        for attempt in 0..<2 {
            let refusal: CheckReport.CacheRefusal?
            do { refusal = try current.saveCache(state: state) } catch {
                return CachedCheck(report: current, skipped: nil, error: error, probes: probes)
            }
            guard let refusal else { return CachedCheck(report: current, skipped: nil, error: nil, probes: probes) }
            guard case .changed(_, let settles) = refusal, attempt == 0 else {
                return CachedCheck(report: current, skipped: refusal.note, error: nil, probes: probes)
            }
            var wait = settles - Clock.wallNanoseconds()
            if wait > maxSettleWait { return CachedCheck(report: current, skipped: refusal.note, error: nil, probes: probes) }
            // Sleeping until a known instant (the change's time plus the granularity), not hoping.
            while wait > 0 {
                Clock.sleep(microseconds: UInt32(min(wait / 1000 + 1, 500_000)))
                wait = settles - Clock.wallNanoseconds()
            }
            // Only the repair's own changes are that recent (CheckReport.writtenByRepair: any other
            // change is reported first): once they are older than the granularity the fingerprint
            // can be taken without a probe. Measured: one probe less per repair, 60-100 ms with
            // requests imported (docs/performance.md).
            if case .changed(let path, _) = refusal, current.writtenByRepair, current.isWrittenByRepair(path) { continue }
            probes += 1
            current = run(venv: current.venv, imports: current.imports, context: current.context, start: current.start, deep: current.deep,
                          timeoutSeconds: timeoutSeconds, probeCache: current.probeCache)
            current.origin = report.origin
            if current.status == .broken { return CachedCheck(report: current, skipped: nil, error: nil, probes: probes) }
        }
        return CachedCheck(report: current, skipped: nil, error: nil, probes: probes)
    }

    /// The longest wait for a change to settle before the second check: a 2-s-granular filesystem
    /// (FAT, ext4 with small inodes, HFS+) plus slack; a change in the future (a skewed server clock)
    /// is not waited for.
    static let maxSettleWait: Int64 = 2_500_000_000

    /// `deep`: also verify every installed file against its distribution's RECORD (`check --deep`).
    /// `context`: how the agent starts; its `--import` checks then run where the agent would (`AgentStart`).
    /// `start`: where the imports are looked for when that is not one agent's context (`venvs check`
    /// checks the imports of every agent on a venv at once, `AgentStart.merged`).
    public static func run(venv: String, imports: [String], context: AgentContext? = nil, start: AgentStart? = nil,
                           deep: Bool = false, timeoutSeconds: Double = defaultTimeout, probeCache: StateDirectory? = nil) -> CheckReport {
        let started = Clock.monotonicNanoseconds()
        var report = CheckReport(venv: venv, imports: imports)
        report.probeCache = probeCache
        report.context = context
        report.start = start ?? context.map(AgentStart.init)
        report.deep = deep
        defer { report.durationNanoseconds = Clock.monotonicNanoseconds() - started }
        inspect(&report, timeoutSeconds: timeoutSeconds)
        report.durationNanoseconds = Clock.monotonicNanoseconds() - started
        return report
    }

    private static func inspect(_ report: inout CheckReport, timeoutSeconds: Double) {
        let venv = report.venv
        guard isDirectory(venv) else {
            report.add("venv", ok: false, "venv-missing: \(venv): \(Errno.noSuchFileOrDirectory)")
            return
        }
        report.watchPaths += [venv, venv + "/bin", venv + "/pyvenv.cfg"]
        // A repaired venv is a symlink to its generation: lstat of the path sees the link, so the
        // generation's directory itself (entries added to or removed from it) is watched too.
        if fileStatusIfPresent(venv)?.isSymbolicLink == true, let real = try? resolvedPath(venv) { report.watchPaths.append(real) }

        // pyvenv.cfg: without it Python does not know it is in a venv.
        var config: PyvenvConfig? = nil
        do {
            config = try PyvenvConfig.load(venv: venv)
            report.add("pyvenv.cfg", ok: true)
        } catch {
            report.add("pyvenv.cfg", ok: false, "pyvenv-cfg-missing: \(venv)/pyvenv.cfg: \(error.errno)")
        }

        // The interpreter's symlink chain, hop by hop, first: a removed base install shows here.
        var start = venv + "/bin/python"
        if fileStatusIfPresent(start) == nil, fileStatusIfPresent(venv + "/bin/python3") != nil { start = venv + "/bin/python3" }
        let chain = InterpreterChain(start: start)
        report.interpreter = chain
        report.watchPaths += chain.hops
        let shown = "bin/" + baseName(of: start)
        if let failure = chain.failure {
            let arrow = chain.target == start ? shown : "\(shown) -> \(chain.target)"
            let code = failure.errno == .noSuchFileOrDirectory ? "interpreter-missing" : "interpreter-unusable"
            report.add("interpreter", ok: false, "\(code): \(arrow): \(failure.errno)")
        }

        // `home`: where Python finds its standard library; a removed install leaves it dangling.
        if let config {
            report.home = config.home
            if let home = config.home {
                if !isDirectory(home) {
                    report.add("home", ok: false, "home-missing: pyvenv.cfg home = \(home): \(Errno.noSuchFileOrDirectory)")
                } else if let mm = config.majorMinor,
                          !["python\(mm)", "python3", "python"].contains(where: { fileExists(home + "/" + $0) }) {
                    report.add("home", ok: false, "home-invalid: pyvenv.cfg home = \(home) has no python\(mm)")
                } else {
                    report.add("home", ok: true)
                    report.watchPaths.append(home)
                    if let exe = config.executable, fileStatusIfPresent(exe) != nil { report.watchPaths.append(exe) }
                }
            } else {
                report.add("home", ok: false, "home-missing: pyvenv.cfg has no home line")
            }
        }

        if chain.failure != nil { return }

        // What is known before the probe, as it is now: the caching rule wants it unchanged after.
        report.baseline = (report.watchPaths + [BesideVenv.shared(venv: venv).invalidationMarker]).map {
            WatchEntry(path: $0, status: fileStatusIfPresent($0) ?? .absent)
        }

        // One probe process, isolated from the caller's Python settings.
        let result: SubprocessResult
        do {
            var environment = probeEnvironment()
            if !report.imports.isEmpty, let start = report.start { environment.append(start.probeEnvironmentEntry) }
            let source = probeSource(deep: report.deep)
            let arguments = [venv] + report.imports + (report.deep ? ["--deep"] : [])
            func probe(_ code: String, _ extra: [String]) throws(SystemError) -> SubprocessResult {
                try Subprocess.run(start, ["-I", "-c", code] + arguments, environment: environment + extra,
                                   workingDirectory: "/", timeoutSeconds: timeoutSeconds)
            }
            if let file = ProbeCache.file(for: source, state: report.probeCache) {
                let cached = try probe(ProbeCache.loader, [ProbeCache.variable + "=" + file])
                // A file the loader could not load: the source itself, as without a cache.
                result = cached.termination == .exited(ProbeCache.loaderFailed) && probeOutput(cached) == nil
                    ? try probe(source, []) : cached
            } else {
                result = try probe(source, [])
            }
        } catch {
            report.add("interpreter", ok: false, "interpreter-failed: \(shown): \(error)")
            return
        }
        if result.timedOut {
            report.transient = true
            report.add("interpreter", ok: false, "probe-timeout: \(shown) gave no answer within \(Int(timeoutSeconds)) s")
            return
        }
        guard let json = probeOutput(result) else {
            let last = result.errorText.split(separator: "\n").last.map(String.init) ?? ""
            report.add("interpreter", ok: false, "interpreter-failed: \(shown) \(result.termination)" + (last.isEmpty ? "" : ": \(last)"))
            return
        }
        report.add("interpreter", ok: true)
        let version = json["version"]?.stringValue ?? ""
        report.pythonVersion = version

        // Version drift: site-packages of 3.11 are ignored by 3.12.
        if let mm = majorMinor(of: version) {
            if let cfg = config?.majorMinor, cfg != mm {
                report.add("version", ok: false, "version-mismatch: pyvenv.cfg says \(cfg), the interpreter is \(version) (lib/python\(cfg) is ignored)")
            } else if !isDirectory(venv + "/lib/python\(mm)") {
                report.add("version", ok: false, "version-mismatch: the interpreter is \(version) but \(venv)/lib/python\(mm) does not exist")
            } else {
                report.add("version", ok: true)
            }
        }

        for c in json["checks"]?.arrayValue ?? [] {
            guard let name = c["name"]?.stringValue, let ok = c["ok"]?.boolValue else { continue }
            let severity: CheckResult.Severity = c["severity"]?.stringValue == "degraded" ? .degraded : .broken
            report.add(name, ok: ok, c["reason"]?.stringValue ?? "", severity: severity)
        }
        for d in json["distributions"]?.arrayValue ?? [] {
            if let n = d["name"]?.stringValue, let v = d["version"]?.stringValue {
                report.distributions.append(Distribution(name: n, version: v))
            }
        }
        report.distributions.sort { $0.name.lowercased() < $1.name.lowercased() }
        judgeDependencies(&report, json)

        // The watch list: where a change could break what was just verified.
        for key in ["stdlib", "platstdlib"] {
            if let p = json[key]?.stringValue, !p.isEmpty { report.watchPaths.append(p) }
        }
        // The base install's standard library, its zip and lib-dynload, as sys.path has them (inside
        // a venv sysconfig's platstdlib is the venv's own lib/pythonX.Y, not the base lib-dynload).
        for p in json["base_paths"]?.arrayValue ?? [] { if let s = p.stringValue { report.watchPaths.append(s) } }
        for p in json["site_packages"]?.arrayValue ?? [] { if let s = p.stringValue { report.watchPaths.append(s) } }
        for p in json["shared_objects"]?.arrayValue ?? [] { if let s = p.stringValue { report.watchPaths.append(s) } }
        if let imports = json["imports"]?.objectValue {
            for (_, files) in imports { for f in files.arrayValue ?? [] { if let s = f.stringValue { report.watchPaths.append(s) } } }
        }
        if let ssl = json["ssl_module"]?.stringValue, !ssl.isEmpty { report.watchPaths.append(ssl) }
    }

    /// Dependencies complete (Dependencies.swift), and with --deep the files that differ from RECORD:
    /// broken in the closure of the --import modules' distributions, degraded elsewhere.
    static func judgeDependencies(_ report: inout CheckReport, _ json: JSONValue) {
        var dists: [InstalledDistribution] = []
        for d in json["installed"]?.arrayValue ?? [] {
            guard let name = d["name"]?.stringValue, let version = d["version"]?.stringValue,
                  let path = d["path"]?.stringValue, let sp = d["sp"]?.stringValue else { continue }
            dists.append(InstalledDistribution(name: name, version: version,
                                               requires: d["requires"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                               requested: d["requested"]?.boolValue ?? false, distInfo: path, sitePackages: sp))
        }
        var environment: [String: String] = [:]
        for (k, v) in json["marker_environment"]?.objectValue ?? [] { if let s = v.stringValue { environment[k] = s } }
        let leftovers = json["leftovers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let deps = DependencyCheck(dists, modules: report.imports, leftovers: leftovers, environment: environment)
        for f in deps.findings { report.add(f.name, ok: false, f.reason, severity: f.severity) }
        if deps.findings.isEmpty { report.add("dependencies", ok: true) }

        guard report.deep else { return }
        let mismatches = json["record_mismatches"]?.arrayValue ?? []
        for m in mismatches {
            guard let name = m["name"]?.stringValue else { continue }
            let files = m["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let index = dists.firstIndex { $0.name == name }
            let version = index.map { dists[$0].version } ?? ""
            let more = files.count > 3 ? " +\(files.count - 3) more" : ""
            report.add("record:" + name, ok: false, "record-mismatch: \(name) \(version): " + files.prefix(3).joined(separator: ", ") + more,
                       severity: index.map { deps.importClosure.contains($0) } == true ? .broken : .degraded)
        }
        if mismatches.isEmpty { report.add("record", ok: true) }
    }

    /// The caller's environment without the variables that redirect Python (the probe also runs
    /// with -I, which ignores PYTHON*; this covers interpreters and wrappers that do not).
    static func probeEnvironment() -> [String] {
        Environment.all().filter { entry in
            !(entry.hasPrefix("PYTHON") || entry.hasPrefix("__PYVENV_LAUNCHER__=") || entry.hasPrefix("VIRTUAL_ENV=")
              || entry.hasPrefix(AgentStart.probeVariable + "=") || entry.hasPrefix(ProbeCache.variable + "="))
        }
    }

    /// The JSON after the probe's marker, or nil when the probe did not get that far.
    static func probeOutput(_ result: SubprocessResult) -> JSONValue? {
        guard result.termination == .exited(0) else { return nil }
        // The last line that starts with the marker (a module may print anything before it), found
        // in the bytes: splitting the whole output as a String into Characters was 3.7M instructions
        // of a 12M check on the bench venv (callgrind), and took a "\r" before the marker's line
        // break as one grapheme with it, so the marker's line was not seen.
        let out = result.standardOutput
        let marker = Array(probeMarker.utf8)
        var end = out.count  // the line looked at is out[start..<end]
        while true {
            var start = end
            while start > 0, out[start - 1] != 0x0A { start -= 1 }
            if end - start >= marker.count, out[start..<(start + marker.count)].elementsEqual(marker) {
                return JSONValue.parse(String(decoding: out[(start + marker.count)..<end], as: UTF8.self))
            }
            if start == 0 { return nil }
            end = start - 1
        }
    }
}
