#!/usr/bin/env bash
# venvs_parallel_speedup: `guarded-run venvs check` over 20 real venvs (parallel, bounded by the
# core count) against the same 20 full checks run one after another (`guarded-run check` each), in
# the same run, alternating, best of ROUNDS each.
#   bench/venvs.sh path/to/release/guarded-run [python]
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
python=${2:-${GUARDED_RUN_TEST_PYTHON:-/usr/bin/python3}}
rounds=${ROUNDS:-7}
count=20

work=$(mktemp -d /tmp/guarded-run-bench-venvs-XXXXXX)
trap 'rm -rf "$work"' EXIT
for i in $(seq -w 1 $count); do
  "$python" -m venv --without-pip "$work/root/agent$i/.venv" &
done
wait
state="$work/state"
venvs=("$work"/root/agent*/.venv)
[ ${#venvs[@]} -eq $count ] || { echo "made ${#venvs[@]} venvs, not $count" >&2; exit 1; }

now_ns() { date +%s%N; }
# One warm-up of each, so the page cache holds Python's files for both.
"$bin" venvs check --root "$work/root" --state-dir "$state" >/dev/null
for v in "${venvs[@]}"; do "$bin" check --venv "$v" --state-dir "$state" >/dev/null; done

best_seq=; best_par=
for r in $(seq 1 "$rounds"); do
  t0=$(now_ns)
  for v in "${venvs[@]}"; do "$bin" check --venv "$v" --state-dir "$state" >/dev/null; done
  t1=$(now_ns)
  "$bin" venvs check --root "$work/root" --state-dir "$state" >/dev/null
  t2=$(now_ns)
  seq_ms=$(( (t1 - t0) / 1000000 )); par_ms=$(( (t2 - t1) / 1000000 ))
  echo "round $r: sequential_ms: $seq_ms parallel_ms: $par_ms"
  if [ -z "$best_seq" ] || [ "$seq_ms" -lt "$best_seq" ]; then best_seq=$seq_ms; fi
  if [ -z "$best_par" ] || [ "$par_ms" -lt "$best_par" ]; then best_par=$par_ms; fi
done
echo "venvs: $count, processors: $(getconf _NPROCESSORS_ONLN), rounds: $rounds"
echo "venvs_sequential_ms: $best_seq"
echo "venvs_parallel_ms: $best_par"
awk -v s="$best_seq" -v p="$best_par" 'BEGIN { printf "venvs_parallel_speedup: %.2f\n", (p > 0 ? s / p : 0) }'
