import GuardedCore
import GuardedSystem

/// The probe's source kept as a file in `<state>/probe/`, so Python compiles it once and then loads
/// the bytecode it caches in `__pycache__` beside it. Measured here: compiling the probe's ~16 KB of
/// source took 4 to 7 ms of every full check, unmarshalling the cached bytecode 0.2 ms.
///
/// The directory is the state directory's (0700, reached without a link, the checking user's
/// alone), because the bytecode there runs as that user: whoever can write it already is that
/// user. Without a usable state directory, or when anything about the file fails, the probe runs
/// from `-c` as before (`FullCheck`).
enum ProbeCache {
    /// The variable the loader takes the file's path from (removed there before the probe runs).
    static let variable = "GUARDED_RUN_PROBE_FILE"
    /// The loader's exit status when it could not load the file: the caller then runs the source.
    static let loaderFailed: Int32 = 113

    /// Run with `-c`: loads the file through importlib's source loader (which checks the cached
    /// bytecode against the file and writes it when missing) and runs it in `__main__`, as `-c`
    /// would have run the source.
    static let loader = """
    import sys, os
    try:
        from importlib.machinery import SourceFileLoader
        _path = os.environ.pop("\(variable)")
        _code = SourceFileLoader("guarded_run_probe", _path).get_code("guarded_run_probe")
    except BaseException:
        sys.exit(\(loaderFailed))
    exec(_code, globals())
    """

    /// The probe file for `source` below `state` (written atomically, 0600, only when its bytes
    /// differ; not fsync'd: a lost file is written again), or nil when there is none to use.
    static func file(for source: String, state: StateDirectory?) -> String? {
        guard let state, state.path.hasPrefix("/") else { return nil }
        let name = "probe-" + fnv1a64Hex(source) + ".py"
        let bytes = Array(source.utf8)
        if state.readFile(["probe"], name, limit: 1 << 20) != bytes {
            do { try state.writeFile(["probe"], name, bytes, durable: false) } catch { return nil }
        }
        return state.path + "/probe/" + name
    }
}
