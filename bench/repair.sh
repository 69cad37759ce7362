#!/usr/bin/env bash
# Repair of a venv with 5 packages from a local wheelhouse: guarded-run's repair (lock, check,
# build beside, verify, swap) against the bare installer doing the same build, alternated in one run.
# usage: bench/repair.sh GUARDED_RUN_BINARY [RUNS]
# Prints raw medians and `repair_ratio_vs_installer: X` for the installer guarded-run picks (uv when
# it is on PATH, else pip); with uv on PATH, also the pip figures (`..._pip`).
set -euo pipefail
bin=$(readlink -f "$1"); runs=${2:-7}
work=$(mktemp -d /tmp/guarded-run-bench-repair-XXXXXX); trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_OFFLINE=1 UV_CACHE_DIR="$work/uv-cache" UV_LINK_MODE=copy
unset ENABLE_AUTO_REPAIR VIRTUAL_ENV
pkgs=(alpha==1.0 beta==2.0 gamma==0.3 delta==4.0 epsilon==5.0)

"$py" - "$work/wheels" "${pkgs[@]}" <<'PY'
import sys, os, zipfile, hashlib, base64
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
for spec in sys.argv[2:]:
    name, version = spec.split("==")
    dist = "%s-%s.dist-info" % (name, version)
    files = {"%s/__init__.py" % name: "VERSION = %r\ndef main():\n    print(VERSION)\n" % version,
             dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n" % (name, version),
             dist + "/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             dist + "/entry_points.txt": "[console_scripts]\n%s-tool = %s:main\n" % (name, name)}
    rec = ["%s,sha256=%s,%d" % (p, base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode(), len(t.encode())) for p, t in files.items()]
    files[dist + "/RECORD"] = "\n".join(rec + [dist + "/RECORD,,"]) + "\n"
    with zipfile.ZipFile(os.path.join(out, "%s-%s-py3-none-any.whl" % (name, version)), "w") as z:
        for p, t in files.items(): z.writestr(p, t)
PY

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# One installer: PATH decides which one guarded-run uses (uv first on PATH, or none).
bench() {
  local label=$1 path=$2
  local dir="$work/$label"; mkdir -p "$dir"
  local venv="$dir/agent/.venv" state="$dir/state"
  "$py" -m venv --without-pip "$venv"
  PATH=$path "$py" -m pip --python "$venv/bin/python" install -q --find-links "$work/wheels" "${pkgs[@]}"
  PATH=$path "$bin" --agent bench --state-dir "$state" --import alpha -- "$venv/bin/python" -c pass
  : > "$dir/guarded"; : > "$dir/bare"
  for i in $(seq "$runs"); do
    rm -rf "$venv/lib/python3.11/site-packages/alpha"
    t0=$(now)
    PATH=$path "$bin" repair --venv "$venv" --state-dir "$state" --find-links "$work/wheels" --import alpha --force >/dev/null
    t1=$(now); echo $(( (t1 - t0) / 1000 )) >> "$dir/guarded"
    "$venv/bin/python" -c 'import alpha, beta, gamma, delta, epsilon'

    rm -rf "$dir/bare-venv"
    t0=$(now)
    if [ "$label" = uv ]; then
      PATH=$path uv venv --quiet --python "$py" "$dir/bare-venv"
      PATH=$path uv pip install --quiet --python "$dir/bare-venv/bin/python" --find-links "$work/wheels" "${pkgs[@]}"
    else
      "$py" -m venv --without-pip "$dir/bare-venv"
      "$py" -m pip --python "$dir/bare-venv/bin/python" install -q --find-links "$work/wheels" "${pkgs[@]}"
    fi
    t1=$(now); echo $(( (t1 - t0) / 1000 )) >> "$dir/bare"
  done
  g=$(median < "$dir/guarded"); b=$(median < "$dir/bare")
  suffix=$3
  echo "repair_median_ms${suffix}: $(awk -v v="$g" 'BEGIN {printf "%.1f", v / 1000}') (guarded-run repair, $label, $runs runs)"
  echo "installer_median_ms${suffix}: $(awk -v v="$b" 'BEGIN {printf "%.1f", v / 1000}') (bare $label: venv + install)"
  echo "repair_ratio_vs_installer${suffix}: $(awk -v g="$g" -v b="$b" 'BEGIN {printf "%.2f", g / b}')"
}

mkdir -p "$work/nouv"
nouv_path=$(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -n "$d" ] && [ ! -x "$d/uv" ] && echo "$d"; done | paste -sd: -)
if uv=$(command -v uv); then
  bench uv "$(dirname "$uv"):$nouv_path" ""
  bench pip "$nouv_path" "_pip"
else
  bench pip "$nouv_path" ""
fi
