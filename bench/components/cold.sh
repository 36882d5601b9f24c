#!/usr/bin/env bash
# A JavaScript app servable from cold: `wink up` on examples/js-hello (the
# componentize-js component the test build makes) with an empty data dir and
# C compilers at their normal priority, 2 compile jobs. Prints one table:
# time to the first 200 (quick tier, -O0), time until the optimized tier is
# swapped in (the "optimized tier swapped in" log line), and the per-request
# latency (keep-alive, sequential GETs) on each tier in the same run. Not a
# test: it asserts nothing. `bench/components/run.sh --cold` runs it.
#
# Usage: bench/components/cold.sh [--build DIR] [--requests 200] [--component FILE]
set -euo pipefail
# shellcheck source=bench/support/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/bench.sh"

BUILD="$ROOT/build"
REQUESTS=200
COMPONENT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --component) COMPONENT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_init cold
bench_require curl python3 bc setsid
WINK="$(bench_wink "$BUILD")"
[ -n "$COMPONENT" ] || COMPONENT="$BUILD/examples-components/js-hello.wasm"
[ -f "$COMPONENT" ] || bench_die "no $COMPONENT (ninja -C $BUILD component_examples)"
WORK="$BENCH_WORK"
BENCH_PIN=""  # the compile uses both cores, as a user's first deploy would
mkdir -p "$WORK/app"
cp "$ROOT/examples/js-hello/wink.toml" "$WORK/app/"
cp "$COMPONENT" "$WORK/app/js-hello.wasm"
PORT="$(bench_free_port)"

# Per-request latency: sequential GETs on one keep-alive connection; median, p99 (ms).
latency() {
  python3 - "$PORT" "$REQUESTS" <<'PY'
import http.client, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
ts = []
for _ in range(n):
    t = time.perf_counter()
    c.request("GET", "/")
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit("status %d" % r.status)
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print("%.2f %.2f" % (ts[len(ts) // 2], ts[min(len(ts) - 1, int(len(ts) * 0.99))]))
PY
}

START=$(date +%s.%N)
bench_start "$WORK/log" env WINK_CC="${WINK_CC:-}" "$WINK" up "$WORK/app" --listen "127.0.0.1:$PORT" \
  --data-dir "$WORK/data" --access-log off
PID=$BENCH_PID
bench_wait_http "http://127.0.0.1:$PORT/" "$PID" 3600 -f -o /dev/null || { cat "$WORK/log" >&2; exit 1; }
FIRST=$(echo "$(date +%s.%N) - $START" | bc)
QUICK_LAT="$(latency)"
bench_wait_log "$WORK/log" '"msg":"optimized tier swapped in"' "$PID" 3600 '"msg":"optimized build failed' ||
  { cat "$WORK/log" >&2; exit 1; }
SWAP=$(echo "$(date +%s.%N) - $START" | bc)
OPT_LAT="$(latency)"
STOP=$(date +%s.%N)
bench_stop "$PID"
STOPPED=$(echo "$(date +%s.%N) - $STOP" | bc)

printf '| %s | %s |\n' "what (js-hello, cold, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))" "figure"
printf '|---|---|\n'
printf '| first 200 (quick tier, -O0) | %.1f s |\n' "$FIRST"
printf '| optimized tier swapped in | %.1f s |\n' "$SWAP"
printf '| request latency, quick tier (median / p99, %s GETs) | %s / %s ms |\n' "$REQUESTS" $QUICK_LAT
printf '| request latency, optimized tier (median / p99) | %s / %s ms |\n' $OPT_LAT
printf '| stop | %.2f s |\n' "$STOPPED"
