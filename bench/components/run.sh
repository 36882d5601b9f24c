#!/usr/bin/env bash
# JavaScript components: the same handlers (apps/hello.js: GET -> "Hello,
# world!"; apps/transform.js: POST a 4 KiB JSON document -> parsed, modified,
# serialized) on wink (componentize-js component, `wink up`), on workerd (the
# same code as a module worker, apps/worker.js) and on `jco serve` (the same
# component). Follows ../shared/design/benchmarking.md: servers pinned to CPU
# 0, wrk to CPU 1, warm-up, A B A B rounds, c = 1/16/128, req/s and p50/p99,
# ratios against workerd. Output: bench/results/components-<date>.md. Not a
# test: it asserts nothing. Also prints the JS engine's compile figures
# (core_compile) unless --no-compile.
#
# `--cold` instead measures a JS app servable from cold (cold.sh: first 200
# on the quick tier, optimized tier swapped in, latency on each).
#
# Usage: bench/components/run.sh [--build DIR] [--duration 5] [--rounds 2]
#                                [--concurrency "1 16 128"] [--wink-cmd 'CMD {port} {dir}'] [--no-compile]
# Needs: the test build's component toolchain (build/tests/component/toolchain),
# npm (workerd, pinned in bench/components/package-lock.json), wrk, taskset.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/components"
BUILD="$ROOT/build"
DURATION=5
ROUNDS=2
CONCURRENCY="1 16 128"
WINK_CMD=""
COMPILE=1
[ "${1:-}" = "--cold" ] && { shift; exec "$HERE/cold.sh" "$@"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --wink-cmd) WINK_CMD="$2"; shift 2 ;;
    --no-compile) COMPILE=""; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk node npm taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool missing (scripts/setup.sh)" >&2; exit 1; }
done
TOOLCHAIN="$BUILD/tests/component/toolchain"
[ -d "$TOOLCHAIN/node_modules" ] || { echo "run.sh: no $TOOLCHAIN/node_modules (build component_fixtures first)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/wink-components-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the component: the same handler code, exports stripped, one dispatcher ---
{
  sed 's/^export //' "$HERE/apps/hello.js"
  sed 's/^export //' "$HERE/apps/transform.js"
  echo "addEventListener('fetch', (event) => event.respondWith("
  echo "  event.request.method === 'POST' ? transform(event.request) : hello(event.request)));"
} >"$WORK/app.js"
echo "run.sh: componentize-js app.js" >&2
(cd "$TOOLCHAIN" && node "$ROOT/tests/component/toolchain/componentize.mjs" "$WORK/app.js" \
  "$ROOT/examples/wit" http-app "$WORK/app.wasm")
mkdir -p "$WORK/wink-app"
cp "$WORK/app.wasm" "$WORK/wink-app/app.wasm"
cat >"$WORK/wink-app/wink.toml" <<'TOML'
manifest_version = 1
[app]
name = "bench-js"
[component.app]
source = "app.wasm"
[[route]]
path = "/..."
component = "app"
TOML

# --- the request body: a 4 KiB JSON document ----------------------------------
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

# --- servers -------------------------------------------------------------------
declare -A PORT CMD
NAMES=()
add_server() { NAMES+=("$1"); PORT[$1]="$(free_port)"; CMD[$1]="${2//\{port\}/${PORT[$1]}}"; }

if [ -z "$WINK_CMD" ] && [ -x "$BUILD/src/cli/wink" ]; then
  WINK_CMD="env WINK_DATA_DIR=$WORK/wink-data $BUILD/src/cli/wink up {dir} --listen 127.0.0.1:{port} --workers 1 --access-log off"
fi
[ -n "$WINK_CMD" ] && add_server wink "${WINK_CMD//\{dir\}/$WORK/wink-app}"

(cd "$HERE" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || echo "run.sh: npm ci (workerd) failed" >&2
WORKERD_BIN="$(find "$HERE/node_modules/@cloudflare" -path '*/bin/workerd' -type f 2>/dev/null | head -1 || true)"
if [ -n "$WORKERD_BIN" ]; then
  cp "$HERE/apps/hello.js" "$HERE/apps/transform.js" "$HERE/apps/worker.js" "$WORK/"
  add_server workerd "$WORKERD_BIN serve $WORK/workerd.capnp"
  cat >"$WORK/workerd.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${PORT[workerd]}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js"),
              (name = "hello.js", esModule = embed "hello.js"),
              (name = "transform.js", esModule = embed "transform.js") ],
  compatibilityDate = "2024-09-01",
);
CAPNP
fi
add_server jco-serve "node $TOOLCHAIN/node_modules/@bytecodealliance/jco/dist/jco.js serve --port {port} $WORK/app.wasm"

READY=()
for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2086
  (cd "$WORK" && exec taskset -c 0 ${CMD[$name]}) >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  ok=""
  for _ in $(seq 1 900); do
    if got="$(curl -s --max-time 5 "http://127.0.0.1:${PORT[$name]}/")" && [ -n "$got" ]; then ok=1; break; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    echo "run.sh: $name did not serve the component; skipped:" >&2; tail -3 "$WORK/$name.err" >&2
    continue
  fi
  echo "run.sh: $name ready on ${PORT[$name]}: $(printf %q "$got")" >&2
  READY+=("$name")
