#!/usr/bin/env bash
# Issue 13's scorecard in one command: runs each row's existing benchmark with
# settings enough for a verdict, parses the figure it prints, and prints one
# markdown table (row, the issue's "today" figure measured on main at 381ce80,
# the figure now with its spread or control, the goal, held / not held), then
# every benchmark's full output. Not a test: it asserts nothing, and its exit
# status says only whether every benchmark ran. See docs/benchmarks.md.
#
# Usage: bench/scorecard.sh [--only "ROWS"] [--quick] [--build DIR]
#   rows: http http-log wake restore instantiate standby warmup burst compile (default all)
#   --quick   a smoke run of the script itself (tiny durations, every verdict marked
#             "smoke", the compile row skipped: it takes minutes on any setting)
#   BENCH_RESULTS=<root>/bench/results  where scorecard-<date>.md goes ("" : no file)
#   BENCH_BUILD=<root>/build            the build tree (--build wins)
#   BENCH_SERVER_CPU=0, BENCH_CLIENT_CPU=1  pinning (bench/support/bench.sh)
#
# Settings of the full run (about 8 min for the rows up to burst, plus the
# compile row: ~4 min on a quiet 2-core VM, up to ~20 under heavy load; under
# 35 min in all) and of --quick (under a minute):
#   http, http-log  bench/http/run.sh --only "nginx wink" --log "off file" (only the
#                   modes asked) --rounds 4 --duration 5, c = 1/16/128   | quick: 1 round of 1 s
#   wake            wake_http_bench --sizes 1,64,256,512 --touch 1,64,1024 --rounds 15
#                                                         | quick: --sizes 1,64 --touch 1,64 --rounds 2
#   restore         restore_http_bench --mb 8 --requests 400 --rounds 3 | quick: --requests 20 --rounds 1
#   instantiate     instantiate_bench (hello, 100,000 iterations) 3 times on the server CPU
#                                                         | quick: once, 10,000 iterations
#   standby         lifecycle_bench wake 64 (200 standbys) and lifecycle_bench idle 64 (30 cycles);
#                   standby_http_bench --rounds 20 when built | quick: the same, --rounds 3
#   warmup          warmup_http_bench --rounds 5          | quick: --rounds 1
#   burst           burst_http_bench --burst 64 --rounds 12 | quick: --rounds 1
#   compile         bench/compile/yosys.sh (quick tier -O0, 2 jobs, from a cold cache;
#                   npm ci of @yowasp/yosys)              | quick: skipped
set -euo pipefail
# shellcheck source=bench/support/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/support/bench.sh"

ALL_ROWS="http http-log wake restore instantiate standby warmup burst compile"
ROWS="$ALL_ROWS"
QUICK=""
BUILD="${BENCH_BUILD:-$ROOT/build}"
RESULTS="${BENCH_RESULTS-$ROOT/bench/results}"
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ROWS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --build) BUILD="$2"; shift 2 ;;
    *) echo "scorecard: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
for row in $ROWS; do
  [[ " $ALL_ROWS " == *" $row "* ]] || { echo "scorecard: no row '$row' (rows: $ALL_ROWS)" >&2; exit 2; }
done
BUILD="$(cd "$BUILD" 2>/dev/null && pwd)" || { echo "scorecard: no build tree (cmake -S . -B build -G Ninja)" >&2; exit 2; }

bench_init scorecard
bench_require taskset python3 clang
wanted() { [[ " $ROWS " == *" $1 "* ]]; }

