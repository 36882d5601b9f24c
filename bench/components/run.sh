#!/usr/bin/env bash
# JavaScript components: the same handlers (apps/hello.js: GET -> "Hello,
# world!"; apps/transform.js: POST a 4 KiB JSON document -> parsed, modified,
# serialized) on wink (one componentize-js component through `wink up`: per
# request, and long-lived with executor = "reactor" when this wink accepts
# it), on workerd (the same code as a module worker, apps/worker.js) and on
# `jco serve` (the same component). Follows benchmarking.md: servers pinned to
# CPU 0, wrk to CPU 1, a warm-up, interleaved rounds (A B C A B C), c =
# 1/16/128, req/s and p50/p99 per row, the ratio wink / workerd per
# concurrency. Then the cost of a request to a sleeping JS app: per request,
# a GET after an idle second against one right after it; long-lived, a
# reactor with scale to zero against the same app kept awake (new connection
# each, interleaved). Output: a markdown report under
# bench/results/components-<date>.md and a one-line-per-row summary at the
# end. Not a test: it asserts nothing. See docs/benchmarks.md.
#
# `--cold` instead measures a JS app servable from cold (cold.sh).
#
# Usage: bench/components/run.sh [--build DIR] [--duration S] [--rounds N] [--concurrency "1 16 128"]
#                                [--only "wink wink-reactor workerd jco-serve sleep sleep-reactor"] [--compile]
# Every setting also comes from the environment (flags win):
#   BENCH_DURATION=5  seconds per measurement     BENCH_ROUNDS=2   interleaved rounds
#   BENCH_WARMUP=2    seconds of warm-up / server  BENCH_CONCURRENCY="1 16 128"
#   BENCH_ONLY=""     servers to measure (default all)
#   BENCH_SLEEP_ROUNDS=15  sleeping-app requests (each side)
#   BENCH_SLEEP_IDLE_MS=1000  per request: the idle pause before the "sleeping" GET
#   BENCH_SLEEP_PAUSE_MS=300  long-lived: the pause before each GET
#   BENCH_SLEEP_SOURCE=<a reactor component>  also measure a sleeping long-lived app (standby
#                     and wake) on it, e.g. examples/counter/counter.wasm; --only sleep-reactor
#                     tries the JS component itself (refused as a reactor by this wink)
#   BENCH_START_TIMEOUT=1800 seconds a server may take to listen (wink compiles the JS engine once,
#                            quick tier first; the artifact cache makes later runs start at once)
#   BENCH_OPTIMIZED_TIMEOUT=<start timeout>  seconds to wait for wink's optimized tier; past
#                            it the quick tier is measured and the report says so
#   WINK_BENCH_DATA_DIR=<build>/wagi-test-data  wink's data dir: its artifact cache is the tests'
#   BENCH_COMPILE=1   also time the engine through wink's compile pipeline (core_compile; slow)
#   BENCH_RESULTS=<root>/bench/results  where the report goes ("" : no report file)
# Needs: a configured build (wink, and the pinned component toolchain: npm ci
# by the test build), npm (workerd, pinned in bench/components/package-lock.json),
# wrk, taskset, setsid, curl, python3, node.
set -euo pipefail
# shellcheck source=bench/support/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/bench.sh"

HERE="$ROOT/bench/components"
BUILD="${BENCH_BUILD:-$ROOT/build}"
DURATION="${BENCH_DURATION:-5}"
ROUNDS="${BENCH_ROUNDS:-2}"
WARMUP="${BENCH_WARMUP:-2}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 16 128}"
ONLY="${BENCH_ONLY:-}"
SLEEP_ROUNDS="${BENCH_SLEEP_ROUNDS:-15}"
SLEEP_PAUSE_MS="${BENCH_SLEEP_PAUSE_MS:-300}"
SLEEP_IDLE_MS="${BENCH_SLEEP_IDLE_MS:-1000}"
START_TIMEOUT="${BENCH_START_TIMEOUT:-1800}"
OPT_TIMEOUT="${BENCH_OPTIMIZED_TIMEOUT:-$START_TIMEOUT}"
COMPILE="${BENCH_COMPILE:-}"
RESULTS="${BENCH_RESULTS-$ROOT/bench/results}"
[ "${1:-}" = "--cold" ] && { shift; exec "$HERE/cold.sh" "$@"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --compile) COMPILE=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_init components
# Absolute: the componentize step runs in the toolchain's directory.
BUILD="$(cd "$BUILD" && pwd)" || bench_die "no build directory $BUILD"
bench_require wrk node npm taskset setsid curl python3
WORK="$BENCH_WORK"
DATA="${WINK_BENCH_DATA_DIR:-$BUILD/wagi-test-data}"
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# --- wink and the toolchain, from the build ----------------------------------------
if [ -f "$BUILD/build.ninja" ]; then
  bench_log "ninja: wink and the pinned component toolchain (npm ci)"
  nice ninja -C "$BUILD" wink tests/component/toolchain/npm-ci.stamp >/dev/null ||
    bench_die "ninja -C $BUILD wink tests/component/toolchain/npm-ci.stamp failed"
