#!/usr/bin/env bash
# "Any module": yosys (npm @yowasp/yosys, pinned in bench/compile/package.json
# and package-lock.json; bench only, never in the test suite), ~28 MB of Wasm
# code in 34k functions, through the quick tier (-O0, 2 jobs by default):
# parse, wasm2c translation and C compile times, one markdown row (the
# breakdown on stderr). Not a test: it asserts nothing.
#
# usage: bench/compile/yosys.sh [BUILD_DIR] [MODES...]   (default mode oneshot:0:2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=("oneshot:0:2")
ninja -C "$BUILD" compile_bench >&2
BENCH=$(find "$BUILD" -name compile_bench -type f -perm -u+x | head -1)
(cd "$ROOT/bench/compile" && npm ci --no-audit --no-fund --ignore-scripts >&2)
MODULE="$ROOT/bench/compile/node_modules/@yowasp/yosys/gen/yosys.core.wasm"
echo "- $(nproc) cores, load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
/usr/bin/time -f "peak RSS %M KB, %e s" "$BENCH" "$MODULE" "${MODES[@]}"
