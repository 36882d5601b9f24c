#!/usr/bin/env bash
# One translation for both tiers: a module through ArtifactCache::get_tiered
# from a cold cache (quick -O0 artifact, then the optimized one in the
# background), with this build's compile_bench and, when BEFORE names
# another build's compile_bench, with that one, both started together so
# they share the machine's load. Prints one markdown row per build: time to
# the quick artifact (servable), time to the optimized one, CPU time of the
# process and its compilers, translations run (wasm2c, split) and the
# process's peak RSS.
#
# usage: bench/compile/tiers.sh [BUILD_DIR] MODULE_OR_COMPONENT [MODE]   (MODE default tiered:2:2)
#   BEFORE=/path/to/old/compile_bench   the control (e.g. built from main)
# A component (componentize-js app) stands for its JS engine core module,
# compiled as `wink up` compiles it (see compile_bench.cpp).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
MODULE=$2
MODE=${3:-tiered:2:2}
[ -n "${NO_BUILD:-}" ] || nice ninja -C "$BUILD" compile_bench >&2
AFTER=$(find "$BUILD" -name compile_bench -type f -perm -u+x | head -1)
WORK=$(mktemp -d /tmp/wink-tiers-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

run() {  # NAME BINARY: its own TMPDIR, so the two never share a build or cache directory
  mkdir -p "$WORK/$1"
  TMPDIR="$WORK/$1" nice "$2" "$MODULE" "$MODE" > "$WORK/$1.out" 2> "$WORK/$1.err" || echo "failed" >> "$WORK/$1.err"
}
echo "- $(nproc) cores, load at start: $(cut -d' ' -f1-3 /proc/loadavg); module: $(basename "$MODULE"), mode $MODE"
pids=()
run after "$AFTER" & pids+=($!)
if [ -n "${BEFORE:-}" ]; then run before "$BEFORE" & pids+=($!); fi
for p in "${pids[@]}"; do wait "$p"; done
echo "- load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| build | servable (quick) s | optimized s | CPU s | translations | peak RSS MB |"
echo "| --- | --- | --- | --- | --- | --- |"
for name in before after; do
  [ -f "$WORK/$name.err" ] || continue
  line=$(tr '\r' '\n' < "$WORK/$name.err" | grep '^tiered:' | tail -1 || true)
  if [ -z "$line" ]; then echo "| $name | failed: $(tail -c 300 "$WORK/$name.err" | tr '\n|' '  ') | | | | |"; continue; fi
  echo "$line" | sed -E 's/tiered: quick ([0-9.]+) s, optimized ([0-9.]+) s, cpu ([0-9.]+) s, translations ([0-9]+), compiles [0-9]+, peak RSS ([0-9]+) MB/\1 \2 \3 \4 \5/' |
    { read -r q o c t m; echo "| $name | $q | $o | $c | $t | $m |"; }
done
