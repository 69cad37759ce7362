#!/usr/bin/env python3
"""The tests' local wheelhouse: tiny hand-made wheels, no network.

    test-wheelhouse.py OUT     writes every wheel into OUT (made if missing)

scripts/test builds it once per run into .build/test-wheelhouse/<sha256 of this file> and passes
it to every test class as GUARDED_RUN_TEST_WHEELHOUSE; a test run alone builds it itself (the end-
to-end target's RepairFixture.sharedWheelhouse). Each fixture copies the wheels it is given: tests
delete and restore wheels in their own copy. Change the wheels here and the next run rebuilds them.
"""
import base64, hashlib, os, sys, zipfile

# (name, version, requirements): alpha 1.1 is there so that pinning is visible; zeta depends on
# alpha (a wheel with dependencies, for the rebuild-source tests).
WHEELS = [("alpha", "1.0", []), ("alpha", "1.1", []), ("beta", "2.0", []), ("gamma", "0.3", []),
          ("delta", "4.0", []), ("epsilon", "5.0", []), ("zeta", "1.0", ["alpha"])]


def wheel(out, name, version, requires):
    """METADATA, WHEEL, RECORD and a package; a console script `NAME-tool` unless it has requirements."""
    dist = "%s-%s.dist-info" % (name, version)
    if requires:
        files = {
            "%s/__init__.py" % name: "".join("import %s\n" % r for r in requires) + "VERSION = %r\n" % version,
            dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s\n"
                                % (name, version, "".join("Requires-Dist: %s\n" % r for r in requires)),
        }
    else:
        files = {
            "%s/__init__.py" % name: "VERSION = %r\ndef main():\n    import sys\n    print('%s', VERSION, sys.prefix)\n" % (version, name),
            dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n" % (name, version),
        }
    files[dist + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: guarded-run-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if not requires:
        files[dist + "/entry_points.txt"] = "[console_scripts]\n%s-tool = %s:main\n" % (name, name)
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(dist + "/RECORD,,")
    files[dist + "/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(os.path.join(out, "%s-%s-py3-none-any.whl" % (name, version)), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test-wheelhouse.py OUT")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, version, requires in WHEELS:
        wheel(out, name, version, requires)


main()