fi
WINK="$(bench_wink "$BUILD")"
TOOLCHAIN="$BUILD/tests/component/toolchain"
[ -d "$TOOLCHAIN/node_modules" ] || bench_die "no $TOOLCHAIN/node_modules (configure $BUILD with the component toolchain)"

# --- the component: the same handler code, exports stripped, one dispatcher ---------
# Built by the test build's componentize.mjs and pinned componentize-js, kept in
# the build tree and rebuilt only when the JavaScript changes.
APPDIR="$BUILD/bench/components"
mkdir -p "$APPDIR"
{
  sed 's/^export //' "$HERE/apps/hello.js"
  sed 's/^export //' "$HERE/apps/transform.js"
  echo "addEventListener('fetch', (event) => event.respondWith("
  echo "  event.request.method === 'POST' ? transform(event.request) : hello(event.request)));"
} >"$WORK/app.js"
# The stamp: the JavaScript and the toolchain's lockfile it was built with.
{ cat "$WORK/app.js"; sha256sum <"$TOOLCHAIN/package-lock.json"; } >"$WORK/app.stamp"
if ! cmp -s "$WORK/app.stamp" "$APPDIR/app.stamp" || [ ! -f "$APPDIR/app.wasm" ]; then
  bench_log "componentize-js app.js (about 25 s of CPU)"
  (cd "$TOOLCHAIN" && nice node "$ROOT/tests/component/toolchain/componentize.mjs" "$WORK/app.js" \
    "$ROOT/examples/wit" http-app "$APPDIR/app.wasm") || bench_die "componentize-js failed"
  cp "$WORK/app.stamp" "$APPDIR/app.stamp"
fi
COMPONENT="$APPDIR/app.wasm"

# wink_app DIR EXTRA...: an app directory serving the component at "/...",
# EXTRA lines added to its [component.app] table.
wink_app() {
  local dir=$1 line
  shift
  mkdir -p "$dir"
  ln -sf "$COMPONENT" "$dir/app.wasm"
  {
    printf 'manifest_version = 1\n[app]\nname = "bench-js"\n[component.app]\nsource = "app.wasm"\n'
    for line in "$@"; do echo "$line"; done
    printf '[[route]]\npath = "/..."\ncomponent = "app"\n'
  } >"$dir/wink.toml"
}

# --- the request body: a 4 KiB JSON document -----------------------------------------
python3 - "$WORK/body.json" <<'PY'
import json, sys
items, i = [], 0
while True:
    items.append({"id": i, "name": f"item-{i:04d}", "price": 1.25 + i, "tags": ["a", "b"]})
    text = json.dumps({"order": 42, "items": items})
    if len(text) >= 4096 - 80: break
    i += 1
open(sys.argv[1], "w").write(text.ljust(4096))
PY
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/body.json", "r"); wrk.body = f:read("*a"); f:close()
LUA

# --- servers ---------------------------------------------------------------------------
declare -A PORT SPID TIER
declare -A DEAD  # name -> why it no longer answers (its rows say so instead of a figure)
NAMES=()     # measured under load, in this order
SKIPPED=()   # "name: reason"
NOTES=()     # what the report should say besides the figures

