#!/usr/bin/env bash
# CPU kernels built natively (clang -O2) and to wasm32-wasi (clang -O2, then
# wink's wasm2c + C compiler pipeline), run interleaved A B A B on one core.
# Prints a markdown table with the Wasm/native time ratio per kernel and
# writes it to bench/results/. Usage: bench/kernels/run.sh [path/to/wink]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
WINK=${1:-$root/build/src/cli/wink}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WINK_DATA_DIR=$work/data

kernels=(sha256 matmul json nbody)
for k in "${kernels[@]}"; do
  clang -O2 "$here/$k.c" -o "$work/$k" -lm
  clang --target=wasm32-wasi -O2 "$here/$k.c" -o "$work/$k.wasm"
  "$WINK" compile "$work/$k.wasm" -o "$work/$k.so" >/dev/null 2>&1 ||
    "$WINK" run "$work/$k.wasm" >/dev/null  # older CLI: warm the cache instead
done

declare -A nat wasm
for k in "${kernels[@]}"; do nat[$k]=0; wasm[$k]=0; done
for r in $(seq "$ROUNDS"); do
  for k in "${kernels[@]}"; do
    n=$(taskset -c 0 "$work/$k" | awk '{print $2}')
    target="$work/$k.so"; [ -f "$target" ] || target="$work/$k.wasm"
    w=$(taskset -c 0 "$WINK" run "$target" | awk '{print $2}')
    echo "round $r $k native ${n}ns wasm ${w}ns" >&2
    nat[$k]=$(( ${nat[$k]} + n )); wasm[$k]=$(( ${wasm[$k]} + w ))
  done
done

out="$root/bench/results/kernels-$(date +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
{
  echo "# CPU kernels: wink (Wasm) vs native, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "kernel $(uname -r), $(nproc) cores, $(clang --version | head -1); rounds: $ROUNDS, best-of-N inside each run"
  echo
  echo "| kernel | native ms | wink ms | wasm/native |"
  echo "|---|---|---|---|"
  for k in "${kernels[@]}"; do
    awk -v k="$k" -v n="${nat[$k]}" -v w="${wasm[$k]}" -v r="$ROUNDS" \
      'BEGIN { printf "| %s | %.2f | %.2f | %.2fx |\n", k, n/r/1e6, w/r/1e6, w/n }'
  done
} | tee "$out"
