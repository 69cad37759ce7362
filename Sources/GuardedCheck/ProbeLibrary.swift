/// The probe's library, defined before `probeScript` runs: the marker environment for the
/// dependency check (Requirements.swift, Dependencies.swift), the result writer, the check of pip,
/// and, compiled only when a reason needs them, the redaction of environment values and the
/// description of an import failure. Short on purpose: every line of Python source costs about
/// 46,000 instructions to compile on every full check (see docs/performance.md).
public let probeLibrary = #"""
import sys as _sys, os as _os

# Compiling Python source costs about 46,000 instructions a line here (callgrind), so what only a
# failure needs is compiled only then: the redaction of environment values and the description of
# an import failure (its type and file:line, never its message, which may quote a secret).
_RARE = r'''
_SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "PASS", "CREDENTIAL", "AUTH", "COOKIE",
                 "SESSION", "PRIVATE", "SIGNATURE", "SALT", "DSN", "API")
_PLAIN_WORDS = ("true", "false", "yes", "no", "on", "off", "none", "null")

def _is_path(v):
    if v.startswith(("/", "~/", "./", "../")):
        return True
    parts = v.split(":")
    return len(parts) > 1 and all(p == "" or p.startswith("/") for p in parts)

def _env_secrets():
    # (value, strict): a secret-looking name's value is redacted wherever it occurs; any other
    # value that is not a path only where it is not a component of a path (a user name in /home/u).
    found = []
    for k, v in _os.environ.items():
        if not v or _is_path(v) or v.lower() in _PLAIN_WORDS:
            continue
        strict = any(w in k.upper() for w in _SECRET_WORDS)
        if len(v) >= (4 if strict else 8):
            found.append((v, strict))
    found.sort(key=lambda s: -len(s[0]))
    return found

_SECRETS = None

def redact(text):
    global _SECRETS
    if not text:
        return text
    if _SECRETS is None:
        _SECRETS = _env_secrets()
    for v, strict in _SECRETS:
        if v not in text:
            continue
        out, i = [], 0
        while True:
            j = text.find(v, i)
            if j < 0:
                break
            end = j + len(v)
            if strict or not ((j > 0 and text[j - 1] == "/") or (end < len(text) and text[end] == "/")):
                out.append(text[i:j] + "[redacted]")
            else:
                out.append(text[i:end])
            i = end
        out.append(text[i:])
        text = "".join(out)
    return text

def failure_location(e, venv):
    # The innermost traceback frame in the venv or outside the base standard library (the
    # project's own code), else the last frame.
    base = _os.path.realpath(_os.path.dirname(_os.__file__)) + "/"
    venv_real = _os.path.realpath(venv) + "/"
    tb, last, best = e.__traceback__, None, None
    while tb is not None:
        f = tb.tb_frame.f_code.co_filename
        last = (f, tb.tb_lineno)
        if not f.startswith("<"):
            real = _os.path.realpath(f)
            if real.startswith(venv_real) or not real.startswith(base):
                best = last
        tb = tb.tb_next
    loc = best or last
    return "%s:%d" % loc if loc else ""

def describe_import_failure(e, venv):
    if isinstance(e, (ImportError, SyntaxError)):
        # Their messages name modules and files: the point of the reason.
        text = str(e).strip().splitlines()
        return type(e).__name__ + (": " + text[-1] if text else "")
    where = failure_location(e, venv)
    return type(e).__name__ + (" at " + where if where else "")

'''

def rare():
    if "redact" not in globals():
        exec(_RARE, globals())

def describe_import_failure_lazily(e, venv):
    rare()
    return describe_import_failure(e, venv)

def marker_environment():
    # PEP 508's variables, for the marker evaluator in guarded-run (Requirements.swift).
    u = _os.uname()
    impl = _sys.implementation
    iv = impl.version
    ivs = "%d.%d.%d" % (iv.major, iv.minor, iv.micro)
    if iv.releaselevel != "final":
        ivs += iv.releaselevel[0] + str(iv.serial)
    return {"os_name": _os.name, "sys_platform": _sys.platform, "platform_machine": u.machine,
            "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl.name, impl.name),
            "platform_release": u.release, "platform_system": u.sysname, "platform_version": u.version,
            "python_version": "%d.%d" % _sys.version_info[:2], "python_full_version": _sys.version.split()[0],
            "implementation_name": impl.name, "implementation_version": ivs}

