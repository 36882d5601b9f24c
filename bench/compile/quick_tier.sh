#!/usr/bin/env bash
# The quick tier's C compiler: TinyCC vs cc -O0 (WINK_QUICK_CC=off), side by
# side in one run, for a hello guest, the synthetic program of gen_big.py and
# the componentize-js engine (the largest core module of a component), then
# the run time of CPU kernels (bench/kernels) built by tcc, cc -O0 and -O2.
#
# usage: bench/compile/quick_tier.sh [BUILD_DIR]     (markdown on stdout)
#   NFUNCS=8000          functions of the synthetic program
#   COMPONENT=js.wasm    a componentize-js component (default: the test build's
#                        examples-components/js-hello.wasm; skipped if absent)
#   JOBS=$(nproc)        parallel C compilers
# Needs tcc, clang (wasm32-wasi, wasi-libc), python3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
NFUNCS=${NFUNCS:-8000}
JOBS=${JOBS:-$(nproc)}
WORK=$(mktemp -d /tmp/wink-quick-tier.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
nice ninja -C "$BUILD" compile_bench core_compile wink >&2
BENCH=$(find "$BUILD" -name compile_bench -type f -perm -u+x | head -1)
CORE=$(find "$BUILD" -name core_compile -type f -perm -u+x | head -1)
WINK=$BUILD/src/cli/wink
COMPONENT=${COMPONENT:-$BUILD/examples-components/js-hello.wasm}

echo "## quick tier: tcc vs cc -O0"
echo
echo "- $(nproc) cores, load at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: compare the columns, not runs)"
echo "- tcc: $(tcc -v 2>&1 | head -1); cc: $(${WINK_CC:-clang} --version | head -1)"
echo

# One compile_bench one-shot -O0 compile; prints "total_s cc_s".
oneshot() {  # MODULE [env...]
  local m=$1; shift
  env "$@" "$BENCH" "$m" "oneshot:0:$JOBS" > "$WORK/row" 2> "$WORK/err" || { cat "$WORK/err" >&2; echo "- -"; return; }
  local total cc
  total=$(awk -F'|' '/one-shot/ { gsub(/ /, "", $11); print $11 }' "$WORK/row")
  cc=$(tr '\r' '\n' < "$WORK/err" | sed -n 's/.*cc+link \([0-9.]*\)s.*/\1/p' | tail -1)
  echo "$total $cc"
}

hello=$(find "$BUILD/guests" "$BUILD/tests" -name "example_hello.wasm" 2>/dev/null | head -1)
python3 "$ROOT/bench/compile/gen_big.py" "$NFUNCS" > "$WORK/big.c"
clang --target=wasm32-wasi -O2 -w "$WORK/big.c" -o "$WORK/big.wasm" -lm

echo "| module | tcc: first servable (s) | of which C compile + link (s) | cc -O0: first servable (s) | of which C compile + link (s) | C compile: cc -O0 / tcc |"
echo "| --- | --- | --- | --- | --- | --- |"
for m in ${hello:+"$hello"} "$WORK/big.wasm"; do
  read -r t_total t_cc < <(oneshot "$m")
  read -r c_total c_cc < <(oneshot "$m" WINK_QUICK_CC=off)
  awk -v n="$(basename "$m")" -v a="$t_total" -v b="$t_cc" -v c="$c_total" -v d="$c_cc" \
    'BEGIN { printf "| %s | %s | %s | %s | %s | %.1fx |\n", n, a, b, c, d, (b > 0 ? d / b : 0) }'
done
if [ -f "$COMPONENT" ]; then
  # core_compile's row: | -O | functions | code | wasm2c C | C compiled | parts | artifact | translate | cc | total |
  js() { env "$@" "$CORE" "$COMPONENT" 0 2>/dev/null | awk -F'|' '$2 ~ /^ *0 *$/ { gsub(/ /, ""); print $11, $10, $9, $3 }'; }
  read -r t_total t_cc t_tr fns < <(js)
  read -r c_total c_cc c_tr _ < <(js WINK_QUICK_CC=off)
  awk -v n="componentize-js engine ($fns functions; translate ${t_tr} / ${c_tr} s)" -v a="$t_total" -v b="$t_cc" -v c="$c_total" -v d="$c_cc" \
    'BEGIN { printf "| %s | %s | %s | %s | %s | %.1fx |\n", n, a, b, c, d, (b > 0 ? d / b : 0) }'
else
  echo "| componentize-js engine | (no component at $COMPONENT) | | | | |"
fi
echo

echo "## run time of the code: tcc vs cc -O0 vs cc -O2 (kernel ms, best of the kernel's own repeats, one core)"
echo
echo "| kernel | tcc | cc -O0 | -O2 | tcc / -O0 | tcc / -O2 |"
echo "| --- | --- | --- | --- | --- | --- |"
export WINK_DATA_DIR=$WORK/data
for k in sha256 matmul; do
  clang --target=wasm32-wasi -O2 "$ROOT/bench/kernels/$k.c" -o "$WORK/$k.wasm"
  "$WINK" compile -O 0 "$WORK/$k.wasm" -o "$WORK/$k.tcc.so" --quiet
  WINK_QUICK_CC=off "$WINK" compile -O 0 "$WORK/$k.wasm" -o "$WORK/$k.o0.so" --quiet
  "$WINK" compile -O 2 "$WORK/$k.wasm" -o "$WORK/$k.o2.so" --quiet
  declare -A ns=()
  for v in tcc o0 o2; do ns[$v]=$(taskset -c 0 "$WINK" run "$WORK/$k.$v.so" | awk '{print $2}'); done
  awk -v k="$k" -v a="${ns[tcc]}" -v b="${ns[o0]}" -v c="${ns[o2]}" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n", k, a/1e6, b/1e6, c/1e6, a/b, a/c }'
done