WINK_FLAGS="--workers 1 --access-log off --control-socket off --data-dir $DATA"
# start_wink NAME DIR: `wink up DIR` pinned; 0 once it serves the optimized tier.
start_wink() {
  local name=$1 dir=$2 port
  port="$(bench_free_port)"
  # shellcheck disable=SC2086
  bench_start "$WORK/$name.log" "$WINK" up "$dir" --listen "127.0.0.1:$port" $WINK_FLAGS
  SPID[$name]=$BENCH_PID
  PORT[$name]=$port
  if ! bench_wink_ready "$WORK/$name.log" "$BENCH_PID" "$START_TIMEOUT" "$OPT_TIMEOUT"; then
    SKIPPED+=("$name: \`wink up\` did not serve it: $(grep -E 'Error|error' "$WORK/$name.log" | head -2 | tr '\n' ' ' | cut -c1-300)")
    bench_stop "$BENCH_PID"
    return 1
  fi
  TIER[$name]="$BENCH_WINK_TIER"
  bench_wait_http "http://127.0.0.1:$port/" "$BENCH_PID" 60 || { SKIPPED+=("$name: no answer to GET /"); return 1; }
  return 0
}

if wanted wink; then
  wink_app "$WORK/wink-app"
  bench_log "starting wink (per-request instances); the first run compiles the JS engine (minutes)"
  start_wink wink "$WORK/wink-app" && NAMES+=(wink)
fi
if wanted wink-reactor; then
  # Long-lived: one instance serves many requests; kept awake here (the
  # sleeping cost is measured on its own below).
  wink_app "$WORK/wink-reactor" 'executor = "reactor"' 'scale_to_zero = "off"'
  bench_log "starting wink-reactor (executor = \"reactor\")"
  start_wink wink-reactor "$WORK/wink-reactor" && NAMES+=(wink-reactor)
fi

WORKERD_BIN=""
if wanted workerd; then
  WORKERD_BIN="$(bench_workerd "$BUILD/bench/workerd")"
  if [ -n "$WORKERD_BIN" ]; then
    mkdir -p "$WORK/workerd"
    cp "$HERE/apps/worker.js" "$HERE/apps/hello.js" "$HERE/apps/transform.js" "$WORK/workerd/"
    PORT[workerd]="$(bench_free_port)"
    bench_workerd_config "$WORK/workerd/config.capnp" "${PORT[workerd]}" 2024-09-01 worker.js hello.js transform.js
    bench_start "$WORK/workerd.log" "$WORKERD_BIN" serve "$WORK/workerd/config.capnp"
    SPID[workerd]=$BENCH_PID
    if bench_wait_http "http://127.0.0.1:${PORT[workerd]}/" "$BENCH_PID" 60; then
      NAMES+=(workerd)
    else
      SKIPPED+=("workerd: did not serve: $(tail -2 "$WORK/workerd.log" | tr '\n' ' ')")
    fi
  else
    SKIPPED+=("workerd: not installed (npm ci failed)")
  fi
fi

# jco serve runs StarlingMonkey's one instance for every request; it is known
# to stop answering once requests overlap ("respondWith can't be called
# twice"). It is measured like the others, each run bounded by wrk's
# duration; a run that gets no answer is a row result ("no answer"), and
# once it no longer answers a single GET its remaining rows say so.
if wanted jco-serve; then
  PORT[jco-serve]="$(bench_free_port)"
  bench_start "$WORK/jco-serve.log" node "$TOOLCHAIN/node_modules/@bytecodealliance/jco/dist/jco.js" \
    serve --port "${PORT[jco-serve]}" "$COMPONENT"
  SPID[jco-serve]=$BENCH_PID
  if bench_wait_http "http://127.0.0.1:${PORT[jco-serve]}/" "${SPID[jco-serve]}" 120; then
    NAMES+=(jco-serve)
    if ! curl -s --max-time 3 -o /dev/null "http://127.0.0.1:${PORT[jco-serve]}/"; then
      DEAD[jco-serve]="answers the first request only (a second GET: nothing in 3 s)"
      err="$(grep -m1 -iE 'error|twice' "$WORK/jco-serve.log" | cut -c1-160 || true)"
      NOTES+=("jco-serve ${DEAD[jco-serve]}; its log: \`${err:-nothing}\`")
      bench_log "jco-serve: ${DEAD[jco-serve]}: $err"
    fi
  else
    SKIPPED+=("jco-serve: did not serve: $(tail -2 "$WORK/jco-serve.log" | tr '\n' ' ')")
  fi
