#!/usr/bin/env bash
# The full check against the floor it cannot go below: an interpreter of the same venv that only
# builds an ssl context (`import ssl; ssl.create_default_context()`), alternated in one run.
# usage: bench/check.sh GUARDED_RUN_BINARY [RUNS]
# The bench venv: `python -m venv` (pip and setuptools) plus 20 tiny distributions from a local
# wheelhouse, each requiring the next (some with markers and an extra), installed by pip offline.
# Prints the medians and `check_ratio_vs_ssl_context` (target <= 1.1).
# With DEEP_VENV=/path/to/venv it also times `check` and `check --deep` on that venv alternately
# and prints `deep_ms` and `deep_ratio_vs_check`.
set -euo pipefail
# 151 runs a side: one check's time here is bimodal (p10 about 64 ms, median about 90 ms on the
# quiet project machine), so the median of 61 moved the ratio by ±0.04 from run to run.
bin=$(readlink -f "$1"); runs=${2:-${RUNS:-151}}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/guarded-run-bench-check-XXXXXX); trap 'rm -rf "$work"' EXIT
py=${GUARDED_RUN_TEST_PYTHON:-/usr/bin/python3}
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset VIRTUAL_ENV

"$py" - "$work/wheels" <<'PY'
import sys, os, zipfile, hashlib, base64
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
for i in range(1, 21):
    name = "pkg%02d" % i
    requires = ["pkg%02d>=1.0,<2" % (i + 1)] if i < 20 else []
    if i % 5 == 0:
        requires.append("pkg01; python_version < \"3\"")
    if i == 3:
        requires.append("pkg04[fast]")
    if i == 4:
        requires.append("pkg19~=1.0; extra == \"fast\"")
    extras = "Provides-Extra: fast\n" if i == 4 else ""
    dist = "%s-1.0.dist-info" % name
    files = {"%s/__init__.py" % name: "VALUE = %d\n" % i,
             dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n%s%s\n" % (name, extras, "".join("Requires-Dist: %s\n" % r for r in requires)),
             dist + "/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             dist + "/top_level.txt": name + "\n"}
    rec = ["%s,sha256=%s,%d" % (p, base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode(), len(t.encode())) for p, t in files.items()]
    files[dist + "/RECORD"] = "\n".join(rec + [dist + "/RECORD,,"]) + "\n"
    with zipfile.ZipFile(os.path.join(out, "%s-1.0-py3-none-any.whl" % name), "w") as z:
        for p, t in files.items(): z.writestr(p, t)
PY
venv="$work/venv"; state="$work/state"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --no-index --find-links "$work/wheels" pkg01 pkg10
echo 'import ssl; ssl.create_default_context()' > "$work/ssl-context.py"
cc -O2 -o "$work/spawnbench" "$here/spawnbench.c"
"$bin" check --venv "$venv" --state-dir "$state" > "$work/check.txt" || { cat "$work/check.txt"; echo "bench: the bench venv is not healthy" >&2; exit 1; }
echo "bench venv: $(ls -d "$venv"/lib/python3*/site-packages/*.dist-info | wc -l) distributions"

out=$("$work/spawnbench" "$runs" "$venv/bin/python -I $work/ssl-context.py" "$bin check --venv $venv --state-dir $state")
echo "$out"
median() { echo "$out" | sed -n "s/^cmd$1 median_us=\([0-9.]*\).*/\1/p"; }
awk -v a="$(median 0)" -v b="$(median 1)" 'BEGIN {
  printf "ssl_context_ms: %.1f\ncheck_ms: %.1f\ncheck_ratio_vs_ssl_context: %.3f\n", a / 1000, b / 1000, b / a }'

if [ -n "${DEEP_VENV:-}" ]; then
  "$bin" check --venv "$DEEP_VENV" --state-dir "$state" >/dev/null || true
  deep_runs=${DEEP_RUNS:-15}
  : > "$work/plain"; : > "$work/deep"
  now() { date +%s%N; }
  for i in $(seq "$deep_runs"); do
    t0=$(now); "$bin" check --venv "$DEEP_VENV" --state-dir "$state" >/dev/null || true; t1=$(now)
    "$bin" check --deep --venv "$DEEP_VENV" --state-dir "$state" >/dev/null || true; t2=$(now)
    echo $(( (t1 - t0) / 1000 )) >> "$work/plain"; echo $(( (t2 - t1) / 1000 )) >> "$work/deep"
  done
  med() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  n=$(ls -d "$DEEP_VENV"/lib/python3*/site-packages/*.dist-info | wc -l)
  files=$(cat "$DEEP_VENV"/lib/python3*/site-packages/*.dist-info/RECORD | grep -c ',sha256=' || true)
  awk -v p="$(med "$work/plain")" -v d="$(med "$work/deep")" -v n="$n" -v f="$files" 'BEGIN {
    printf "deep_venv: %d distributions, %d hashed files\ncheck_ms: %.1f\ndeep_ms: %.1f\ndeep_ratio_vs_check: %.2f\n", n, f, p / 1000, d / 1000, d / p }'
fi
