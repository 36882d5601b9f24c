#!/usr/bin/env bash
# HTTP ingress benchmark: wink's HTTP server against nginx, Node.js and
# workerd, one run, same client (wrk), same response bytes (200,
# Content-Type: text/plain, "Hello, world!\n"), keep-alive on for all.
# Follows docs benchmarking.md: servers pinned to CPU 0 with one worker each,
# wrk pinned to CPU 1, a warm-up per server, interleaved rounds (A B C, C B A, ...),
# concurrency 1/16/128, requests/s and p50/p99. Output: a markdown table and
# a PNG chart under bench/results/. Not a test: it asserts nothing.
#
# Usage: bench/http/run.sh [--wink-cmd 'CMD with {port} and {log}'] [--duration 5] [--rounds 2]
#                          [--concurrency "1 16 128"] [--skip "node workerd"] [--only "nginx wink"]
#                          [--log "off file"] [--slices N] [--build DIR]
#   --wink-cmd   also measure this command as "wink", e.g.
#                '/work/main/build/src/cli/wink up examples/hello --listen 127.0.0.1:{port} --workers 1 --access-log {log}'
#                ({port} is replaced, {log} by "off" or an access-log file; it must serve "/" with the hello response).
#   --log        access-log modes to measure: "off" (default), "file" (every server appends an
#                access log to a file: nginx's default format, wink's JSON lines), or both; a
#                server measured with a log is named "<server>+log" and compared with "nginx+log".
#   --only       measure only these servers (names without "+log").
#   --slices     cut each measurement into N slices, the servers taking turns slice by slice
#                (default: one-second slices).
#   --base-cmd   also measure this command (same placeholders) as "wink-base": an older
#                build beside the current one in the same run, for before/after tables.
#   BENCH_RESULTS=<root>/bench/results  where http-<date>.md and .png go ("": none, stdout only).
#
# The per-request rows of issue 13 (WAGI hello vs nginx, logs off and to a file, c = 1/16/128,
# ratio per round with its min-max) in one command:
#   bench/http/run.sh --only "nginx wink" --log "off file" --rounds 3
#   The native server (wink_http_hello: the same ingress with a C++ handler)
#   is always measured.
set -euo pipefail
# shellcheck source=bench/support/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/bench.sh"

DURATION=5
ROUNDS=2
SLICES=""
CONCURRENCY="1 16 128"
WINK_CMD=""
BASE_CMD=""
SKIP=""
ONLY=""
LOGS="off"
BUILD="${ROOT}/build"
RESULTS="${BENCH_RESULTS-$ROOT/bench/results}"
while [ $# -gt 0 ]; do
  case "$1" in
    --wink-cmd) WINK_CMD="$2"; shift 2 ;;
    --base-cmd) BASE_CMD="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --slices) SLICES="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --skip) SKIP="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --log) LOGS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_init http
bench_require wrk nginx node taskset setsid curl python3 gnuplot
WORK="$BENCH_WORK"

BODY=$'Hello, world!\n'

# --- the native server --------------------------------------------------------
skipped() {
  [[ " $SKIP " == *" $1 "* ]] && return 0
  [ -n "$ONLY" ] && [[ " $ONLY " != *" $1 "* ]] && return 0
  return 1
}
HELLO=""
if ! skipped wink-http; then
if [ -d "$BUILD" ] && ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q '^wink_http_hello:'; then
  ninja -C "$BUILD" wink_http_hello >/dev/null
  HELLO="$(find "$BUILD" -name wink_http_hello -type f -perm -u+x | head -1)"
