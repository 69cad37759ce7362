#!/usr/bin/env bash
# Snapshot bench: create + verify of a snapshot of 1,000 small files (about 1 MiB in all) against
# `tar -cf` + `sha256sum` of the same files, alternating in the same run.
# usage: bench/snapshot.sh PATH/TO/release/guarded-run [ROUNDS]
# Prints the raw medians and `snapshot_ratio_vs_tar: X` (target <= 1.5).
set -euo pipefail
bin=${1:?usage: $0 PATH/TO/guarded-run [ROUNDS]}
rounds=${2:-9}
[ -x "$bin" ] || { echo "not executable: $bin" >&2; exit 64; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d "${TMPDIR:-/tmp}/guarded-run-bench-snapshot.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1,000 files of 512..1535 random bytes (mean 1 KiB) in 20 directories.
tree="$work/tree"
for d in $(seq -w 1 20); do
    mkdir -p "$tree/dir$d"
    for f in $(seq -w 1 50); do
        head -c $((512 + (10#$d * 50 + 10#$f) * 7919 % 1024)) /dev/urandom > "$tree/dir$d/file$f.conf"
    done
done
files=$(find "$tree" -type f | wc -l)
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

ours=() theirs=()
for ((i = 0; i < rounds; i++)); do
    state="$work/state$i"
    t0=$(now_us)
    id=$("$bin" snapshot create --state-dir "$state" "$tree")
    "$bin" snapshot verify --state-dir "$state" "$id" > /dev/null
    t1=$(now_us)
    ours+=($((t1 - t0)))

    t0=$(now_us)
    tar -cf "$work/tree$i.tar" -C "$work" tree
    find "$tree" -type f -print0 | xargs -0 sha256sum > "$work/sums$i"
    t1=$(now_us)
    theirs+=($((t1 - t0)))
    rm -rf "$state" "$work/tree$i.tar" "$work/sums$i"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m_ours=$(median "${ours[@]}")
m_tar=$(median "${theirs[@]}")
echo "files: $files bytes: $bytes rounds: $rounds"
echo "snapshot_create_verify_median_us: $m_ours"
echo "tar_sha256sum_median_us: $m_tar"
awk -v a="$m_ours" -v b="$m_tar" 'BEGIN {printf "snapshot_ratio_vs_tar: %.2f\n", a / b}'