done

# jco serve answers the first request of an instance only (StarlingMonkey:
# "respondWith can't be called twice"); it gets a bounded check, not a load.
jco_note=""
if [[ " ${READY[*]} " == *" jco-serve "* ]]; then
  if curl -s --max-time 3 -o /dev/null "http://127.0.0.1:${PORT[jco-serve]}/"; then
    jco_note="answered a second request"
  else
    jco_note="answered the first request only; the second timed out (3 s)"
  fi
  READY=("${READY[@]/jco-serve}")
fi

run_wrk() {  # name handler concurrency round
  local name=$1 handler=$2 c=$3 round=$4 extra=()
  [ "$handler" = transform ] && extra=(-s "$WORK/post.lua")
  taskset -c 1 wrk -t1 -c"$c" -d"${DURATION}s" --timeout 5s --latency "${extra[@]}" \
    "http://127.0.0.1:${PORT[$name]}/" >"$WORK/wrk.txt" 2>&1 || true
  python3 - "$name" "$handler" "$c" "$round" "$WORK/wrk.txt" <<'PY' >>"$WORK/results.tsv"
import re, sys
out = open(sys.argv[5]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print("\t".join(sys.argv[1:5] + [f"{float(rps.group(1)) if rps else 0:.1f}",
      f"{ms(p50.group(1)) if p50 else 0:.3f}", f"{ms(p99.group(1)) if p99 else 0:.3f}",
      bad.group(1) if bad else "0"]))
PY
}

: >"$WORK/results.tsv"
for name in ${READY[@]}; do
  taskset -c 1 wrk -t1 -c16 -d2s "http://127.0.0.1:${PORT[$name]}/" >/dev/null 2>&1 || true
done
for handler in hello transform; do
  for c in $CONCURRENCY; do
    for round in $(seq 1 "$ROUNDS"); do
      for name in ${READY[@]}; do
        echo "run.sh: $handler c=$c round $round $name" >&2
        run_wrk "$name" "$handler" "$c" "$round"
      done
    done
  done
done

COMPILE_TABLE=""
if [ -n "$COMPILE" ] && ninja -C "$BUILD" core_compile >/dev/null 2>&1; then
  echo "run.sh: compiling the engine module (quick tier, then optimized)" >&2
  COMPILE_TABLE="$("$(find "$BUILD" -name core_compile -type f -perm -u+x | head -1)" "$WORK/app.wasm" 0 2 2>/dev/null || true)"
fi

mkdir -p "$ROOT/bench/results"
STAMP="$(date -u +%Y-%m-%d)"
REPORT="$ROOT/bench/results/components-$STAMP.md"
python3 - "$WORK/results.tsv" "$REPORT" <<PY
import collections, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
data = collections.defaultdict(list)
for name, handler, c, rnd, rps, p50, p99, bad in rows:
    data[(name, handler, int(c))].append((float(rps), float(p50), float(p99), int(bad)))
names = sorted({r[0] for r in rows}, key=lambda n: ["wink", "workerd"].index(n) if n in ("wink", "workerd") else 9)
out = [f"# JavaScript components: wink vs workerd vs jco serve ($STAMP)\n",
       "Same handler code (bench/components/apps), one component built by componentize-js 0.23.0; "
       "workerd runs it as a module worker. Servers pinned to CPU 0, wrk -t1 on CPU 1, "
       "${DURATION} s per measurement, ${ROUNDS} interleaved rounds after a 2 s warm-up.\n",
       "| | |\n|---|---|",
       "| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |", "| kernel | $(uname -r) |", "| nproc | $(nproc) |",
       "| load at start | $(cut -d' ' -f1-3 /proc/loadavg) |",
       "| workerd | $( [ -n "$WORKERD_BIN" ] && "$WORKERD_BIN" --version 2>/dev/null | head -1 || echo -) |",
       "| node | $(node --version) |", "| wink | \`${WINK_CMD:-not run}\` |",
       "| jco serve | ${jco_note:-not run} |", "",
       "| handler | server | conc. | req/s (rounds) | vs workerd | p50 ms | p99 ms | non-2xx |",
       "|---|---|---:|---|---:|---:|---:|---:|"]
for handler in ("hello", "transform"):
    for c in sorted({int(r[2]) for r in rows}):
        base = sum(r[0] for r in data.get(("workerd", handler, c), [])) or float("nan")
        for n in names:
            rs = data.get((n, handler, c))
            if not rs: continue
            tot = sum(r[0] for r in rs)
            out.append(f"| {handler} | {n} | {c} | {' / '.join(f'{r[0]:.0f}' for r in rs)} | {tot / base:.2f} | "
                       f"{sum(r[1] for r in rs) / len(rs):.2f} | {max(r[2] for r in rs):.2f} | {sum(r[3] for r in rs)} |")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
if [ -n "$COMPILE_TABLE" ]; then
  printf '\n## The engine module through wink'"'"'s compile pipeline\n\n%s\n' "$COMPILE_TABLE" | tee -a "$REPORT"
fi
echo "run.sh: wrote $REPORT" >&2
