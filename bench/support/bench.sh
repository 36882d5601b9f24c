# shellcheck shell=bash
# Shared set-up of the shell benchmarks (bench/http/run.sh, bench/http/stream.sh,
# bench/components/run.sh, bench/components/cold.sh), sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/../support/bench.sh"
#   bench_init components            # $ROOT, $BENCH_WORK (removed on exit), cleanup trap
# It follows /work/shared/design/benchmarking.md: every server runs pinned to
# $BENCH_SERVER_CPU, every load generator to $BENCH_CLIENT_CPU, each server
# in its own process group so that stopping it also stops what it started
# (wink's background compiles, workerd's children).

BENCH_SUPPORT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_SUPPORT/../.." && pwd)"
BENCH_SERVER_CPU="${BENCH_SERVER_CPU:-0}"
BENCH_CLIENT_CPU="${BENCH_CLIENT_CPU:-1}"
BENCH_PIDS=()
BENCH_WORK=""
BENCH_NAME="bench"

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]:-}"; do
    [ -n "$pid" ] && { kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; }
  done
  wait 2>/dev/null || true
  [ -n "$BENCH_WORK" ] && rm -rf "$BENCH_WORK"
  return 0
}

# bench_init NAME: a scratch directory $BENCH_WORK, removed with every server on exit.
bench_init() {
  BENCH_NAME="$1"
  BENCH_WORK="$(mktemp -d "/tmp/wink-$1-bench.XXXXXX")"
  set +m  # background servers stay in this shell's group until setsid makes their own
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_log() { echo "$BENCH_NAME: $*" >&2; }
bench_die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# bench_require TOOL...: each on PATH, or exit naming the one missing.
bench_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || bench_die "$tool missing (scripts/setup.sh)"
  done
}

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_wink BUILD: the wink binary of that build, or exit saying how to make it.
bench_wink() {
  local wink="$1/src/cli/wink"
  [ -x "$wink" ] || bench_die "no $wink (ninja -C $1 wink)"
  echo "$wink"
}

# bench_start LOG CMD...: starts CMD pinned to the server CPU in its own
# process group (stopped on exit), its stdout and stderr in LOG; $BENCH_PID
# is its pid (= its group). BENCH_PIN="" starts it unpinned.
bench_start() {
  local log=$1
  shift
  if [ -n "${BENCH_PIN-x}" ]; then
    setsid taskset -c "$BENCH_SERVER_CPU" "$@" >"$log" 2>&1 </dev/null &
  else
    setsid "$@" >"$log" 2>&1 </dev/null &
  fi
  BENCH_PID=$!
  BENCH_PIDS+=("$BENCH_PID")
}

# bench_stop PID: stops that server (its whole group) and waits for it.
bench_stop() {
  kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local i
  for i in "${!BENCH_PIDS[@]}"; do [ "${BENCH_PIDS[$i]}" = "$1" ] && unset 'BENCH_PIDS[i]'; done
  return 0
}

# bench_wait_http URL PID SECONDS [CURL ARGS...]: polls URL until it answers
# (body in $BENCH_GOT); 1 if PID exits or SECONDS pass first.
bench_wait_http() {
  local url=$1 pid=$2 secs=$3 end
  shift 3
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if BENCH_GOT="$(curl -s --max-time 5 "$@" "$url")"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# bench_wait_log FILE PATTERN PID SECONDS [FAIL_PATTERN]: waits for a line
# matching PATTERN (grep -E) in FILE; 1 if PID exits, SECONDS pass, or
# FAIL_PATTERN shows up first.
bench_wait_log() {
  local file=$1 pattern=$2 pid=$3 secs=$4 fail=${5:-} end
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
    [ -n "$fail" ] && grep -qE -- "$fail" "$file" 2>/dev/null && return 1
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# bench_wink_ready LOG PID SECONDS [OPT_SECONDS]: `wink up` listening within
# SECONDS (1 with the reason on stderr otherwise) and, when it started on
# the quick tier, the optimized tier swapped in within OPT_SECONDS (default
# SECONDS), which is what a user measures once the compile is done.
# $BENCH_WINK_TIER says which tier serves: "optimized", or "quick (...)"
# when the optimized build failed or was not ready in time.
bench_wink_ready() {
  local log=$1 pid=$2 secs=$3 opt=${4:-$3}
  BENCH_WINK_TIER="optimized"
  if ! bench_wait_log "$log" 'listening on' "$pid" "$secs"; then
    bench_log "wink did not start listening: $(grep -v '^ ' "$log" | tail -2 | tr '\n' ' ')"
    return 1
  fi
  if grep -q 'serving the quick tier' "$log"; then
    bench_log "wink serves the quick tier; waiting (up to ${opt} s) for the optimized tier"
    if ! bench_wait_log "$log" '"msg":"optimized tier swapped in"' "$pid" "$opt" '"msg":"optimized build failed'; then
      kill -0 "$pid" 2>/dev/null || { bench_log "wink exited: $(tail -1 "$log")"; return 1; }
      if grep -q '"msg":"optimized build failed' "$log"; then
        BENCH_WINK_TIER="quick (-O0): the optimized build failed"
      else
        BENCH_WINK_TIER="quick (-O0): the optimized build was not ready after ${opt} s"
      fi
      bench_log "measuring the $BENCH_WINK_TIER"
    fi
  fi
  return 0
}

# bench_wrk OUT CONCURRENCY SECONDS URL [WRK ARGS...]: one wrk run (one
# thread, --latency) pinned to the client CPU, its report in OUT. Never
# fails: a server that answers nothing gives a report with no requests (see
# bench_wrk_fields); wrk itself stops after SECONDS.
bench_wrk() {
  local out=$1 c=$2 secs=$3 url=$4
  shift 4
  taskset -c "$BENCH_CLIENT_CPU" wrk -t1 -c"$c" -d"${secs}s" --latency "$@" "$url" \
    >"$out" 2>&1 || true
}

# bench_wrk_fields OUT: one tab-separated line from a wrk report:
#   requests  req/s  p50-ms  p99-ms  non-2xx  socket-errors ("" when none)
# requests 0 (and 0 for the rest) when the server answered nothing.
bench_wrk_fields() {
  python3 - "$1" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)\b", v)
    n, u = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60000}[u]
def find(pattern, flags=0):
    m = re.search(pattern, out, flags)
    return m.group(1) if m else None
total = int(find(r"(\d+) requests in") or 0)
rps = float(find(r"Requests/sec:\s+([\d.]+)") or 0)
p50 = find(r"^\s+50%\s+(\S+)", re.M)
p99 = find(r"^\s+99%\s+(\S+)", re.M)
print("\t".join([str(total), f"{rps:.1f}", f"{ms(p50) if p50 and total else 0:.4f}",
                 f"{ms(p99) if p99 and total else 0:.4f}", find(r"Non-2xx or 3xx responses: (\d+)") or "0",
                 (find(r"Socket errors: (.*)") or "").replace("\t", " ")]))
PY
}