fi
if [ -z "$HELLO" ]; then
  # Not in the CMake tree (yet): build it directly, same flags as RelWithDebInfo.
  echo "run.sh: building wink_http_hello directly" >&2
  c++ -std=c++20 -O2 -g -DNDEBUG -I"$ROOT/src" "$ROOT/bench/http/hello_server.cpp" \
    "$ROOT"/src/http/*.cpp -pthread -o "$WORK/wink_http_hello"
  HELLO="$WORK/wink_http_hello"
fi
fi

# --- server definitions: name -> start command (run pinned to CPU 0) -----------
declare -A PORT CMD SPID
NAMES=()
add_server() { NAMES+=("$1"); PORT[$1]="$(bench_free_port)"; CMD[$1]="${2//\{port\}/${PORT[$1]}}"; }

for mode in $LOGS; do
  case "$mode" in off|file) ;; *) echo "run.sh: --log takes off and/or file, not '$mode'" >&2; exit 2 ;; esac
done

# "off" -> no suffix and no log; "file" -> "+log" and a file under $WORK.
suffix_of() { [ "$1" = file ] && echo "+log" || true; }
log_arg_of() { [ "$1" = file ] && echo "$WORK/logs/$2.log" || echo off; }
mkdir -p "$WORK/logs"

add_nginx() {  # name log-mode
  local name=$1 mode=$2 dir="$WORK/$1" log_line="access_log off;"
  mkdir -p "$dir/logs"
  [ "$mode" = file ] && log_line="access_log $(log_arg_of file "$name");"
  add_server "$name" "nginx -p $dir -c $dir/nginx.conf -e stderr"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  $log_line
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  server {
    listen 127.0.0.1:${PORT[$name]};
    location / { default_type text/plain; return 200 "Hello, world!\n"; }
  }
}
NGINX
}

# wink itself, serving the WAGI hello example, unless told otherwise.
if [ -z "$WINK_CMD" ] && [ -x "$BUILD/src/cli/wink" ]; then
  make -s -C "$ROOT/examples" >/dev/null
  WINK_CMD="env WINK_DATA_DIR=$WORK/wink-data $BUILD/src/cli/wink up $ROOT/examples/hello --listen 127.0.0.1:{port} --workers 1 --access-log {log}"
fi

for mode in $LOGS; do
  sfx="$(suffix_of "$mode")"
  skipped nginx || add_nginx "nginx$sfx" "$mode"
  if ! skipped wink-http; then
    add_server "wink-http$sfx" "$HELLO --port {port} --workers 1 --access-log $(log_arg_of "$mode" "wink-http$sfx")"
  fi
  if [ -n "$BASE_CMD" ]; then
    add_server "wink-base$sfx" "${BASE_CMD//\{log\}/$(log_arg_of "$mode" "wink-base$sfx")}"
  fi
  if [ -n "$WINK_CMD" ] && ! skipped wink; then
    add_server "wink$sfx" "${WINK_CMD//\{log\}/$(log_arg_of "$mode" "wink$sfx")}"
  fi
done

if ! skipped node && [[ " $LOGS " == *" off "* ]]; then
  cat > "$WORK/node-server.js" <<'NODE'
const http = require('http');
const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 14 });
  res.end('Hello, world!\n');
});
server.keepAliveTimeout = 75000;
server.listen(port, '127.0.0.1');
NODE
  add_server node "node $WORK/node-server.js {port}"
fi

if ! skipped workerd && [[ " $LOGS " == *" off "* ]]; then
  WORKERD_BIN="$(bench_workerd "$BUILD/bench/workerd")"
  if [ -n "$WORKERD_BIN" ]; then
    cat > "$WORK/worker.js" <<'JS'
export default {
  async fetch(request) {
    return new Response("Hello, world!\n", { headers: { "Content-Type": "text/plain" } });
  },
};
JS
    add_server workerd "$WORKERD_BIN serve $WORK/workerd.capnp"
    bench_workerd_config "$WORK/workerd.capnp" "${PORT[workerd]}" 2024-01-01 worker.js
  else
    echo "run.sh: workerd not available (npm install failed); skipping it" >&2
  fi
fi

# --- start every server, pinned, and check it answers the same bytes -----------
for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2086
  bench_start "$WORK/$name.log" ${CMD[$name]}
  SPID[$name]=$BENCH_PID
  bench_wait_http "http://127.0.0.1:${PORT[$name]}/" "$BENCH_PID" 30 ||
    { echo "run.sh: $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  got="$BENCH_GOT"
  if [ "$got"$'\n' != "$BODY" ]; then
    echo "run.sh: $name answered '$got', not the hello body" >&2; exit 1
  fi
  echo "run.sh: $name ready on ${PORT[$name]}" >&2
  curl -s -D - -o /dev/null "http://127.0.0.1:${PORT[$name]}/" | tr -d '\r' | sed "s/^/  $name: /" \
    >"$WORK/$name.headers"
done

run_wrk() {  # name concurrency seconds round -> appends one slice's raw figures to slices.tsv
  local name=$1 c=$2 secs=$3 round=$4
  local cpu0 cpu1 cs0 cs1
  cpu0="$(bench_cpu_ticks "${SPID[$name]}")"
  cs0="$(bench_ctx_switches "${SPID[$name]}")"
  bench_wrk "$WORK/wrk-$name-$c-$round.txt" "$c" "$secs" "http://127.0.0.1:${PORT[$name]}/"
  cpu1="$(bench_cpu_ticks "${SPID[$name]}")"
  cs1="$(bench_ctx_switches "${SPID[$name]}")"
  # name c round, then requests req/s p50 p99 non-2xx socket-errors (bench_wrk_fields), CPU ticks, switches
  IFS=$'\t' read -r total rps p50 p99 non2xx sockerr < <(bench_wrk_fields "$WORK/wrk-$name-$c-$round.txt"; echo)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$c" "$round" "$total" "$rps" "$p50" "$p99" \
    "$non2xx" "$sockerr" "$(( cpu1 - cpu0 ))" "$(( cs1 - cs0 ))" >>"$WORK/slices.tsv"
}

echo "run.sh: warm-up" >&2
for name in "${NAMES[@]}"; do
  bench_wrk "$WORK/warmup.txt" 16 2 "http://127.0.0.1:${PORT[$name]}/"
done

# A round's measurement of each server is cut into slices of about a second,
# the servers taking turns slice by slice: a change of the machine's speed
# (these VMs drift by tens of percent over seconds) then hits every server
# of the round alike.
SLICES="${SLICES:-$DURATION}"
SLICE_SECS=$(( DURATION / SLICES ))
if [ "$SLICE_SECS" -lt 1 ] || [ $(( SLICE_SECS * SLICES )) != "$DURATION" ]; then
  echo "run.sh: --duration $DURATION must be a whole number of seconds per slice (--slices $SLICES)" >&2
  exit 2
fi
: >"$WORK/slices.tsv"
for c in $CONCURRENCY; do
  for round in $(seq 1 "$ROUNDS"); do
    # Odd rounds in order, even rounds reversed (A B C, C B A, ...): a drift
    # of the machine's speed within a round then favours no server.
    order=("${NAMES[@]}")
    if [ $((round % 2)) = 0 ]; then
      order=()
      for ((k = ${#NAMES[@]} - 1; k >= 0; k--)); do order+=("${NAMES[$k]}"); done
    fi
    echo "run.sh: c=$c round $round: ${order[*]}, $SLICES slices of ${SLICE_SECS} s each" >&2
    for slice in $(seq 1 "$SLICES"); do
      for name in "${order[@]}"; do
        run_wrk "$name" "$c" "$SLICE_SECS" "$round"
      done
    done
  done
done
# One line per server, concurrency and round: requests and CPU summed over
# the slices, req/s their mean (equal durations), p50 the mean, p99 the worst.
python3 - "$WORK/slices.tsv" "$(getconf CLK_TCK)" >"$WORK/results.tsv" <<'PY'
import collections, sys
hz = int(sys.argv[2])
rounds = collections.OrderedDict()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 11:
        continue
    rounds.setdefault(tuple(f[:3]), []).append(f[3:])
for (name, c, rnd), sl in rounds.items():
    total = sum(int(x[0]) for x in sl)
    rps = sum(float(x[1]) for x in sl) / len(sl)
    p50 = sum(float(x[2]) for x in sl) / len(sl)
    p99 = max(float(x[3]) for x in sl)
    non2xx = sum(int(x[4] or 0) for x in sl)
    sockerr = "; ".join(x[5] for x in sl if x[5])
    ticks = sum(int(x[6]) for x in sl)
    switches = sum(int(x[7]) for x in sl)
    cpu = ticks / hz * 1e6 / total if total else 0.0
    cs = switches / total if total else 0.0
    print("\t".join([name, c, rnd, f"{rps:.1f}", f"{p50:.4f}", f"{p99:.4f}", str(non2xx), sockerr,
                     f"{cpu:.2f}", f"{cs:.3f}"]))
PY

# --- report --------------------------------------------------------------------
STAMP="$(date -u +%Y-%m-%d)"
REPORT_DIR="${RESULTS:-$WORK}"  # BENCH_RESULTS="": the report stays in the scratch directory
mkdir -p "$REPORT_DIR"
REPORT="$REPORT_DIR/http-$STAMP.md"
CHART="$REPORT_DIR/http-$STAMP.png"
WORKERD_VERSION="$( [ -n "${WORKERD_BIN:-}" ] && "$WORKERD_BIN" --version 2>/dev/null | head -1 || echo -)"
python3 - "$WORK/results.tsv" "$REPORT" "$WORK/chart.dat" "${NAMES[*]}" <<PY
import collections, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names = sys.argv[4].split()
data = collections.defaultdict(list)
for name, c, rnd, rps, p50, p99, non2xx, sockerr, cpu, cs in rows:
    data[(name, int(c))].append((float(rps), float(p50), float(p99), int(non2xx), sockerr, float(cpu),
                                 float(cs)))
concs = sorted({int(r[1]) for r in rows})
out = []
out.append("# HTTP ingress benchmark ($STAMP)\n")
out.append("Hello response (200, \`Content-Type: text/plain\`, \`Hello, world!\\\\n\`), keep-alive, "
           "wrk -t1 pinned to CPU 1, each server pinned to CPU 0 with one worker, "
           "${DURATION} s per measurement in ${SLICES} slices taken in turns, ${ROUNDS} interleaved rounds (A B C, then C B A, ...) after a 2 s warm-up.\n")
out.append("| | |\n|---|---|")
out.append("| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |")
out.append("| kernel | $(uname -r) |")
out.append("| cpu | $(bench_cpu) |")
out.append("| nproc | $(nproc) |")
out.append("| compiler | $(c++ --version | head -1) |")
out.append("| wrk | $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2) |")
out.append("| nginx | $(nginx -v 2>&1 | cut -d/ -f2) (worker_processes 1, \`return 200\`; access_log off, or to a file for +log) |")
out.append("| node | $(node --version) (\`http\` module) |")
out.append("| workerd | ${WORKERD_VERSION} |")
out.append("| wink-http | \`wink_http_hello\`: the wink HTTP server with a native C++ handler |")
out.append("| access logs | $LOGS (+log: each server appends its access log to a file) |")
if "wink" in names or "wink+log" in names:
    out.append("| wink | \`${WINK_CMD}\` |")
if "wink-base" in names or "wink-base+log" in names:
    out.append("| wink-base | \`${BASE_CMD}\` |")
out.append("")
def peer(n):  # the nginx with the same access-log mode
    return "nginx+log" if n.endswith("+log") else "nginx"
out.append("req/s per round, ratio = sum of rounds / the sum of nginx's (same access-log mode); "
           "latency in ms, mean over rounds (p99: worst round).\n")
out.append("CPU us/req: the server's CPU time (user + system, all threads) per request answered, "
           "mean over rounds: it holds when other work shares the core, where req/s does not. "
           "cs/req: the server's context switches (all threads) per request.\n")
out.append("| server | conc. | req/s (rounds) | req/s mean | vs nginx | p50 ms | p99 ms | spread | CPU us/req | cs/req |")
out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
noisy = []
for c in concs:
    for n in names:
        base = sum(r[0] for r in data.get((peer(n), c), [])) or float("nan")
        rs = data.get((n, c))
        if not rs:
            continue
        rps = [r[0] for r in rs]
        mean = sum(rps) / len(rps)
        spread = (max(rps) - min(rps)) / mean if mean else 0
        if spread > 0.10:
            noisy.append(f"{n} c={c}")
        p50 = sum(r[1] for r in rs) / len(rs)
        p99 = max(r[2] for r in rs)
        errs = sum(r[3] for r in rs)
        note = f" ({errs} non-2xx)" if errs else ""
        out.append(f"| {n} | {c} | {' / '.join(f'{x:,.0f}' for x in rps)} | {mean:,.0f}{note} | "
                   f"{sum(rps)/base:.2f} | {p50:.3f} | {p99:.3f} | {spread*100:.0f}% | "
                   f"{sum(r[5] for r in rs)/len(rs):.1f} | {sum(r[6] for r in rs)/len(rs):.2f} |")
out.append("")
if noisy:
    out.append("Rounds differ by more than 10% for: " + ", ".join(noisy) +
               " (noisy machine; read those ratios with care).\n")
else:
    out.append("All rounds within 10% of each other.\n")
# Each server against its nginx, round by round (the rounds ran back to back, A B C, C B A).
ratio_rows = []
for n in names:
    if n.startswith("nginx"):
        continue
    for c in concs:
        rs, base = data.get((n, c)), data.get((peer(n), c))
        if not rs or not base:
            continue
        per = [a[0] / b[0] for a, b in zip(rs, base) if b[0]]
        total = sum(a[0] for a in rs) / sum(b[0] for b in base)
        cpu = [b[5] / a[5] for a, b in zip(rs, base) if a[5]]
        ratio_rows.append(f"| {n} | {c} | {' / '.join(f'{x:.2f}' for x in per)} | "
                          f"{min(per):.2f}-{max(per):.2f} | {total:.2f} | "
                          f"{min(cpu):.2f}-{max(cpu):.2f} |")
if ratio_rows:
    out.append("Each server / nginx (same access-log mode), per round, and its spread:\n")
    out.append("| server | conc. | req/s ratio per round | min-max | ratio of sums | "
               "CPU-per-request ratio (nginx / server) min-max |")
    out.append("|---|---:|---|---:|---:|---:|")
    out.extend(ratio_rows)
    out.append("")
out.append("![req/s by server and concurrency](http-$STAMP.png)\n")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
with open(sys.argv[3], "w") as f:
    f.write("conc " + " ".join(names) + "\n")
    for c in concs:
        vals = []
        for n in names:
            rs = data.get((n, c))
            vals.append(f"{sum(r[0] for r in rs)/len(rs):.0f}" if rs else "0")
        f.write(f"c={c} " + " ".join(vals) + "\n")
PY
{
  echo "## Response headers as sent"
  echo
  echo '```'
  for name in "${NAMES[@]}"; do cat "$WORK/$name.headers"; done
  echo '```'
} >>"$REPORT"

gnuplot <<GP
set terminal pngcairo size 900,500 noenhanced
set output "$CHART"
set title "HTTP hello, one server core (req/s, higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "requests/s"
set yrange [0:*]
set grid ytics
set key top left
plot for [i=2:$(( ${#NAMES[@]} + 1 ))] "$WORK/chart.dat" using i:xtic(1) title columnheader(i)
GP
cat "$REPORT"
if [ -n "$RESULTS" ]; then echo "run.sh: wrote $REPORT and $CHART" >&2; fi
