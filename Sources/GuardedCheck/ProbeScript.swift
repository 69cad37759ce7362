/// The Python side of the full check: one process, run as `<venv>/bin/python -I -c <script> <venv> <module>...
/// [--deep]` with cwd `/` and a timeout (the `--import` checks then move to the agent's working
/// directory and search path, from GUARDED_RUN_PROBE_START: `AgentStart`). It prints one JSON object after a marker line, so anything an imported
/// module prints cannot be mistaken for the result. Kept to the standard library of Python 3.8+.
/// `probeLibrary` (ProbeLibrary.swift: redaction, dependencies, --deep) is defined first.
let probeMarker = "@@guarded-run-probe@@"

func probeSource(deep: Bool) -> String { probeLibrary + "\n" + (deep ? probeDeepLibrary + "\n" : "") + probeScript }

let probeScript = #"""
import sys, os
MARK = "@@guarded-run-probe@@"
def _orphan_watch(parent):
    # If guarded-run dies (SIGKILL), do not linger in a slow import: exit once reparented.
    import time
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(70)
out = {"checks": [], "imports": {}, "distributions": [], "shared_objects": []}
def check(name, ok, reason="", severity="broken"):
    out["checks"].append({"name": name, "ok": bool(ok), "reason": reason, "severity": severity})
def describe(e):
    text = str(e).strip().splitlines()
    return type(e).__name__ + (": " + text[-1] if text else "")
venv = sys.argv[1]
wanted = [a for a in sys.argv[2:] if not a.startswith("-")]
deep = "--deep" in sys.argv[2:]
if wanted or deep:
    # Only an --import module's code and --deep's hashing can run long; without them the probe is
    # done in tens of milliseconds anyway, and starting the thread cost 3.4M instructions (1%).
    import _thread
    _thread.start_new_thread(_orphan_watch, (os.getppid(),))
real_stdout = sys.stdout
sys.stdout = sys.stderr
out["version"] = "%d.%d.%d" % tuple(sys.version_info[:3])
out["prefix"] = sys.prefix
out["base_prefix"] = sys.base_prefix
out["executable"] = sys.executable
try:
    same = os.path.samefile(sys.prefix, venv)
except OSError:
    same = False
if sys.prefix == sys.base_prefix:
    check("venv", False, "not-a-venv: %s runs as the base interpreter (sys.prefix %s): pyvenv.cfg was not honoured" % (sys.executable, sys.prefix))
elif not same:
    check("venv", False, "not-this-venv: sys.prefix is %s, not %s" % (sys.prefix, venv))
else:
    check("venv", True)
try:
    paths = venv_paths()
    if paths is None:
        # Only where venv_paths' formulas might not hold: importing sysconfig is about 1 ms.
        import sysconfig
        paths = sysconfig.get_paths()
    out["stdlib"] = paths.get("stdlib", "")
    out["platstdlib"] = paths.get("platstdlib", "")
    out["purelib"] = paths.get("purelib", "")
    out["platlib"] = paths.get("platlib", "")
except BaseException as e:
    check("stdlib", False, "stdlib-broken: sysconfig: " + describe(e))
try:
    import site
    out["site_packages"] = [p for p in site.getsitepackages() if os.path.isdir(p)]
except BaseException as e:
    out["site_packages"] = []
# The base install's stdlib, its zip and lib-dynload as this interpreter searches them: inside a
# venv sysconfig's platstdlib is the venv's own lib/pythonX.Y, never the base lib-dynload.
bases = tuple(os.path.join(os.path.realpath(b), "") for b in {sys.base_prefix, sys.base_exec_prefix})
out["base_paths"] = [p for p in sys.path if p and os.path.exists(p) and os.path.join(os.path.realpath(p), "").startswith(bases)]
try:
    import _ssl
    out["ssl_module"] = getattr(_ssl, "__file__", "")
    import ssl
    ssl.create_default_context()
    out["openssl"] = ssl.OPENSSL_VERSION
    check("ssl", True)
except BaseException as e:
    check("ssl", False, "ssl-broken: " + describe(e))
# The --import checks run where the agent would (AgentStart.swift): its working directory and the
# head of its sys.path, applied only now, after the standard library's checks above.
agent_start = os.environ.pop("GUARDED_RUN_PROBE_START", "")
if wanted and agent_start:
    agent_start = [bytes.fromhex(x).decode("utf-8", "surrogateescape") for x in agent_start.split(":")]
    try:
        os.chdir(agent_start[0])
    except OSError as e:
        check("working-directory", False, "working-directory-unusable: %s: %s" % (agent_start[0], e.strerror))
    sys.path[0:0] = agent_start[1:]
