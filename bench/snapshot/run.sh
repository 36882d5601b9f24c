#!/usr/bin/env bash
# Snapshot benchmarks -> bench/results/snapshot-<date>.md
#   1. a guest with a ~300 ms start-up: first response without / with snapshot
#   2. restore cost for 1, 64 and 512 MiB of touched memory
#   3. SQLite (amalgamation from the better-sqlite3@12 npm package, fetched
#      into a temp dir now, never committed): init loads 100k rows in memory
# Usage: bench/snapshot/run.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${1:-$root/build}
BENCH=$BUILD/bench/snapshot/snapshot_bench
CC_WASM=${CC_WASM:-clang-14}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WINK_DATA_DIR=$work/data

python3 "$here/gen_dataset.py" "$work/dataset.inc" 300000
$CC_WASM --target=wasm32-wasi -O2 -mexec-model=reactor -I"$work" -o "$work/startup.wasm" "$here/startup_guest.c"
$CC_WASM --target=wasm32-wasi -O2 -mexec-model=reactor -o "$work/restore.wasm" "$here/restore_guest.c"

sqlite_row=""
if (cd "$work" && npm pack --silent better-sqlite3@12 >/dev/null 2>&1); then
  tar -C "$work" -xzf "$work"/better-sqlite3-*.tgz
  sqlite_version=$(grep -m1 '#define SQLITE_VERSION ' "$work/package/deps/sqlite3/sqlite3.h" | awk '{print $3}' | tr -d '"')
  echo "building SQLite $sqlite_version for wasm32-wasi (~40 s)..." >&2
  $CC_WASM --target=wasm32-wasi -O2 -mexec-model=reactor -I"$work/package/deps/sqlite3" \
    -DSQLITE_OS_OTHER=1 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_WAL \
    -DSQLITE_TEMP_STORE=3 -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_DEPRECATED \
    -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_PROGRESS_CALLBACK \
    -o "$work/sqlite.wasm" "$here/sqlite_driver.c" "$work/package/deps/sqlite3/sqlite3.c"
  sqlite_row=$(COLD_RUNS=3 WARM_RUNS=300 "$BENCH" startup "$work/sqlite.wasm" "SQLite $sqlite_version, 100k rows")
else
  echo "npm pack better-sqlite3@12 failed: SQLite row skipped" >&2
fi

pf=$("$BENCH" pagefault x)
startup_row=$(COLD_RUNS=5 WARM_RUNS=1000 "$BENCH" startup "$work/startup.wasm" "slow start-up (300k-row CSV + 32M sieve)")
restore_rows=$("$BENCH" restore "$work/restore.wasm" 1 64 512)

out="$root/bench/results/snapshot-$(date +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
{
  echo "# Snapshots (pre-initialized instances), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "kernel $(uname -r), $(nproc) cores, $(cc --version | head -1); first write to an anonymous page here: ${pf} us"
  echo
  echo "## First response without and with a snapshot"
  echo
  echo "Request = WASI context + instance + \`handle\` + destroy, in process (no HTTP). Without a snapshot the guest"
  echo "initializes itself in the request (median of cold runs); with one, every request restores it."
  echo
  echo "| guest | no snapshot: first response ms | init (once) ms | snapshot load ms | first restored request us | restored request median us | restore us | handle us | speedup | memory MiB | stored MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  echo "$startup_row"
  [ -n "$sqlite_row" ] && echo "$sqlite_row"
  echo
  echo "## Restore cost by touched memory"
  echo
  echo "Init fills N MiB with non-zero bytes (all stored). map = \`Snapshot::instantiate\` alone (no guest code),"
  echo "release = destroy (slot remapped). cold = mapping + first request (the request pays its page faults);"
  echo "warm = slot mapped and learned hot pages prefaulted ahead of demand (refill not timed). Medians of 200, us."
  echo
  echo "| MiB | stored MiB | init ms | load ms | map us | release us | cold: handle us | cold: request us | warm: handle us | warm: request us | warm: request p99 us |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  echo "$restore_rows"
} >"$out"
cat "$out"

# Issue 13's restore row over HTTP: an 8 MiB snapshot-restored WAGI request
# against the same guest without `init` (control); pass BASE_WINK=path for a
# before/after in the same run.
if [ -x "$BUILD/bench/snapshot/restore_http_bench" ]; then
  "$BUILD/bench/snapshot/restore_http_bench" --mb 8 --requests 300 --rounds 2 ${BASE_WINK:+--base "$BASE_WINK"}
fi

# Warm-up requests (Instaboot) over HTTP: first request with no init
# snapshot, with `init`, with `init` + `warmup` (needs the wink build).
if [ -x "$BUILD/bench/snapshot/warmup_http_bench" ]; then
  "$BUILD/bench/snapshot/warmup_http_bench" --rounds 3
fi
