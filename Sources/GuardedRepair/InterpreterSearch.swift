import GuardedCheck
import GuardedCore
import GuardedSystem

/// The interpreter a new generation is built with, and why that one.
public struct InterpreterChoice: Sendable, Equatable {
    public var path: String
    public var version: String
    public var reason: String
}

/// Finds an interpreter for a rebuild (docs/auto-repair.md, "Interpreter"): the venv's own `home`
/// if it still works; else `--python`; else one of the same major.minor on PATH and in the usual
/// install places, stable paths first (a Homebrew `opt` link outlives the Cellar directory it
/// points into; a pyenv shim or a Cellar path is the last resort).
enum InterpreterSearch {
    /// `X.Y.Z` of a working interpreter, or nil when it does not run.
    static func version(of path: String) -> String? {
        guard isExecutable(path),
              let r = try? Subprocess.run(path, ["-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                          environment: installerEnvironment(), workingDirectory: "/",
                                          timeoutSeconds: 20),
              r.succeeded else { return nil }
        let text = trimmedLine(r.outputText)
        return majorMinor(of: text) == nil ? nil : text
    }

    static func choose(home: String?, wanted: String?, explicit: String?) -> Result<InterpreterChoice, RepairError> {
        var notes: [String] = []
        if let home, let mm = wanted {
            for name in ["python\(mm)", "python3", "python"] {
                let candidate = home + "/" + name
                guard fileExists(candidate) else { continue }
                if let v = version(of: candidate), majorMinor(of: v) == mm {
                    return .success(InterpreterChoice(path: candidate, version: v, reason: "the venv's home \(home) still works"))
                }
            }
            notes.append(fileExists(home) ? "the venv's home \(home) has no working python\(mm)" : "the venv's home \(home) is gone")
        } else if home == nil {
            notes.append("pyvenv.cfg names no home")
        }
        if let explicit {
            guard let v = version(of: explicit) else {
                return .failure(.step("interpreter: --python \(explicit) does not run"))
            }
            return .success(InterpreterChoice(path: explicit, version: v, reason: "--python" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")))
        }
        guard let mm = wanted else {
            return .failure(.step("interpreter: the venv's Python version is unknown (no known-good set, no version in pyvenv.cfg); pass --python PATH"))
        }
        for candidate in candidates(majorMinor: mm) {
            if let v = version(of: candidate), majorMinor(of: v) == mm {
                notes.insert("found python\(mm) at \(candidate)", at: 0)
                return .success(InterpreterChoice(path: candidate, version: v, reason: notes.joined(separator: "; ")))
            }
        }
        return .failure(.step("interpreter: no working python\(mm) on PATH or in the usual install places" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))") + "; pass --python PATH"))
    }

    /// Every `pythonX.Y` on PATH and in the usual places, most stable first, without duplicates.
    static func candidates(majorMinor mm: String) -> [String] {
        let exe = "python\(mm)"
        var found: [String] = []
        for dir in (Environment.value("PATH") ?? "").split(separator: ":") where dir.hasPrefix("/") {
            found.append(String(dir) + "/" + exe)
        }
        found += ["/opt/homebrew/opt/python@\(mm)/bin/\(exe)", "/usr/local/opt/python@\(mm)/bin/\(exe)"]
        for root in pyenvRoots() {
            let versions = ((try? directoryEntries(root + "/versions")) ?? []).filter { majorMinor(of: $0) == mm }
            found += versions.sorted(by: >).map { root + "/versions/\($0)/bin/\(exe)" }
        }
        found += ["/usr/bin/\(exe)", "/usr/local/bin/\(exe)"]
        var seen = Set<String>()
        let unique = found.filter { fileExists($0) && seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            let (ra, rb) = (rank(a.element), rank(b.element))
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    /// Lower is steadier: an `opt/python@X.Y` link survives upgrades; /usr/bin is the system's;
    /// then the rest of PATH; pyenv versions; a Cellar path or a shim last.
    static func rank(_ path: String) -> Int {
        if path.contains("/Cellar/") || path.contains("/shims/") { return 4 }
        if path.contains("/opt/python@") { return 0 }
        if path.hasPrefix("/usr/bin/") || path.hasPrefix("/usr/local/bin/") || path.hasPrefix("/bin/") { return 1 }
        if path.contains("/.pyenv/versions/") { return 3 }
        return 2
    }

    static func pyenvRoots() -> [String] {
        var roots: [String] = []
        if let r = Environment.value("PYENV_ROOT"), r.hasPrefix("/") { roots.append(r) }
        if let home = Environment.homeDirectory() { roots.append(home + "/.pyenv") }
        return roots
    }

    /// Directories whose change may make an interpreter appear: watched by the backoff record.
    static func installPlaces() -> [String] {
        var dirs = (Environment.value("PATH") ?? "").split(separator: ":").filter { $0.hasPrefix("/") }.map(String.init)
        dirs += ["/opt/homebrew/opt", "/usr/local/opt"] + pyenvRoots().map { $0 + "/versions" }
        return dirs
    }
}

/// The environment for the interpreter probes and installers: the caller's, so PIP_* and UV_*
/// settings (an offline index, a proxy, a cache) pass through, without the variables that would
/// point Python at another installation.
func installerEnvironment() -> [String] {
    Environment.all().filter { entry in
        !(entry.hasPrefix("PYTHONHOME=") || entry.hasPrefix("PYTHONPATH=") || entry.hasPrefix("VIRTUAL_ENV=")
          || entry.hasPrefix("__PYVENV_LAUNCHER__=") || entry.hasPrefix("PYTHONSTARTUP=")
          || entry.hasPrefix("GUARDED_RUN_TEST_"))
    }
}

/// `text` without leading and trailing blanks (spaces, tabs, CR, LF).
func trimmedLine<S: StringProtocol>(_ text: S) -> String {
    var s = Substring(text)
    while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
    return String(s)
}