for name in wanted:
    try:
        __import__(name)
        mod = sys.modules[name]
        files = []
        f = getattr(mod, "__file__", None)
        if f:
            files.append(os.path.abspath(f))
            if os.path.basename(f).startswith("__init__."):
                files.append(os.path.dirname(os.path.abspath(f)))
        out["imports"][name] = files
        check("import:" + name, True)
    except BaseException as e:
        check("import:" + name, False, "import-failed: %s: %s" % (name, describe_import_failure_lazily(e, venv)))
leftovers, incomplete, dists, has_pip, installed = [], [], [], False, []
for sp in out["site_packages"]:
    try:
        entries = sorted((e.name, e.is_dir()) for e in os.scandir(sp))
    except OSError as e:
        check("site-packages", False, "site-packages-unreadable: %s: %s" % (sp, e.strerror))
        continue
    for n, is_dir in entries:
        full = os.path.join(sp, n)
        if n.startswith("~"):
            leftovers.append(full)
        if n.endswith(".dist-info") and is_dir:
            # One listing per dist-info and METADATA's headers read as bytes: the cheapest way
            # through a few hundred distributions (a text-mode open costs a decoder per file).
            try:
                inside = set(os.listdir(full))
            except OSError:
                inside = set()
            missing = [m for m in ("METADATA", "RECORD") if m not in inside]
            if missing:
                incomplete.append("%s (no %s)" % (n, " or ".join(missing)))
            meta = {}
            requires = []
            try:
                with open(os.path.join(full, "METADATA"), "rb") as fh:
                    head = fh.read(16384)
                    while b"\n\n" not in head and b"\r\n\r\n" not in head and len(head) < (1 << 20):
                        more = fh.read(65536)
                        if not more:
                            break
                        head += more
                for line in head.decode("utf-8", "replace").splitlines():
                    if not line.strip():
                        break
                    k, _, v = line.partition(":")
                    if k in ("Name", "Version") and k not in meta:
                        meta[k] = v.strip()
                    elif k == "Requires-Dist":
                        requires.append(v.strip())
            except OSError:
                pass
            stem = n[:-len(".dist-info")]
            name = meta.get("Name") or stem.rpartition("-")[0] or stem
            version = meta.get("Version") or stem.rpartition("-")[2]
            dists.append({"name": name, "version": version})
            installed.append({"name": name, "version": version, "path": full, "sp": sp, "requires": requires,
                              "requested": "REQUESTED" in inside})
            if name.lower() == "pip":
                has_pip = True
out["distributions"] = dists
check("install-leftovers", not leftovers,
      "install-leftovers: %s (an interrupted install)" % ", ".join(leftovers[:5]) + (" +%d more" % (len(leftovers) - 5) if len(leftovers) > 5 else ""),
      "degraded")
check("dist-info", not incomplete, "dist-info-incomplete: " + ", ".join(incomplete[:5]), "degraded")
# Dependencies are judged by guarded-run (Dependencies.swift) from these.
out["installed"] = installed
out["leftovers"] = leftovers
out["marker_environment"] = marker_environment()
if deep:
    out["record_mismatches"] = deep_checks(installed)
if has_pip:
    pip_check(installed, check)
venv_real = os.path.realpath(venv)
def loaded_images():
    try:
        with open("/proc/self/maps") as fh:
            return [parts[5].strip() for parts in (line.split(None, 5) for line in fh) if len(parts) == 6]
    except OSError:
        pass
    # No /proc (macOS): ask dyld for the loaded images; failing that, the extension modules' files.
    try:
        import ctypes
        dyld = ctypes.CDLL(None)
        dyld._dyld_get_image_name.restype = ctypes.c_char_p
        dyld._dyld_get_image_name.argtypes = [ctypes.c_uint32]
        names = [dyld._dyld_get_image_name(i) for i in range(dyld._dyld_image_count())]
        return [os.fsdecode(n) for n in names if n]
    except Exception:
        return [os.path.abspath(f) for f in (getattr(m, "__file__", None) for m in list(sys.modules.values()))
                if isinstance(f, str) and f.endswith((".so", ".dylib"))]
seen = []
for p in dict.fromkeys(loaded_images()):
    name = os.path.basename(p)
    shared = name.endswith((".so", ".dylib")) or ".so." in name or (name == "Python" and ".framework/" in p)
    # What a Python or OpenSSL upgrade replaces: libpython, _ssl and the libssl and libcrypto it
    # maps, and extension modules inside the venv. (libc and friends change with the OS, which does
    # not break a venv, and would cost a stat on every start; macOS's system libraries live in the
    # dyld shared cache, not at their paths.) Each path once (a library has several mappings), and
    # only the kept ones stat'ed: 0.4M instructions less.
    if (p.startswith("/") and shared and (name.startswith(("libpython", "Python", "_ssl", "libssl", "libcrypto")) or p.startswith(venv_real + "/"))
            and os.path.exists(p)):
        seen.append(p)
out["shared_objects"] = seen
write_result(real_stdout, MARK, out)
"""#
