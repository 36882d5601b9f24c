#!/usr/bin/env bash
# Per-request instantiation: wink vs Node.js (node:wasi, V8) on the same
# hello-world WASI module, interleaved A B A B on core 0. Writes a markdown
# table to bench/results/. Usage: bench/engine/run.sh [build-dir] [iterations]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${1:-$root/build}
N=${2:-100000}
NODE_N=${NODE_N:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WINK_DATA_DIR=$work/data
clang --target=wasm32-wasi -O2 "$root/tests/guests/engine_hello.c" -o "$work/hello.wasm"

rows=()
for r in 1 2; do
  w=$(taskset -c 0 "$BUILD/bench/engine/instantiate_bench" "$work/hello.wasm" "$N")
  n=$(taskset -c 0 node --no-warnings "$here/node_instantiate.mjs" "$work/hello.wasm" "$NODE_N")
  echo "$w" >&2; echo "$n" >&2
  rows+=("$r|$(echo "$w" | head -1)|$n|$(echo "$w" | tail -1)")
done

out="$root/bench/results/instantiate-$(date +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
{
  echo "# Per-request instantiation (create + run + destroy hello world), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "kernel $(uname -r), $(nproc) cores, $(cc --version | head -1); wink iterations $N, node iterations $NODE_N"
  echo
  echo "| round | wink median us | wink p99 us | faults per instance | node:wasi median us | node:wasi p99 us | node/wink (median) | page fault us |"
  echo "|---|---|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do
    IFS='|' read -r round w n pf <<<"$row"
    wm=$(sed -E 's/.*median_us=([0-9.]+).*/\1/' <<<"$w"); wp=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$w")
    wf=$(sed -E 's/.*faults_per_instance=([0-9.]+).*/\1/' <<<"$w")
    nm=$(sed -E 's/.*median_us=([0-9.]+).*/\1/' <<<"$n"); np=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$n")
    pfu=$(sed -E 's/.*: ([0-9.]+) us.*/\1/' <<<"$pf")
    awk -v r="$round" -v wm="$wm" -v wp="$wp" -v wf="$wf" -v nm="$nm" -v np="$np" -v pf="$pfu" \
      'BEGIN { printf "| %s | %.2f | %.2f | %s | %.1f | %.1f | %.0fx | %s |\n", r, wm, wp, wf, nm, np, nm/wm, pf }'
  done
  echo
  echo "Target: wink median <= 2 us and no page fault per instance (a fault costs the figure in the last column)."
} | tee "$out"
