#!/usr/bin/env bash
# Key-value throughput from guests through wink's host interface (wink_v1.kv_get /
# kv_set, one instance making many calls) vs native clients, same run, same
# value size: hiredis and redis-benchmark for Redis, the sqlite3 C API for
# SQLite. Writes a markdown table to bench/results/kv-<date>.md.
# Usage: bench/host/run.sh [build-dir] [ops] [value-bytes]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${1:-$root/build}
N=${2:-50000}
SIZE=${3:-100}
FSYNC_N=${FSYNC_N:-500}  # sets with synchronous=FULL fsync each commit
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export WINK_DATA_DIR=$work/data
guest=$work/host_app.wasm
clang --target=wasm32-wasi -O2 "$root/tests/guests/host_app.c" -o "$guest"

# Redis on core 1, clients on core 0 (2-core machines: one each).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 1 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

run() { taskset -c 0 "$BUILD/bench/host/host_kv_bench" "$guest" "$1" "$N" "$SIZE" 3 "${2:-$N}"; }
val() { sed -nE "s/^path=$2 op=$3 ops_per_sec=([0-9.]+)$/\1/p" <<<"$1"; }

echo "redis..." >&2
redis_out=$(run "redis://127.0.0.1:$port/0"); echo "$redis_out" >&2
echo "sqlite (synchronous=FULL)..." >&2
sqlite_full=$(run "sqlite:$work/full.sqlite" "$FSYNC_N"); echo "$sqlite_full" >&2
echo "sqlite (synchronous=NORMAL)..." >&2
sqlite_normal=$(run "sqlite:$work/normal.sqlite?sync=normal"); echo "$sqlite_normal" >&2

rb() { # redis-benchmark requests per second for one test and pipeline depth
  taskset -c 0 redis-benchmark -p "$port" -t "$1" -d "$SIZE" -c 1 -P "$2" -n "$N" -r 1000 --csv -q 2>/dev/null |
    awk -F'","' 'NR>1 || /^"(GET|SET)/ { gsub(/"/,"",$2); print $2; exit }'
}
rb_get1=$(rb get 1); rb_set1=$(rb set 1); rb_get16=$(rb get 16); rb_set16=$(rb set 16)
echo "redis-benchmark: get P1 $rb_get1 set P1 $rb_set1 get P16 $rb_get16 set P16 $rb_set16" >&2

fsync_us=$(dd if=/dev/zero of="$work/probe" bs=4k count=500 oflag=dsync 2>&1 | awk '/copied/ { printf "%.0f", $(NF-3) / 500 * 1e6 }')
out="$root/bench/results/kv-$(date +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
row() { # label backend-output op native-label
  local g s n
  g=$(val "$2" guest "$3"); s=$(val "$2" store "$3"); n=$(val "$2" native "$3")
  awk -v l="$1" -v op="$3" -v g="$g" -v s="$s" -v n="$n" -v nl="$4" \
    'BEGIN { printf "| %s | %s | %.0f | %.0f | %.0f (%s) | %.2fx |\n", l, op, g, s, n, nl, g/n }'
}
{
  echo "# Key-value from guests vs native clients, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "kernel $(uname -r), $(nproc) cores, $(redis-server --version | awk '{print $3}'), sqlite $(sqlite3 --version 2>/dev/null | awk '{print $1}' || echo lib);"
  echo "$N operations per measurement, values of $SIZE bytes, median of 3 rounds (interleaved)."
  echo "Guest: one WAGI instance of tests/guests/host_app.c looping over wink_kv_get/wink_kv_set,"
  echo "timed inside the guest. Store: wink's KeyValueStore called directly from C++ (no guest)."
  echo "Redis: no persistence for the throughput run (appendonly no), server on core 1, clients on core 0."
  echo "SQLite FULL sets: $FSYNC_N per measurement (one fsync per commit; this disk: $fsync_us us per 4 KiB O_DSYNC write)."
  echo "Every set writes a value not written before (SQLite skips identical rewrites)."
  echo
  echo "| backend | op | guest ops/s | host store ops/s | native ops/s | guest / native |"
  echo "|---|---|---|---|---|---|"
  row "redis" "$redis_out" get "hiredis"
  row "redis" "$redis_out" set "hiredis"
  row "sqlite FULL" "$sqlite_full" get "sqlite3 C API"
  row "sqlite FULL" "$sqlite_full" set "sqlite3 C API"
  row "sqlite NORMAL" "$sqlite_normal" get "sqlite3 C API"
  row "sqlite NORMAL" "$sqlite_normal" set "sqlite3 C API"
  echo
  echo "redis-benchmark, same server and value size (-c 1, -r 1000):"
  echo
  echo "| test | -P 1 req/s | -P 16 req/s | guest / (-P 1) |"
  echo "|---|---|---|---|"
  awk -v a="$rb_get1" -v b="$rb_get16" -v g="$(val "$redis_out" guest get)" \
    'BEGIN { printf "| GET | %.0f | %.0f | %.2fx |\n", a, b, g/a }'
  awk -v a="$rb_set1" -v b="$rb_set16" -v g="$(val "$redis_out" guest set)" \
    'BEGIN { printf "| SET | %.0f | %.0f | %.2fx |\n", a, b, g/a }'
} > "$out"
cat "$out"
echo "wrote $out" >&2