# --- build only what the chosen rows run ----------------------------------------
targets=()
{ wanted http || wanted http-log; } && targets+=(wink)
wanted wake && targets+=(wink wake_http_bench)
wanted restore && targets+=(wink restore_http_bench)
wanted instantiate && targets+=(instantiate_bench)
wanted standby && targets+=(lifecycle_bench)
# (a build with the component toolchain also has the component standby bench)
wanted standby && ninja -C "$BUILD" -t query standby_http_bench >/dev/null 2>&1 && targets+=(standby_http_bench)
wanted warmup && targets+=(wink warmup_http_bench)
wanted burst && targets+=(wink burst_http_bench)
wanted compile && [ -z "$QUICK" ] && targets+=(compile_bench)
if [ ${#targets[@]} -gt 0 ]; then
  bench_log "building ${targets[*]}"
  nice ninja -C "$BUILD" "${targets[@]}" >&2
fi

# run_row ROW CMD...: runs one benchmark, its stdout in ROW.out, its stderr in
# ROW.err, exit status and seconds in ROW.meta; never stops the scorecard.
run_row() {
  local row=$1 t0 rc=0
  shift
  bench_log "$row: $*"
  t0=$(date +%s)
  "$@" >"$BENCH_WORK/$row.out" 2>"$BENCH_WORK/$row.err" || rc=$?
  echo "$rc $(( $(date +%s) - t0 ))" >"$BENCH_WORK/$row.meta"
  [ "$rc" = 0 ] || bench_log "$row: exit $rc: $(tail -3 "$BENCH_WORK/$row.err" | tr '\n' ' ')"
}
q() { [ -n "$QUICK" ] && echo "$1" || echo "$2"; }  # q QUICK_VALUE FULL_VALUE

# --- the rows ----------------------------------------------------------------------
START=$(date +%s)
if wanted http || wanted http-log; then
  logs=""
  wanted http && logs+="off "
  wanted http-log && logs+="file"
  run_row http env BENCH_RESULTS="" "$ROOT/bench/http/run.sh" --build "$BUILD" --only "nginx wink" \
    --log "$logs" --rounds "$(q 1 4)" --duration "$(q 1 5)" --concurrency "1 16 128"
fi
if wanted wake; then
  run_row wake "$BUILD/bench/lifecycle/wake_http_bench" --sizes "$(q 1,64 1,64,256,512)" \
    --touch "$(q 1,64 1,64,1024)" --rounds "$(q 2 15)"
fi
if wanted restore; then
  run_row restore "$BUILD/bench/snapshot/restore_http_bench" --mb 8 --requests "$(q 20 400)" --rounds "$(q 1 3)"
fi
if wanted instantiate; then
  clang --target=wasm32-wasi -O2 "$ROOT/tests/guests/engine_hello.c" -o "$BENCH_WORK/hello.wasm"
  # shellcheck disable=SC2317  # run by run_row
  instantiate_runs() {
    local _
    for _ in $(seq 1 "$(q 1 3)"); do
      WINK_DATA_DIR="$BENCH_WORK/engine-data" taskset -c "$BENCH_SERVER_CPU" \
        "$BUILD/bench/engine/instantiate_bench" "$BENCH_WORK/hello.wasm" "$(q 10000 100000)" || return
    done
  }
  run_row instantiate instantiate_runs
fi
if wanted standby; then
  # shellcheck disable=SC2317  # run by run_row
  standby_runs() {
    taskset -c "$BENCH_SERVER_CPU" "$BUILD/bench/lifecycle/lifecycle_bench" wake 64 &&
      taskset -c "$BENCH_SERVER_CPU" "$BUILD/bench/lifecycle/lifecycle_bench" idle 64 &&
      if [ -x "$BUILD/bench/lifecycle/standby_http_bench" ]; then
        "$BUILD/bench/lifecycle/standby_http_bench" --rounds "$(q 3 20)"
      fi
  }
  run_row standby standby_runs
fi
if wanted warmup; then
  run_row warmup "$BUILD/bench/snapshot/warmup_http_bench" --rounds "$(q 1 5)"
fi
if wanted burst; then
  run_row burst "$BUILD/bench/lifecycle/burst_http_bench" --burst 64 --rounds "$(q 1 12)"
fi
if wanted compile && [ -z "$QUICK" ]; then
  # A cold cache: compile_bench compiles into a fresh directory of its own.
  run_row compile "$ROOT/bench/compile/yosys.sh" "$BUILD"
fi
ELAPSED=$(( $(date +%s) - START ))

# --- the table, then every output ----------------------------------------------------
STAMP="$(date -u +%Y-%m-%d)"
REPORT="$BENCH_WORK/scorecard.md"
{
  echo "# Issue 13 scorecard ($STAMP)$( [ -n "$QUICK" ] && echo ": smoke run (--quick)")"
  echo
  echo "\`bench/scorecard.sh$( [ -n "$QUICK" ] && echo " --quick")$( [ "$ROWS" != "$ALL_ROWS" ] && echo " --only \"$ROWS\"")\`,"
  echo "${ELAPSED} s in all. \"Today\" is issue 13's figure, measured on main at 381ce80;"
  echo "\"now\" is this run, with the peer or control measured beside it in the same run."
  echo
  echo "| | |"
  echo "|---|---|"
  bench_machine
  echo "| commit | $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo -)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)') |"
  echo
  python3 - "$BENCH_WORK" "$ROWS" "$QUICK" <<'PY'
import os, re, statistics, sys

work, rows, quick = sys.argv[1], sys.argv[2].split(), sys.argv[3] == "1"

def text(row, ext="out"):
    p = os.path.join(work, f"{row}.{ext}")
    return open(p).read() if os.path.exists(p) else ""

def table_rows(out):
    """The cells of every markdown table row of a benchmark's output."""
    return [[c.strip() for c in l.strip().strip("|").split("|")]
            for l in out.splitlines() if l.startswith("|") and not l.startswith("|---")]

def num(s):
    return float(re.search(r"[-+]?\d+(?:\.\d+)?", s).group(0))

# Each parser returns (figure now, held: True/False); it raises when the
# benchmark did not print what it needs (reported as "no figure").
def http(name):
    def parse():
        # bench/http/run.sh's "Each server / nginx" table: server | conc. | per round | min-max | ratio of sums | CPU
        got = {int(r[1]): r for r in table_rows(text("http")) if len(r) == 6 and r[0] == name}
        if sorted(got) != [1, 16, 128]:
            raise ValueError(f"no {name} / nginx ratio for every c")
        parts, held = [], True
        for c in (1, 16, 128):
            lo, hi = (float(x) for x in got[c][3].split("-"))
            held &= lo >= 0.9
            parts.append(f"c={c} {got[c][4]}x ({lo:.2f}-{hi:.2f})")
        return ", ".join(parts) + " (ratio of sums, per-round min-max; nginx beside it)", held
    return parse

def wake():
    out = text("wake")
    added, split = {}, {}
    for r in table_rows(out):
        if len(r) == 10 and r[0].endswith("MiB") and "failed" not in r[9]:
            mb, touch = int(num(r[0])), int(r[1])
            added[(mb, touch)] = num(r[4])
            asleep_wake, asleep_exec = (num(x) for x in r[6].split("/"))
            split[(mb, touch)] = asleep_wake + asleep_exec - num(r[7])
    at64 = {t: a for (mb, t), a in added.items() if mb == 64}
    if not at64:
        raise ValueError("no 64 MiB row")
    spans = {}
    for t in sorted({t for _, t in added}):
        vals = [a for (mb, tt), a in added.items() if tt == t]
        spans[t] = (min(vals), max(vals))
    faults = re.search(r"first write to anonymous memory ([\d.]+) us/page; first read of a private "
                       r"memfd mapping ([\d.]+)", out)
    held = all(a < 1.0 for a in at64.values()) and all(hi - lo < 1.0 for lo, hi in spans.values())
    sizes = sorted({mb for mb, _ in added})
    touches = sorted(at64)
    t_label = "/".join(map(str, touches))
    fig = (f"added vs awake at 64 MiB (median of pair differences), touching {t_label} pages: " +
           " / ".join(f"{at64[t]:+.2f}" for t in touches) +
           f" ms; spread of the added over {'/'.join(map(str, sizes))} MiB: " +
           " / ".join(f"{spans[t][0]:+.2f}..{spans[t][1]:+.2f}" for t in sorted(spans)) +
           " ms; server side at 64 MiB (wake + exec - awake exec): " +
           " / ".join(f"{split[(64, t)]:.3f}" for t in touches) + " ms" +
           (f"; page fault {faults.group(1)} us (anon write), {faults.group(2)} us (memfd read)" if faults else ""))
    return fig, held

def restore():
    out = text("restore")
    m = re.search(r"this build: snapshot / control whole request p50 ([\d.]+)x; restore part = server CPU p50 "
                  r"snapshot - control ([-\d.]+) us", out)
    snap = [r for r in table_rows(out) if len(r) == 8 and r[1].startswith("snapshot")]
    ctrl = [r for r in table_rows(out) if len(r) == 8 and r[1].startswith("control")]
    if not m or not snap or not ctrl:
        raise ValueError("no restore summary line")
    part = float(m.group(2))
    return (f"restore part (server CPU p50, snapshot - control) {part:.1f} us; whole request p50 "
            f"{snap[0][2].split('/')[0].strip()} ms vs control {ctrl[0][2].split('/')[0].strip()} ms "
            f"({m.group(1)}x)"), part <= 50.0

def instantiate():
    out = text("instantiate")
    runs = [(float(a), float(b), float(c)) for a, b, c in re.findall(
        r"median_us=([\d.]+) p99_us=([\d.]+) .*faults_per_instance=([\d.]+)", out)]
    faults = [float(x) for x in re.findall(r"machine page fault: ([\d.]+) us", out)]
    if not runs:
        raise ValueError("no median_us line")
    med = [r[0] for r in runs]
    fpi = max(r[2] for r in runs)
    held = max(med) <= 2.0 and fpi < 0.01
    return (f"median {statistics.median(med):.2f} us ({min(med):.2f}-{max(med):.2f}, {len(runs)} runs), "
            f"p99 {max(r[1] for r in runs):.2f} us, {fpi:.4f} faults per instance; page fault "
            f"{min(faults):.2f}-{max(faults):.2f} us"), held

def standby():
    out = text("standby")
    row = [r for r in table_rows(out) if len(r) == 7 and r[0] == "64 MiB" and r[1] == "yes"]
    idle = re.search(r"\(64 MiB, stateful, real clock\): p50 ([-\d.]+) ms, p99 ([-\d.]+) ms", out)
    if not row or not idle:
        raise ValueError("no 64 MiB stateful standby or idle line")
    p50, p99 = (num(x) for x in row[0][5].split("/"))
    # Every cycle within idle_timeout + 5 ms: the p99 of 30 is the worst,
    # which is the first standby right after the start.
    held = p50 < 1.0 and float(idle.group(2)) < 5.0
    # Over `wink up`, 128 MiB: a core reactor and wasi:http components, with and
    # without a start image (standby_http_bench), when built.
    http = [r for r in table_rows(out) if len(r) == 5 and r[0].endswith("reactor")]
    extra = "".join(f"; {r[0]} over HTTP (128 MiB): later standbys p50 {r[2].split('/')[0].strip()} ms, "
                    f"first {r[1]} ms (MB written), vs a memcpy of the state {r[4]}" for r in http)
    return (f"standby p50 {p50:.3f} ms (p99 {p99:.1f} ms), saved {row[0][6]}; idle timeout -> memory released "
            f"p50 +{float(idle.group(1)):.2f} ms (p99 +{float(idle.group(2)):.1f} ms) past idle_timeout{extra}"), held

def warmup():
    got = {}
    for r in table_rows(text("warmup")):
        if len(r) == 6 and r[1] != "first request p50 (ms)":
            key = "warmup" if "warmup" in r[0] else "init" if r[0].startswith("`init`") else "none"
            rounds = [float(x) for x in r[2].split(",") if x.strip()]
            got[key] = (float(r[1]), r[5].strip("`"), min(rounds), max(rounds))
    if len(got) != 3:
        raise ValueError("not three start states")
    w, i, n = got["warmup"][0], got["init"][0], got["none"][0]
    held = got["warmup"][1].startswith("built=nothing") and w * 10 <= i
    spread = lambda k: f"{got[k][2]:.1f}-{got[k][3]:.1f}"
    return (f"first request p50: warmup {w:.2f} ms ({spread('warmup')}; `{got['warmup'][1]}`), `init` alone "
            f"{i:.1f} ms ({spread('init')}; {i / max(w, 1e-9):.0f}x), no snapshot {n:.1f} ms ({spread('none')}; "
            f"{n / max(w, 1e-9):.0f}x)"), held

def burst():
    out = text("burst")
    rs = {r[0].split()[0]: r for r in table_rows(out) if len(r) == 7 and r[0] != "burst onto"}
    pooled = re.search(r"all rounds pooled: ([\d.]+)x", out)
    per = re.search(r"per round: median ([\d.]+)x, min ([\d.]+)x, max ([\d.]+)x \((\d+) rounds", out)
    if "0" not in rs or "running" not in rs or not pooled or not per:
        raise ValueError("no burst table or ratio line")
    ready = [float(x) for x in rs["0"][2].split("/")]
    failed = int(rs["0"][6]) + int(rs["running"][6])
    held = ready[2] <= 10.0 and float(pooled.group(1)) <= 2.0 and failed == 0
    return (f"arrival -> own instance serving p99 {ready[1]:.2f} ms, max {ready[2]:.2f} ms; whole request p99 "
            f"{rs['0'][1].split('/')[1].strip()} ms vs {rs['running'][1].split('/')[1].strip()} ms running: "
            f"{pooled.group(1)}x pooled, per round median {per.group(1)}x ({per.group(2)}-{per.group(3)}x, "
            f"{per.group(4)} rounds)" + (f", {failed} failed" if failed else "")), held

def compile_():
    out = text("compile")
    r = [r for r in table_rows(out) if len(r) == 11 and r[1] == "one-shot"]
    rss = re.search(r"peak RSS (\d+) KB, ([\d.]+) s", out + text("compile", "err"))
    if not r:
        raise ValueError("no one-shot row")
    servable = float(r[0][9])
    return (f"yosys first servable {servable:.1f} s (quick tier -O0, 2 jobs, cold)" +
            (f", peak RSS {int(rss.group(1)) / 1048576:.1f} GB" if rss else "")), servable < 60.0

ROWS = [  # id, measure, today (issue 13 at 381ce80), goal, parser
    ("http", "hello WAGI req/s vs nginx, logs off", "c=1 0.75-0.88x, c=16 0.74-0.85x, c=128 0.47-0.79x "
     "(bench/http: 0.84 / 1.06 / 0.78)", ">= 0.9x at every c in every round", http("wink")),
    ("http-log", "the same, both logging to a file", "0.89 / 0.75 / 0.80", ">= 0.9x at every c in every round",
     http("wink+log")),
    ("wake", "request to a sleeping stateful reactor vs awake (non-zero heap, over HTTP)",
     "1 MiB +0.45 ms; 16 MiB +1.6 ms; 64 MiB +3.1 ms; 256 MiB +8.3 ms",
     "< 1 ms added at 64 MiB, flat in memory size (spread < 1 ms)", wake),
    ("restore", "pre-initialized guest restored from its snapshot (8 MB, writes one page)",
     "p50 0.265 ms whole request over HTTP", "<= 0.05 ms (the restore part of server CPU)", restore),
    ("instantiate", "hello instantiate + run + destroy", "2.6-3.4 us median (page faults 12-14 us)",
     "<= 2 us median, no page fault per instance", instantiate),
    ("standby", "stateful standby of 64 MiB that wrote 1 page since its wake",
     "copies every non-zero page: 34-76 ms at 64 MiB", "< 1 ms; idle timeout -> memory released within "
     "idle_timeout + 5 ms (p99: the first standby after the start too)", standby),
    ("warmup", "warm-up requests (Instaboot): first request", "`warmup` refused by the manifest",
     "served; first request with warmup >= 10x faster than `init` alone", warmup),
    ("burst", "burst of 64 onto 0 instances over HTTP", "0.015 ms in-process only",
     "capacity within 10 ms; p99 within 2x of the burst to running instances", burst),
    ("compile", "any module servable from cold on 2 cores (yosys, 34k functions)", "3 min 43 s, 2.8 GB",
     "< 60 s", compile_),
]

print("| row | measure | today (381ce80) | now | goal | verdict |")
print("|---|---|---|---|---|---|")
for rid, measure, today, goal, parse in ROWS:
    if rid not in rows:
        continue
    src = "http" if rid == "http-log" else rid
    meta = text(src, "meta").split()
    if not meta:
        now, verdict = "not run (--quick skips it: it takes minutes)" if quick else "not run", "-"
    else:
        rc, secs = meta
        try:
            now, held = parse()
            verdict = ("held" if held else "**not held**") + (" (smoke)" if quick else "")
        except Exception as e:  # the benchmark failed or printed no figure
            now, verdict = f"no figure ({e}; exit {rc})", "-"
        now += f" [{secs} s]"
    print(f"| {rid} | {measure} | {today} | {now} | {goal} | {verdict} |")
PY
  echo
  echo "## Full outputs"
  for row in http wake restore instantiate standby warmup burst compile; do
    [ -f "$BENCH_WORK/$row.meta" ] || continue
    read -r rc secs <"$BENCH_WORK/$row.meta"
    echo
    echo "### $row (exit $rc, $secs s)"
    echo
    echo '```'
    cat "$BENCH_WORK/$row.out"
    if [ "$rc" != 0 ] || [ "$row" = compile ]; then
      echo "--- stderr (last 20 lines)"
      tail -20 "$BENCH_WORK/$row.err"
    fi
    echo '```'
  done
} >"$REPORT"

cat "$REPORT"
if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS"
  suffix=""
  [ -n "$QUICK" ] && suffix="-quick"  # a full run's name has none (and set -e must not see a false test)
  out="$RESULTS/scorecard-$STAMP$suffix.md"
  cp "$REPORT" "$out.tmp" && mv "$out.tmp" "$out"
  bench_log "wrote $out"
fi
failed=0
for m in "$BENCH_WORK"/*.meta; do
  [ -f "$m" ] && [ "$(cut -d' ' -f1 "$m")" != 0 ] && failed=1
done
exit "$failed"