fi
[ ${#NAMES[@]} -gt 0 ] || wanted sleep || wanted sleep-reactor || { printf '%s\n' "${SKIPPED[@]}" >&2; bench_die "no server to measure"; }

# --- same bytes: each server's answers, side by side ------------------------------------
: >"$WORK/bytes.txt"
for name in "${NAMES[@]}"; do
  [ -n "${DEAD[$name]:-}" ] && continue
  url="http://127.0.0.1:${PORT[$name]}/"
  hello="$(curl -s --max-time 5 -D "$WORK/$name.headers" "$url" | sha256sum | cut -c1-12)" || hello="-"
  post="$(curl -s --max-time 5 -H 'Content-Type: application/json' --data-binary "@$WORK/body.json" "$url" \
          | tee "$WORK/$name.post" | sha256sum | cut -c1-12)" || post="-"
  printf '| %s | %s | %s (%s bytes) | %s |\n' "$name" "$hello" "$post" "$(wc -c <"$WORK/$name.post")" \
    "$(tr -d '\r' <"$WORK/$name.headers" | grep -iE '^(HTTP|content-type|content-length|transfer-encoding)' | tr '\n' ' ')" \
    >>"$WORK/bytes.txt"
done

# --- measurements --------------------------------------------------------------------------
: >"$WORK/results.tsv"
measure() {  # name handler c round
  local name=$1 handler=$2 c=$3 round=$4 extra=() f pid cpu0 flt0
  f="$WORK/wrk-$name-$handler-$c-$round.txt"
  pid="${SPID[$name]}"
  if [ -n "${DEAD[$name]:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$handler" "$c" "$round" "dead	${DEAD[$name]}" >>"$WORK/results.tsv"
    return
  fi
  [ "$handler" = transform ] && extra=(-s "$WORK/post.lua")
  cpu0="$(bench_cpu_ticks "$pid")"
  flt0="$(bench_minflt "$pid")"
  bench_wrk "$f" "$c" "$DURATION" "http://127.0.0.1:${PORT[$name]}/" --timeout 2s "${extra[@]}"
  # wrk's figures, then the server's CPU ticks and minor faults during the run.
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$handler" "$c" "$round" "$(bench_wrk_fields "$f")" \
    "$(( $(bench_cpu_ticks "$pid") - cpu0 ))" "$(( $(bench_minflt "$pid") - flt0 ))" >>"$WORK/results.tsv"
  if [ "$(tail -1 "$WORK/results.tsv" | cut -f5)" = 0 ] &&
     ! curl -s --max-time 3 -o /dev/null "http://127.0.0.1:${PORT[$name]}/"; then
    DEAD[$name]="no answer to a single GET since $handler c=$c round $round"
    bench_log "$name: ${DEAD[$name]}"
  fi
}

bench_log "warm-up (${WARMUP} s each)"
for name in "${NAMES[@]}"; do
  [ -n "${DEAD[$name]:-}" ] && continue
  bench_wrk "$WORK/warmup.txt" 16 "$WARMUP" "http://127.0.0.1:${PORT[$name]}/" --timeout 2s
  bench_wrk "$WORK/warmup.txt" 16 "$WARMUP" "http://127.0.0.1:${PORT[$name]}/" --timeout 2s -s "$WORK/post.lua"
done
for handler in hello transform; do
  for c in $CONCURRENCY; do
    for round in $(seq 1 "$ROUNDS"); do
      for name in "${NAMES[@]}"; do
        bench_log "$handler c=$c round $round $name"
        measure "$name" "$handler" "$c" "$round"
      done
    done
  done
done
for name in "${NAMES[@]}"; do [ "${SPID[$name]:-}" ] && bench_stop "${SPID[$name]}"; done

# --- a request to a sleeping JS app, per request ----------------------------------------------
# The JS app as users serve it (per request: each request's instance is
# restored from the component's image): a GET after the app sat idle for
# BENCH_SLEEP_IDLE_MS, then one right after it (back-to-back), each on a new
# connection; the difference of the medians is what the idle pause adds
# (caches gone cold, recycled memory slots, the HTTP thread asleep).
SLEEP_WAGI_TABLE=""
if wanted sleep; then
  wink_app "$WORK/sleep-wagi"
  if start_wink sleep-wagi "$WORK/sleep-wagi"; then
    SLEEP_WAGI_TABLE="$(taskset -c "$BENCH_CLIENT_CPU" python3 - "${PORT[sleep-wagi]}" "$SLEEP_ROUNDS" "$SLEEP_IDLE_MS" <<'PY'
import http.client, re, sys, time
port, rounds, idle = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000
def get():  # one GET on a new connection: ms, the instantiation phase (Server-Timing inst)
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/"); r = c.getresponse(); r.read(); c.close()
    if r.status != 200: sys.exit(f"GET /: status {r.status}")
    m = re.search(r"inst;dur=([\d.]+)", r.getheader("server-timing") or "")
    return (time.perf_counter() - t) * 1000, float(m.group(1)) if m else 0.0
for _ in range(5): get()  # warm: the recycled slots exist
idle_ms, b2b_ms, idle_inst, b2b_inst = [], [], [], []
for _ in range(rounds):
    time.sleep(idle)
    t, i = get(); idle_ms.append(t); idle_inst.append(i)
    t, i = get(); b2b_ms.append(t); b2b_inst.append(i)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))] if v else 0