# bench_workerd DIR: the workerd binary pinned by bench/components/package-lock.json,
# installed into DIR (npm ci, once per lockfile), or "" when npm cannot
# install it. $WORKERD_DIR (a directory holding node_modules/workerd) wins.
bench_workerd() {
  local dir="${WORKERD_DIR:-$1}" lock="$ROOT/bench/components/package-lock.json"
  if [ -z "${WORKERD_DIR:-}" ] && ! cmp -s "$lock" "$dir/installed.lock"; then
    bench_log "npm ci (workerd, pinned by bench/components/package-lock.json) in $dir"
    mkdir -p "$dir"
    rm -f "$dir/installed.lock"
    cp "$ROOT/bench/components/package.json" "$lock" "$dir/"
    if (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1); then
      cp "$lock" "$dir/installed.lock"
    else
      bench_log "npm ci in $dir failed"
    fi
  fi
  find "$dir/node_modules/@cloudflare" -path '*/bin/workerd' -type f 2>/dev/null | head -1 || true
}

# bench_workerd_config OUT PORT COMPAT_DATE MAIN_MODULE [MODULE...]: a capnp
# config serving the ES modules (files beside OUT, MAIN_MODULE first) on
# 127.0.0.1:PORT.
bench_workerd_config() {
  local out=$1 port=$2 date=$3 mods="" m
  shift 3
  for m in "$@"; do mods+="${mods:+, }(name = \"$m\", esModule = embed \"$m\")"; done
  cat >"$out" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:$port", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ $mods ],
  compatibilityDate = "$date",
);
CAPNP
}

# Counters of a server process so far (all its threads; not its children):
# CPU time (user + system) in clock ticks, minor page faults, context switches.
bench_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
bench_minflt() { awk '{ print $10 }' "/proc/$1/stat"; }
bench_ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'; }

# bench_fault_us: this machine's cost of a first-touch page fault right now
# (us per 4 KiB page, writing 64 MiB of fresh anonymous memory, best of 3),
# printed beside figures that fault (benchmarking.md).
bench_fault_us() {
  python3 - <<'PY'
import mmap, time
n = 64 << 20
best = None
for _ in range(3):
    m = mmap.mmap(-1, n)
    t = time.perf_counter()
    for off in range(0, n, 4096):
        m[off] = 1
    dt = time.perf_counter() - t
    m.close()
    best = dt if best is None else min(best, dt)
print(f"{best / (n // 4096) * 1e6:.2f}")
PY
}

# bench_cpu: the CPU's model and cache as /proc/cpuinfo names them (the same
# code's ratios to nginx moved from 1.03x to 0.70x at c=16 between two days'
# hosts: a report says which it ran on).
bench_cpu() {
  awk -F': ' '/^model name/ && !m {m = $2} /^cache size/ && !c {c = $2} END {print m ", cache " c}' /proc/cpuinfo
}

# bench_machine: markdown rows naming the machine (for a report's header table).
bench_machine() {
  echo "| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |"
  echo "| kernel | $(uname -r) |"
  echo "| cpu | $(bench_cpu) |"
  echo "| nproc | $(nproc) |"
  echo "| load at start | $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo "| pinning | servers on CPU $BENCH_SERVER_CPU, load generator on CPU $BENCH_CLIENT_CPU |"
}
