/// The Python side of the full check: one process, run as `<venv>/bin/python -I -c <script> <venv> <module>...`
/// with cwd `/` and a timeout. It prints one JSON object after a marker line, so anything an imported
/// module prints cannot be mistaken for the result. Kept to the standard library of Python 3.8+.
let probeMarker = "@@guarded-run-probe@@"

let probeScript = #"""
import sys, os, json
MARK = "@@guarded-run-probe@@"
def _orphan_watch(parent):
    # If guarded-run dies (SIGKILL), do not linger in a slow import: exit once reparented.
    import time
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(70)
import _thread
_thread.start_new_thread(_orphan_watch, (os.getppid(),))
out = {"checks": [], "imports": {}, "distributions": [], "shared_objects": []}
def check(name, ok, reason="", severity="broken"):
    out["checks"].append({"name": name, "ok": bool(ok), "reason": reason, "severity": severity})
def describe(e):
    text = str(e).strip().splitlines()
    return type(e).__name__ + (": " + text[-1] if text else "")
venv = sys.argv[1]
wanted = sys.argv[2:]
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
try:
    import _ssl
    out["ssl_module"] = getattr(_ssl, "__file__", "")
    import ssl
    ssl.create_default_context()
    out["openssl"] = ssl.OPENSSL_VERSION
    check("ssl", True)
except BaseException as e:
    check("ssl", False, "ssl-broken: " + describe(e))
import importlib
for name in wanted:
    try:
        mod = importlib.import_module(name)
        files = []
        f = getattr(mod, "__file__", None)
        if f:
            files.append(os.path.abspath(f))
            if os.path.basename(f).startswith("__init__."):
                files.append(os.path.dirname(os.path.abspath(f)))
        out["imports"][name] = files
        check("import:" + name, True)
    except BaseException as e:
        check("import:" + name, False, "import-failed: %s: %s" % (name, describe(e)))
leftovers, incomplete, dists, has_pip = [], [], [], False
for sp in out["site_packages"]:
    try:
        names = sorted(os.listdir(sp))
    except OSError as e:
        check("site-packages", False, "site-packages-unreadable: %s: %s" % (sp, e.strerror))
        continue
    for n in names:
        full = os.path.join(sp, n)
        if n.startswith("~"):
            leftovers.append(full)
        if n.endswith(".dist-info") and os.path.isdir(full):
            missing = [m for m in ("METADATA", "RECORD") if not os.path.isfile(os.path.join(full, m))]
            if missing:
                incomplete.append("%s (no %s)" % (n, " or ".join(missing)))
            meta = {}
            try:
                with open(os.path.join(full, "METADATA"), encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        if not line.strip():
                            break
                        k, _, v = line.partition(":")
                        if k in ("Name", "Version") and k not in meta:
                            meta[k] = v.strip()
            except OSError:
                pass
            stem = n[:-len(".dist-info")]
            name = meta.get("Name") or stem.rpartition("-")[0] or stem
            version = meta.get("Version") or stem.rpartition("-")[2]
            dists.append({"name": name, "version": version})
            if name.lower() == "pip":
                has_pip = True
out["distributions"] = dists
check("install-leftovers", not leftovers,
      "install-leftovers: %s (an interrupted install)" % ", ".join(leftovers[:5]) + (" +%d more" % (len(leftovers) - 5) if len(leftovers) > 5 else ""),
      "degraded")
check("dist-info", not incomplete, "dist-info-incomplete: " + ", ".join(incomplete[:5]), "degraded")
if has_pip:
    try:
        import pip
        check("pip", True)
    except BaseException as e:
        check("pip", False, "pip-broken: " + describe(e), "degraded")
venv_real = os.path.realpath(venv)
try:
    with open("/proc/self/maps") as fh:
        seen = []
        for line in fh:
            parts = line.split(None, 5)
            if len(parts) == 6:
                p = parts[5].strip()
                if not p.startswith("/") or not (p.endswith(".so") or ".so." in p) or p in seen:
                    continue
                # What a Python or OpenSSL upgrade replaces: libpython, _ssl and the libssl and
                # libcrypto it maps, and extension modules inside the venv. (libc and friends change
                # with the OS, which does not break a venv, and would cost a stat on every start.)
                name = os.path.basename(p)
                if name.startswith(("libpython", "_ssl", "libssl", "libcrypto")) or p.startswith(venv_real + "/"):
                    seen.append(p)
        out["shared_objects"] = seen
except OSError:
    if out.get("ssl_module"):
        out["shared_objects"] = [out["ssl_module"]]
real_stdout.write("\n" + MARK + json.dumps(out) + "\n")
real_stdout.flush()
"""#
