import GuardedCheck
import GuardedCore
import GuardedSystem

/// What a generation is built from.
enum PackageSource: Sendable {
    /// `--requirements FILE`: a requirements.txt, a pip-compile / `uv pip compile` lock, or (uv) a pylock.toml.
    case requirements(String)
    /// The known-good set of the last passing check, pinned exactly (`name==version`).
    case knownGood([Distribution])

    var description: String {
        switch self {
        case .requirements(let file): return "requirements \(file)"
        case .knownGood: return "known-good"
        }
    }

    var packageCount: Int? {
        if case .knownGood(let list) = self { return list.count }
        return nil
    }
}

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

    /// uv when it is on PATH, else pip.
    static func choose() -> Kind {
        if let uv = Subprocess.findExecutable("uv") { return .uv(uv) }
        return .pip
    }

    static var defaultTimeout: Double {
        if let t = Environment.value("GUARDED_RUN_REPAIR_TIMEOUT"), let v = Double(t), v > 0 { return v }
        return 900
    }

    var name: String {
        switch kind {
        case .uv(let path): return "uv (\(path))"
        case .pip: return "pip"
        }
    }

    /// Packages the venv creation itself provides (ensurepip), never pinned from the known-good set.
    static let bootstrapPackages: Set<String> = ["pip", "setuptools"]

    /// Creates the venv at `path` (which must not exist) and installs `source` into it.
    func build(at path: String, source: PackageSource) -> Result<Void, RepairStepError> {
        var withPip = false
        var install: [String] = []
        switch source {
        case .requirements(let file):
            install = ["-r", file]
        case .knownGood(let list):
            withPip = list.contains { $0.name.lowercased() == "pip" }
            install = list.filter { !Installer.bootstrapPackages.contains($0.name.lowercased()) }.map { "\($0.name)==\($0.version)" }
        }

        // 1. The venv itself.
        if case .uv(let uv) = kind, !withPip {
            if let failure = step("create", uv, ["venv", "--quiet", "--no-python-downloads", "--python", interpreter, path]) { return .failure(failure) }
        } else {
            if let failure = step("create", interpreter, ["-m", "venv"] + (withPip ? [] : ["--without-pip"]) + [path]) { return .failure(failure) }
        }
        TestHooks.reached("create")
        if install.isEmpty { return .success(()) }

        // 2. The packages.
        let links = findLinks.flatMap { ["--find-links", $0] }
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
                guard failure.message.contains("No module named pip") || failure.message.contains("no such option: --python") else {
                    return .failure(failure)
                }
                try? removeTree(path)
                if let again = step("create", interpreter, ["-m", "venv", path]) { return .failure(again) }
                if let again = step("install", python, ["-m", "pip"] + pipOptions) { return .failure(again) }
            }
        }
        TestHooks.reached("install")
        return .success(())
    }

    /// Runs one installer command; nil on success, else the reason (its last stderr line).
    private func step(_ what: String, _ executable: String, _ arguments: [String]) -> RepairStepError? {
        if let signal = StopSignals.received { return RepairStepError("interrupted: signal \(signal)") }
        let result: SubprocessResult
        do {
            result = try Subprocess.run(executable, arguments, environment: installerEnvironment(), workingDirectory: "/",
                                        timeoutSeconds: timeoutSeconds, cancelWhen: { StopSignals.received != nil })
        } catch {
            return RepairStepError("\(what): \(error)")
        }
        if result.cancelled { return RepairStepError("interrupted: signal \(StopSignals.received ?? 0)") }
        if result.timedOut { return RepairStepError("\(what): \(baseName(of: executable)) gave no answer within \(Int(timeoutSeconds)) s") }
        guard result.succeeded else {
            // The installer's last error, with the lines that explain it (uv puts the why after it).
            let lines = (result.errorText + "\n" + result.outputText).split(separator: "\n")
                .map { trimmedLine($0.filter { !"│╰─▶×".contains($0) }) }.filter { !$0.isEmpty }
            let start = lines.lastIndex(where: { $0.lowercased().contains("error") }) ?? max(0, lines.count - 1)
            var last = lines.isEmpty ? "" : lines[start...].joined(separator: " ")
            if last.count > 400 { last = String(last.prefix(400)) + "…" }
            return RepairStepError("\(what): \(baseName(of: executable)) \(result.termination)" + (last.isEmpty ? "" : ": \(last)"))
        }
        return nil
    }
}