print(f"| per request, after {idle * 1000:.0f} ms idle | {pct(idle_ms, .5):.2f} | {pct(idle_ms, .9):.2f} | {pct(idle_inst, .5):.3f} |")
print(f"| per request, back-to-back | {pct(b2b_ms, .5):.2f} | {pct(b2b_ms, .9):.2f} | {pct(b2b_inst, .5):.3f} |")
print(f"| added by the idle pause (median difference) | {pct(idle_ms, .5) - pct(b2b_ms, .5):.2f} | | |")
PY
)" || SLEEP_WAGI_TABLE=""
    bench_stop "${SPID[sleep-wagi]}"
  fi
  [ -n "$SLEEP_WAGI_TABLE" ] || [[ "${SKIPPED[*]}" == *"sleep-wagi: "* ]] || SKIPPED+=("sleep-wagi: the measurement failed")
fi

# --- a request to a sleeping JS app, long-lived -----------------------------------------------
# Two long-lived components of the same app on one `wink up`: /sleepy/ goes to
# standby 10 ms after its request, /awake/ never does. After the same pause,
# a GET on a new connection to each, alternating; the difference of the
# medians is what sleeping adds. Needs executor = "reactor" for components
# (refused for componentize-js output: BENCH_SLEEP_SOURCE names another).
SLEEP_TABLE=""
if wanted sleep-reactor || { wanted sleep && [ -n "${BENCH_SLEEP_SOURCE:-}" ]; }; then
  mkdir -p "$WORK/sleep-app"
  ln -sf "${BENCH_SLEEP_SOURCE:-$COMPONENT}" "$WORK/sleep-app/app.wasm"
  cat >"$WORK/sleep-app/wink.toml" <<'TOML'
manifest_version = 1
[app]
name = "bench-js-sleep"
[component.sleepy]
source = "app.wasm"
executor = "reactor"
scale_to_zero = "on"
idle_timeout = "10ms"
[component.awake]
source = "app.wasm"
executor = "reactor"
scale_to_zero = "off"
[[route]]
path = "/sleepy/..."
component = "sleepy"
[[route]]
path = "/awake/..."
component = "awake"
TOML
  if start_wink sleep "$WORK/sleep-app"; then
    SLEEP_TABLE="$(taskset -c "$BENCH_CLIENT_CPU" python3 - "${PORT[sleep]}" "$SLEEP_ROUNDS" "$SLEEP_PAUSE_MS" <<'PY'
import http.client, re, sys, time
port, rounds, pause = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000
def get(path):  # one GET on a new connection: ms, Server-Timing
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path); r = c.getresponse(); r.read(); c.close()
    if r.status != 200: sys.exit(f"{path}: status {r.status}")
    return (time.perf_counter() - t) * 1000, r.getheader("server-timing") or ""
for path in ("/sleepy/", "/awake/"): get(path)  # both instances exist
ms = {"/sleepy/": [], "/awake/": []}
wake = []
for _ in range(rounds):
    for path in ms:
        time.sleep(pause)
        t, timing = get(path)
        ms[path].append(t)
        m = re.search(r"wake;dur=([\d.]+)", timing)
        if path == "/sleepy/" and m: wake.append(float(m.group(1)))
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))] if v else 0
s, a = ms["/sleepy/"], ms["/awake/"]
print(f"| asleep (standby after 10 ms idle) | {pct(s, .5):.2f} | {pct(s, .9):.2f} |")
print(f"| awake (scale_to_zero = off) | {pct(a, .5):.2f} | {pct(a, .9):.2f} |")
print(f"| added by sleeping (median difference) | {pct(s, .5) - pct(a, .5):.2f} | |")
print(f"| wake phase (Server-Timing; {len(wake)} of {rounds} requests woke an instance) | "
      f"{pct(wake, .5):.2f} | {pct(wake, .9):.2f} |")
