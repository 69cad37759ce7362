import GuardedCheck
import GuardedCore
import GuardedSystem

/// Builds a venv at a path: `uv venv` + `uv pip install` when uv is on PATH, else `python -m venv`
/// + pip. pip and setuptools in the known-good set come from the interpreter's own ensurepip (bundled,
/// offline), so a venv that had pip gets `python -m venv` with pip, whichever installer runs.
struct Installer: Sendable {
    enum Kind: Sendable, Equatable {
        case uv(String)
        case pip
    }

    let kind: Kind
    let interpreter: String
    let findLinks: [String]
    let timeoutSeconds: Double
    /// Root rebuilding another user's venv: the installer runs as that user.
    var runAs: UserIdentity? = nil

    /// uv when it is on PATH, else pip.
    static func choose() -> Kind {
        if let uv = Subprocess.findExecutable("uv") { return .uv(uv) }
        return .pip
    }

    static var defaultTimeout: Double { Setting.repairTimeout.value }

    var name: String {
        switch kind {
        case .uv(let path): return "uv (\(path))"
        case .pip: return "pip"
        }
    }

    /// Packages the venv creation itself provides (ensurepip), never pinned from the known-good set.
    static let bootstrapPackages: Set<String> = ["pip", "setuptools"]

    /// The file every rebuild installs from, inside the build (it stays in the generation as the
    /// record of what was asked for).
    static let requirementsFileName = "guarded-run-requirements.txt"

    /// Creates the venv at `path` (which must not exist) and installs `source` into it, from one
    /// pinned requirements file written into the build.
    func build(at path: String, source: RebuildSource) -> Result<Void, RepairError> {
        let withPip = source.withPip
        let toInstall = source.installable()

        // 1. The venv itself.
        if case .uv(let uv) = kind, !withPip {
            if let failure = step("create", uv, ["venv", "--quiet", "--no-python-downloads", "--python", interpreter, path]) { return .failure(failure) }
        } else {
            if let failure = step("create", interpreter, ["-m", "venv"] + (withPip ? [] : ["--without-pip"]) + [path]) { return .failure(failure) }
        }
        TestHooks.reached("create")
        if toInstall.requirements.isEmpty { return .success(()) }

        // 2. The packages, from one file either installer takes.
        let file = path + "/" + Installer.requirementsFileName
        func writeRequirements() -> RepairError? {
            do {
                // No fsync: the whole build is made durable by one syncfs before its promotion.
                try writeFileAtomically(file, Array(toInstall.fileText.utf8), mode: 0o644, sync: false)
                if let user = runAs { try changeOwner(file, uid: user.uid, gid: user.gid) }
                return nil
            } catch {
                return .system(step: "requirements file", error)
            }
        }
        if let e = writeRequirements() { return .failure(e) }
        let install = ["-r", file]
        let links = linkOptions
        let python = path + "/bin/python"
        switch kind {
        case .uv(let uv):
            if let failure = step("install", uv, ["pip", "install", "--quiet", "--python", python] + links + install) { return .failure(failure) }
        case .pip:
            let pipOptions = ["install", "--disable-pip-version-check", "--no-input", "--quiet"] + links + install
            if withPip {
                if let failure = step("install", python, ["-m", "pip"] + pipOptions) { return .failure(failure) }
            } else if let failure = step("install", interpreter, ["-m", "pip", "--python", python] + pipOptions) {
                // The base interpreter has no pip (or one older than 22.3, without --python): give the
                // new venv its own from ensurepip and install with that.
                guard failure.description.contains("No module named pip") || failure.description.contains("no such option: --python") else {
                    return .failure(failure)
                }
                try? removeTree(path)
                if let again = step("create", interpreter, ["-m", "venv", path]) { return .failure(again) }
                if let e = writeRequirements() { return .failure(e) }
                if let again = step("install", python, ["-m", "pip"] + pipOptions) { return .failure(again) }
            }
        }
        TestHooks.reached("install")
        return .success(())
    }

