#!/usr/bin/env bash
# Compile benchmark: time to first servable artifact (quick -O0 tier) and to
# the optimized one, for (1) a synthetic C program with >= 5 MB of Wasm code
# and (2) SQLite (sqlite3.c from the npm package better-sqlite3@12, fetched at
# bench time with `npm pack`, never committed), both built for wasm32-wasi.
#
# usage: bench/compile/run.sh [BUILD_DIR] [NFUNCS]   (results on stdout, markdown)
# Needs: clang (wasm32-wasi, wasi-libc), python3, npm (for SQLite; skipped without).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
NFUNCS=${2:-25000}
JOBS=${JOBS:-$(nproc)}
WORK=${WORK:-$(mktemp -d /tmp/wink-compile-bench.XXXXXX)}
BENCH=$BUILD/bench-compile/compile_bench
[ -x "$BENCH" ] || BENCH=$BUILD/bench/compile/compile_bench
ninja -C "$BUILD" compile_bench >&2

echo "## machine" ; echo
echo "- $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "- C compiler: $(${WINK_CC:-clang} --version | head -1)"
echo "- load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# 1. Synthetic program.
python3 "$ROOT/bench/compile/gen_big.py" "$NFUNCS" > "$WORK/big.c"
clang --target=wasm32-wasi -O2 -w "$WORK/big.c" -o "$WORK/big.wasm" -lm
MODULES=("$WORK/big.wasm")

# 2. SQLite from npm (better-sqlite3 ships the amalgamation).
if command -v npm >/dev/null; then
  (cd "$WORK" && npm pack --silent better-sqlite3@12 >/dev/null 2>&1 && tar xzf better-sqlite3-*.tgz) || true
  SQL=$(find "$WORK/package" -name sqlite3.c 2>/dev/null | head -1 || true)
  if [ -n "$SQL" ]; then
    cat > "$WORK/sqlite_main.c" <<'C'
#include <stdio.h>
#include "sqlite3.h"
static int row(void* u, int n, char** v, char** c) { printf("%s\n", v[0] ? v[0] : "NULL"); return 0; }
int main(void) {
  sqlite3* db; char* err = 0;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db, "create table t(x); insert into t values (1),(2),(3); select sum(x) from t;", row, 0, &err);
  sqlite3_close(db);
  return 0;
}
C
    clang --target=wasm32-wasi -O2 -w -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_SIGNAL \
      -D_WASI_EMULATED_PROCESS_CLOCKS -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0 \
      -DSQLITE_OMIT_WAL -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_RANDOMNESS -DSQLITE_TEMP_STORE=3 \
      -I"$(dirname "$SQL")" "$SQL" "$WORK/sqlite_main.c" -o "$WORK/sqlite3.wasm" \
      -lwasi-emulated-mman -lwasi-emulated-signal -lwasi-emulated-process-clocks \
      && MODULES+=("$WORK/sqlite3.wasm") || echo "(SQLite did not build for wasm32-wasi; skipped)"
  fi
fi

for m in "${MODULES[@]}"; do
  echo "## $(basename "$m")"; echo
  "$BENCH" "$m" "tiered:2:$JOBS" "oneshot:0:1" "oneshot:0:$JOBS" "oneshot:2:$JOBS"
  echo
done
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
