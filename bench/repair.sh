#!/usr/bin/env bash
# The launcher's own repair path against the bare installer (docs/performance.md, "Repair").
# usage: bench/repair.sh GUARDED_RUN_BINARY [RUNS]
#
# The source: requests and its dependencies as real wheels (5: requests, urllib3, idna,
# charset_normalizer, certifi), from REPAIR_BENCH_WHEELS (a directory of wheels) or else fetched once
# with `pip download` (PyPI is reached by this bench only, never by the tests).
#
# Each run, for each installer (uv when on PATH, and pip): a fresh venv made from a Homebrew-style
# interpreter (a directory whose bin/python3.11 links to /usr/bin/python3.11), its packages installed,
# one start through guarded-run (the known-good set), then that directory removed: the base
# interpreter is gone, which the full check sees without running Python. Timed, alternately:
#   repair: `ENABLE_AUTO_REPAIR=true guarded-run --venv V --import requests -- /bin/true`
#           (cache miss, full check, lock, build beside, verify, swap, cache, exec);
#   bare:   the installer alone creating a venv and installing the same pinned requirements;
#   check:  one `guarded-run check --venv V --import requests` of the repaired venv (its probe).
# Prints the medians and repair_overhead_vs_check = (repair - bare) / check, per installer.
set -euo pipefail
bin=$(readlink -f "$1"); runs=${2:-7}
work=$(mktemp -d /tmp/guarded-run-bench-repair-XXXXXX); trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3.11
export PIP_DISABLE_PIP_VERSION_CHECK=1 UV_CACHE_DIR="$work/uv-cache" UV_LINK_MODE=copy
unset ENABLE_AUTO_REPAIR VIRTUAL_ENV
# A host-wide repair slot of its own: on a machine where other repairs run (test suites), the
# shared default directory would time their queue, not this repair.
export GUARDED_RUN_REPAIR_SLOTS_DIR="$work/slots"

wheels="$work/wheels"
if [ -n "${REPAIR_BENCH_WHEELS:-}" ]; then
  cp "$REPAIR_BENCH_WHEELS"/*.whl "$work/" 2>/dev/null; mkdir -p "$wheels"; mv "$work"/*.whl "$wheels/"
else
  "$py" -m pip download -q --only-binary=:all: -d "$wheels" requests
fi
# The pinned requirements, from the wheel file names (name-version-...).
ls "$wheels"/*.whl | sed -E 's#.*/([^-]+)-([^-]+)-.*#\1==\2#' | sort > "$work/requirements.txt"
[ "$(wc -l < "$work/requirements.txt")" -ge 5 ] || { echo "need at least 5 wheels in $wheels" >&2; exit 1; }
grep -q '^requests==' "$work/requirements.txt" || { echo "no requests wheel in $wheels" >&2; exit 1; }
# Offline from here on.
export PIP_NO_INDEX=1 UV_OFFLINE=1 UV_NO_INDEX=1

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }

bench() {
  local label=$1 path=$2 suffix=$3
  local dir="$work/$label"
  local base="$dir/homebrew" venv="$dir/agent/.venv" state="$dir/state"
  : > "$dir.repair"; : > "$dir.bare"; : > "$dir.check"
  for i in $(seq "$runs"); do
    rm -rf "$dir"; mkdir -p "$base/bin" "$dir/agent"
    ln -s "$py" "$base/bin/python3.11"; ln -s python3.11 "$base/bin/python3"
    "$base/bin/python3" -m venv --without-pip "$venv"
    "$py" -m pip --python "$venv/bin/python" install -q --no-index --find-links "$wheels" -r "$work/requirements.txt"
    PATH=$path "$bin" --agent bench --state-dir "$state" --venv "$venv" --import requests -- /bin/true
    rm -rf "$base"
    sync

    t0=$(now)
    ENABLE_AUTO_REPAIR=true PATH=$path "$bin" --agent bench --state-dir "$state" --venv "$venv" --find-links "$wheels" \
      --import requests -- /bin/true
    t1=$(now); echo $(( (t1 - t0) / 1000 )) >> "$dir.repair"
    grep -q '"decision":"repaired"' "$state/agents/bench/health.jsonl" || { echo "$label: not repaired" >&2; tail -1 "$state/agents/bench/health.jsonl" >&2; exit 1; }
    "$venv/bin/python" -c 'import requests'

    rm -rf "$dir/bare"
    t0=$(now)
    if [ "$label" = uv ]; then
      PATH=$path uv venv --quiet --no-python-downloads --python "$py" "$dir/bare"
      PATH=$path uv pip install --quiet --python "$dir/bare/bin/python" --no-index --find-links "$wheels" -r "$work/requirements.txt"
    else
      "$py" -m venv --without-pip "$dir/bare"
      "$py" -m pip --python "$dir/bare/bin/python" install -q --disable-pip-version-check --no-input --no-index \
        --find-links "$wheels" -r "$work/requirements.txt"
    fi
    t1=$(now); echo $(( (t1 - t0) / 1000 )) >> "$dir.bare"

    t0=$(now)
    "$bin" check --venv "$venv" --state-dir "$state" --import requests >/dev/null
    t1=$(now); echo $(( (t1 - t0) / 1000 )) >> "$dir.check"
  done
  local r b c
  r=$(median < "$dir.repair"); b=$(median < "$dir.bare"); c=$(median < "$dir.check")
  echo "repair_median_ms${suffix}: $(ms "$r") (launcher start with ENABLE_AUTO_REPAIR=true, base interpreter gone, $label, $runs runs)"
  echo "installer_median_ms${suffix}: $(ms "$b") (bare $label: venv + install of $(wc -l < "$work/requirements.txt") wheels)"
  echo "check_median_ms${suffix}: $(ms "$c") (one full check of the repaired venv)"
  echo "repair_ratio_vs_installer${suffix}: $(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.2f", r / b}')"
  echo "repair_overhead_vs_check${suffix}: $(awk -v r="$r" -v b="$b" -v c="$c" 'BEGIN {printf "%.2f", (r - b) / c}')"
  echo "load_average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
}

nouv_path=$(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -n "$d" ] && [ ! -x "$d/uv" ] && echo "$d"; done | paste -sd: -)
if uv=$(command -v uv); then
  bench uv "$(dirname "$uv"):$nouv_path" "_uv"
fi
bench pip "$nouv_path" "_pip"