PY
)" || SLEEP_TABLE=""
    bench_stop "${SPID[sleep]}"
  fi
  [ -n "$SLEEP_TABLE" ] || [[ "${SKIPPED[*]}" == *"sleep: "* ]] || SKIPPED+=("sleep: the measurement failed")
fi

COMPILE_TABLE=""
if [ -n "$COMPILE" ] && nice ninja -C "$BUILD" core_compile >/dev/null 2>&1; then
  bench_log "compiling the engine module (quick tier, then optimized)"
  COMPILE_TABLE="$("$(find "$BUILD" -name core_compile -type f -perm -u+x | head -1)" "$COMPONENT" 0 2 2>/dev/null || true)"
fi

# --- report ------------------------------------------------------------------------------------
FAULT_US="$(taskset -c "$BENCH_SERVER_CPU" bash -c ". '$BENCH_SUPPORT/bench.sh'; bench_fault_us")"
STAMP="$(date -u +%Y-%m-%d)"
{
  echo "# JavaScript components: wink vs workerd vs jco serve ($STAMP)"
  echo
  echo "Same handler code (bench/components/apps): one component built by componentize-js"
  echo "(tests/component/toolchain, pinned), served by \`wink up\` (per request, and long-lived as"
  echo "\`wink-reactor\`) and \`jco serve\`; workerd runs the same code as a module worker. wrk -t1,"
  echo "${DURATION} s per measurement, ${ROUNDS} interleaved rounds after a ${WARMUP} s warm-up per server and handler."
  echo
  echo "| | |"
  echo "|---|---|"
  bench_machine
  echo "| wrk | $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2) |"
  echo "| node | $(node --version) |"
  echo "| workerd | $( [ -n "$WORKERD_BIN" ] && "$WORKERD_BIN" --version 2>/dev/null | head -1 || echo -) |"
  echo "| componentize-js | $(node -p "require('$TOOLCHAIN/node_modules/@bytecodealliance/componentize-js/package.json').version") |"
  echo "| jco | $(node -p "require('$TOOLCHAIN/node_modules/@bytecodealliance/jco/package.json').version") |"
  echo "| wink | \`wink up ${WINK_FLAGS/--data-dir $DATA/--data-dir DATA}\` ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)) |"
  for name in "${!TIER[@]}"; do echo "| $name tier | ${TIER[$name]} |"; done
  echo "| page-fault cost | ${FAULT_US} us per first-touch 4 KiB page (anonymous, best of 3, measured after the runs) |"
  echo
  python3 - "$WORK/results.tsv" "${NAMES[*]}" "$(getconf CLK_TCK)" "$WORK/summary.txt" <<'PY'
import collections, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
hz = int(sys.argv[3])
names = sys.argv[2].split()
data = collections.defaultdict(list)
for r in rows:
    data[(r[0], r[1], int(r[2]))].append(r[4:])
concs = sorted({int(r[2]) for r in rows})
def rps(rs): return [float(r[1]) for r in rs if r[0] != "dead"]
print("req/s per round; ratio = sum of rounds / workerd's sum; latency in ms, mean p50 over rounds and worst p99; "
      "CPU us/req and faults/req: the server process's CPU time (all threads) and minor page faults per "
      "request answered (robust when other work shares the core, which req/s is not).\n")
print("| handler | server | conc. | req/s (rounds) | vs workerd | p50 ms | p99 ms | CPU us/req | faults/req | errors |")
print("|---|---|---:|---|---:|---:|---:|---:|---:|---|")
summary, noisy = [], []
for handler in ("hello", "transform"):
    for c in concs:
        base = rps(data.get(("workerd", handler, c), []))
        line = [f"{handler} c={c}:"]
        for n in names:
            rs = data.get((n, handler, c))
            if not rs: continue
            if rs[0][0] == "dead" or all(r[0] == "0" for r in rs):
                why = rs[0][1] if rs[0][0] == "dead" else "no answer within the run (" + (rs[0][5] or "no requests") + ")"
                print(f"| {handler} | {n} | {c} | {why} | | | | | | |")
                line.append(f"{n} none")
                continue
            live = [r for r in rs if r[0] != "dead"]
            v = rps(live)
            ratio = f"{sum(v) / sum(base):.2f}" if base and sum(base) else "-"
            if len(v) > 1 and max(v) > 1.1 * min(v): noisy.append(f"{n} {handler} c={c}")
            errs = sum(int(r[4]) for r in live)
            sock = "; ".join(sorted({r[5] for r in live if r[5]}))
            answered = sum(int(r[0]) for r in live) or 1
            cpu_us = sum(int(r[6]) for r in live) / hz * 1e6 / answered
            faults = sum(int(r[7]) for r in live) / answered
            print(f"| {handler} | {n} | {c} | {' / '.join(f'{x:,.0f}' for x in v)} | {ratio} | "
                  f"{sum(float(r[2]) for r in live) / len(live):.2f} | {max(float(r[3]) for r in live):.2f} | "
                  f"{cpu_us:,.0f} | {faults:,.1f} | {(str(errs) + ' non-2xx ') if errs else ''}{sock} |")
            line.append(f"{n} {sum(v) / len(v):,.0f}")
        for n in ("wink", "wink-reactor"):
            w = rps(data.get((n, handler, c), []))
            if w and base and sum(base):
                per = [a / b for a, b in zip(w, base) if b]
                line.append(f"{n}/workerd {sum(w) / sum(base):.2f} ({min(per):.2f}-{max(per):.2f})")
        summary.append(" ".join(line))
print()
if noisy:
    print("Rounds differ by more than 10% for: " + ", ".join(noisy) + " (a noisy machine: read those with care).\n")
open(sys.argv[4], "w").write("\n".join(summary) + "\n")
PY
  echo
  echo "## Same bytes (sha256 prefix of the answers; headers as sent)"
  echo
  echo "| server | GET / | POST / (4 KiB JSON) | headers |"
  echo "|---|---|---|---|"
  cat "$WORK/bytes.txt"
  echo
  echo "## A request to a sleeping JS app, per request (ms, new connection each, ${SLEEP_ROUNDS} each; $(basename "$COMPONENT"))"
  echo
  if [ -n "$SLEEP_WAGI_TABLE" ]; then
    echo "| request | median | p90 | inst (Server-Timing, median) |"
    echo "|---|---:|---:|---:|"
    echo "$SLEEP_WAGI_TABLE"
  else
    echo "Not measured (see below)."
  fi
  if [ -n "$SLEEP_TABLE" ]; then
    echo
    echo "## A request to a sleeping app, long-lived (ms, new connection each, ${SLEEP_ROUNDS} each, ${SLEEP_PAUSE_MS} ms pauses; $(basename "${BENCH_SLEEP_SOURCE:-$COMPONENT}"))"
    echo
    echo "| request | median | p90 |"
    echo "|---|---:|---:|"
    echo "$SLEEP_TABLE"
  fi
  if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    echo "## Notes"
    echo
    printf -- '- %s\n' "${NOTES[@]}"
  fi
  if [ ${#SKIPPED[@]} -gt 0 ]; then
    echo
    echo "## Not measured"
    echo
    printf -- '- %s\n' "${SKIPPED[@]}"
  fi
  if [ -n "$COMPILE_TABLE" ]; then
    printf '\n## The engine module through wink'"'"'s compile pipeline\n\n%s\n' "$COMPILE_TABLE"
  fi
  echo
  echo "## Summary (req/s mean over rounds; wink/workerd: ratio of the sums of the rounds, per-round min-max)"
  echo
  echo '```'
  cat "$WORK/summary.txt"
  [ -n "$SLEEP_WAGI_TABLE" ] && echo "sleeping JS app, per request: $(echo "$SLEEP_WAGI_TABLE" | sed -n 3p | cut -d'|' -f3 | tr -d ' ') ms added by $SLEEP_IDLE_MS ms idle (median difference)"
  [ -n "$SLEEP_TABLE" ] && echo "sleeping app: $(echo "$SLEEP_TABLE" | sed -n 3p | cut -d'|' -f3 | tr -d ' ') ms added per request (median difference), wake phase $(echo "$SLEEP_TABLE" | sed -n 4p | cut -d'|' -f3 | tr -d ' ') ms (median)"
  for skipped in "${SKIPPED[@]}"; do echo "not measured: ${skipped%%:*}"; done
  echo '```'
} >"$WORK/report.md"
if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS"
  cp "$WORK/report.md" "$RESULTS/components-$STAMP.md"
  bench_log "wrote $RESULTS/components-$STAMP.md"
fi
cat "$WORK/report.md"
