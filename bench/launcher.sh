#!/usr/bin/env bash
# The launcher's fast path against the floor of one extra exec, side by side in one run.
# usage: bench/launcher.sh GUARDED_RUN_BINARY [RUNS]
set -euo pipefail
built=$(readlink -f "$1"); runs=${2:-400}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/guarded-run-bench-XXXXXX); trap 'rm -rf "$work"' EXIT
# The pair as installed (`install` copies it), never the files the linker just wrote: a file the
# linker wrote through mmap is cached as single pages, and exec'ing it cost about 60 µs more per
# start here until its pages were read back from disk (docs/performance.md). Every program below is
# copied the same way, so all lines start from the same kind of page cache.
mkdir "$work/bin"
install -m 755 "$built" "$work/bin/guarded-run"
# The full binary beside it: the same fast path under the standard Swift runtime (what 0.1.0 was).
install -m 755 "$(dirname "$built")/guarded-run-full" "$work/bin/guarded-run-full"
bin="$work/bin/guarded-run"; full="$work/bin/guarded-run-full"
cc -O2 -o "$work/spawnbench" "$here/spawnbench.c"
cc -O2 -static -o "$work/execv-loader" "$here/execv-loader.c"
cc -O2 -static -nostdlib -fno-stack-protector -o "$work/nolibc-loader" "$here/nolibc-loader.c"
# The Swift floor, for orientation: a minimal static Swift program that lstats 10 paths and execs.
swiftc -O -static-executable -Xlinker --gc-sections -Xlinker --strip-all \
  -o "$work/minimal-swift-loader" "$here/minimal-swift-loader.swift" 2>/dev/null
# The floor the launcher aims at: the same program in Embedded Swift (no runtime start-up), compiled
# to an object and linked statically by the C compiler as the C loader is.
swiftc -target "$(uname -m)-unknown-linux-gnu" -enable-experimental-feature Embedded \
  -enable-experimental-feature Extern -wmo -Osize -parse-as-library -c \
  -o "$work/minimal-embedded-loader.o" "$here/minimal-embedded-loader.swift"
cc -static -Wl,--gc-sections -s -o "$work/minimal-embedded-loader" "$work/minimal-embedded-loader.o"
for program in execv-loader nolibc-loader minimal-swift-loader minimal-embedded-loader; do
  install -m 755 "$work/$program" "$work/$program.installed" && mv "$work/$program.installed" "$work/$program"
done
/usr/bin/python3 -m venv --without-pip "$work/venv"
state="$work/state"
# One full check fills the cache; every start after it is the fast path.
"$bin" --agent bench --state-dir "$state" --venv "$work/venv" -- /bin/true
"$bin" --agent bench --state-dir "$state" --venv "$work/venv" -- /bin/true
grep -q '"decision":"fast-ok"' "$state/agents/bench/health.jsonl"
: > "$state/agents/bench/health.jsonl"
"$full" --agent bench --state-dir "$work/state-full" --venv "$work/venv" -- /bin/true

out=$("$work/spawnbench" "$runs" /bin/true "$work/execv-loader /bin/true" "/usr/bin/env /bin/true" \
      "$bin --agent bench --state-dir $state --venv $work/venv -- /bin/true" "$work/minimal-swift-loader /bin/true" \
      "$work/minimal-embedded-loader /bin/true" \
      "$full --agent bench --state-dir $work/state-full --venv $work/venv -- /bin/true" \
      "$work/nolibc-loader /bin/true")
echo "$out"
if grep -v '"decision":"fast-ok"' "$state/agents/bench/health.jsonl" | grep -q .; then
  echo "bench: a start left the fast path" >&2; exit 1
fi
median() { echo "$out" | sed -n "s/^cmd$1 median_us=\([0-9.]*\).*/\1/p"; }
t1=$(median 0); t2=$(median 1); t3=$(median 2); t4=$(median 3); t5=$(median 4); t6=$(median 5); t7=$(median 6); t8=$(median 7)
python3 - "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" "$t7" "$t8" "$state/agents/bench/health.jsonl" <<'PY'
import json, sys
t1, t2, t3, t4, t5, t6, t7, t8 = map(float, sys.argv[1:9])
us = sorted(json.loads(l)["check_us"] for l in open(sys.argv[9]) if l.strip())
pct = lambda p: us[min(len(us) - 1, int(round(p / 100 * (len(us) - 1))))]
print("added_us: c_loader=%.1f env=%.1f guarded_run=%.1f" % (t2 - t1, t3 - t1, t4 - t1))
print("overhead_ratio_vs_c_loader: %.2f" % ((t4 - t1) / (t2 - t1)))
print("overhead_ratio_vs_env: %.2f" % ((t4 - t1) / (t3 - t1)))
print("reference_minimal_swift_ratio_vs_c_loader: %.2f" % ((t5 - t1) / (t2 - t1)))
print("reference_minimal_embedded_ratio_vs_c_loader: %.2f" % ((t6 - t1) / (t2 - t1)))
print("guarded_run_vs_embedded_reference: %.2f" % ((t4 - t1) / (t6 - t1)))
print("reference_full_binary_ratio_vs_c_loader: %.2f" % ((t7 - t1) / (t2 - t1)))
print("reference_nolibc_loader_ratio_vs_c_loader: %.2f" % ((t8 - t1) / (t2 - t1)))
print("guarded_run_vs_nolibc_loader: %.2f" % ((t4 - t1) / (t8 - t1)))
print("check_us_p50: %d" % pct(50))
print("check_us_p99: %d" % pct(99))
PY