    /// The caller's environment (installerEnvironment); as another user, that user's HOME and no
    /// shared caches (root's cache directories are not theirs to write, nor theirs to poison).
    var environment: [String] {
        var env = installerEnvironment()
        guard let user = runAs else { return env }
        env.removeAll { $0.hasPrefix("HOME=") || $0.hasPrefix("UV_CACHE_DIR=") || $0.hasPrefix("PIP_CACHE_DIR=") || $0.hasPrefix("XDG_CACHE_HOME=") }
        env += ["HOME=" + (homeDirectory(ofUser: user.uid) ?? "/nonexistent"), "UV_NO_CACHE=1", "PIP_NO_CACHE_DIR=1"]
        return env
    }

    /// `--find-links` for the installer, and the other installer's offline settings translated, so
    /// pip and uv see the same wheelhouses and the same "no index": PIP_FIND_LINKS / PIP_NO_INDEX
    /// for uv, UV_FIND_LINKS / UV_NO_INDEX / UV_OFFLINE for pip.
    var linkOptions: [String] {
        var dirs = findLinks
        var noIndex = false
        func truthy(_ name: String) -> Bool {
            guard let v = Environment.value(name)?.lowercased() else { return false }
            return ["1", "true", "yes", "on"].contains(v)
        }
        func listed(_ name: String) -> [String] {
            (Environment.value(name) ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }).map(String.init)
        }
        switch kind {
        case .uv:
            if Environment.value("UV_FIND_LINKS") == nil { dirs += listed("PIP_FIND_LINKS") }
            noIndex = Environment.value("UV_NO_INDEX") == nil && truthy("PIP_NO_INDEX")
        case .pip:
            if Environment.value("PIP_FIND_LINKS") == nil { dirs += listed("UV_FIND_LINKS") }
            noIndex = Environment.value("PIP_NO_INDEX") == nil && (truthy("UV_NO_INDEX") || truthy("UV_OFFLINE"))
        }
        return dirs.flatMap { ["--find-links", $0] } + (noIndex ? ["--no-index"] : [])
    }

    /// Every local wheelhouse the installer will read (for the safety rules).
    static func localFindLinks(_ options: [String]) -> [String] {
        var dirs = options
        for name in ["PIP_FIND_LINKS", "UV_FIND_LINKS"] {
            dirs += (Environment.value(name) ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }).map(String.init)
        }
        return dirs.compactMap { d in d.hasPrefix("/") ? d : filePath(fromURL: d) }
    }

    /// Runs one installer command; nil on success, else the reason (its last stderr line).
    private func step(_ what: String, _ executable: String, _ arguments: [String]) -> RepairError? {
        if let signal = StopSignals.received { return .signal(signal) }
        let result: SubprocessResult
        do {
            result = try Subprocess.run(executable, arguments, environment: environment, workingDirectory: "/",
                                        timeoutSeconds: timeoutSeconds, cancelWhen: { StopSignals.received != nil }, runAs: runAs)
        } catch {
            return .system(step: what, error)
        }
        if result.cancelled { return .signal(StopSignals.received ?? 0) }
        if result.timedOut { return .step("\(what): \(baseName(of: executable)) gave no answer within \(Int(timeoutSeconds)) s") }
        guard result.succeeded else {
            // The installer's last error, with the lines that explain it (uv puts the why after it).
            let lines = (result.errorText + "\n" + result.outputText).split(separator: "\n")
                .map { trimmedLine($0.filter { !"│╰─▶×".contains($0) }) }.filter { !$0.isEmpty }
            let start = lines.lastIndex(where: { $0.lowercased().contains("error") }) ?? max(0, lines.count - 1)
            var last = lines.isEmpty ? "" : lines[start...].joined(separator: " ")
            if last.count > 400 { last = String(last.prefix(400)) + "…" }
            return .step("\(what): \(baseName(of: executable)) \(result.termination)" + (last.isEmpty ? "" : ": \(last)"))
        }
        return nil
    }
}