def venv_paths():
    # sysconfig.get_paths() for a POSIX venv, without its config-variable machinery (4.7M of the
    # probe's instructions, 1.4%): the "venv"/"posix_prefix" scheme's formulas. None (so sysconfig
    # answers) anywhere they might not hold.
    v = "python%d.%d" % _sys.version_info[:2]
    lib = getattr(_sys, "platlibdir", "lib")
    stdlib = _os.path.join(_sys.base_prefix, lib, v)
    if _os.name != "posix" or _sys.prefix == _sys.base_prefix or _os.path.dirname(_os.__file__) != stdlib:
        return None
    return {"stdlib": stdlib, "platstdlib": _os.path.join(_sys.prefix, lib, v),
            "purelib": _os.path.join(_sys.prefix, "lib", v, "site-packages"),
            "platlib": _os.path.join(_sys.prefix, lib, v, "site-packages")}

# ---- the result, without the json module (its import is a measurable part of the probe) ----
# Nor its C accelerator _json: loading that shared object took about 0.7 ms of a check, more than
# escaping the probe's few kilobytes of strings here. Non-ASCII text is written as UTF-8; lone
# surrogates (undecodable file names) are left to the final encode("utf-8", "backslashreplace"),
# which writes them as the JSON escape \udcXX.
_JSON_ESCAPES = dict((i, "\\u%04x" % i) for i in range(32))
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 0x7f: "\\u007f"})
def _json_string(x):
    # Most strings need no escape, and translate() looks each distinct character up in the dict
    # again on every call: testing first (all in C) saved 2.1M instructions on the bench venv.
    if x.isascii() and x.isprintable() and '"' not in x and "\\" not in x:
        return '"' + x + '"'
    return '"' + x.translate(_JSON_ESCAPES) + '"'

def to_json(x):
    t = type(x)
    if t is str:
        return _json_string(x)
    if t is dict:
        return "{" + ",".join(_json_string(str(k)) + ":" + to_json(v) for k, v in x.items()) + "}"
    if t is list or t is tuple:
        return "[" + ",".join([to_json(v) for v in x]) + "]"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if x is None:
        return "null"
    if t is int or t is float:
        return repr(x)
    return _json_string(str(x))

def write_result(stream, marker, out):
    if any(c["reason"] and not c["ok"] for c in out["checks"]):
        rare()
        for c in out["checks"]:
            c["reason"] = redact(c["reason"])
    stream.flush()
    stream.buffer.write(("\n" + marker + to_json(out) + "\n").encode("utf-8", "backslashreplace"))
    stream.flush()

# ---- pip: present and loadable, without importing it (pip's import pulls typing: ~10% of the probe) ----
def pip_check(dists, check):
    # pip's entry points and internals are there and not empty (a half-removed pip is not). Neither
    # imported (pip's import pulls typing: ~13% of the probe) nor compiled (the compile() builtin's
    # first call costs ~2%).
    for d in dists:
        if d["name"].lower() != "pip":
            continue
        for rel in ("pip/__init__.py", "pip/__main__.py", "pip/_internal/__init__.py", "pip/_internal/cli/main.py"):
            try:
                empty = _os.stat(_os.path.join(d["sp"], rel)).st_size == 0
            except OSError as e:
                check("pip", False, "pip-broken: %s: %s" % (rel, e.strerror), "degraded")
                return
            if empty:
                check("pip", False, "pip-broken: %s is empty" % rel, "degraded")
                return
        check("pip", True)
        return
"""#

/// Appended for `--deep` only: every installed file against its distribution's RECORD.
public let probeDeepLibrary = #"""
# ---- --deep: installed files against each RECORD (compiled only for --deep) ----
def record_entries(d):
    try:
        with open(_os.path.join(d["path"], "RECORD"), encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read()
    except OSError:
        return []
    if '"' in text:
        import csv
        return [row for row in csv.reader(text.splitlines()) if row]
    return [line.split(",") for line in text.splitlines() if line]

def deep_checks(dists):
    # -> [{"name", "files": ["path modified" | "path missing"]}] for the distributions whose installed
    # files differ from their RECORD; guarded-run decides the severity (Dependencies.swift).
    import hashlib, base64
    found = []
    for d in dists:
        sp = d["sp"]
        bad = []
        for row in record_entries(d):
            if len(row) < 2 or not row[1]:
                continue  # listed without a hash: RECORD itself, .pyc files
            rel = row[0]
            algo, _, digest = row[1].partition("=")
            full = _os.path.normpath(_os.path.join(sp, rel))
            try:
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError:
                bad.append(rel + " missing")
                continue
            try:
                h = hashlib.new(algo)
            except ValueError:
                continue
            h.update(data)
            ok = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode() == digest.rstrip("=")
            if ok and len(row) > 2 and row[2].strip().isdigit():
                ok = int(row[2]) == len(data)
            if not ok and data.startswith(b"#!") and not full.startswith(sp + "/"):
                # A script outside site-packages (bin/): installers and repair rewrite its #! line.
                continue
            if not ok:
                bad.append(rel + " modified")
        if bad:
            found.append({"name": d["name"], "files": bad})
    return found
"""#
