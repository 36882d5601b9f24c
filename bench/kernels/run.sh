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
  # Wasm without SIMD cannot be vectorized: a scalar native build shows how
  # much of a gap is vectorization alone (wasm2c 1.0.32 has no SIMD support).
  clang -O2 -fno-vectorize -fno-slp-vectorize "$here/$k.c" -o "$work/$k.scalar" -lm
  clang --target=wasm32-wasi -O2 "$here/$k.c" -o "$work/$k.wasm"
  "$WINK" compile "$work/$k.wasm" -o "$work/$k.so" >/dev/null 2>&1 ||
    "$WINK" run "$work/$k.wasm" >/dev/null  # older CLI: warm the cache instead
done

declare -A nat wasm scal
for k in "${kernels[@]}"; do nat[$k]=0; wasm[$k]=0; scal[$k]=0; done
for r in $(seq "$ROUNDS"); do
  for k in "${kernels[@]}"; do
    n=$(taskset -c 0 "$work/$k" | awk '{print $2}')
    sc=$(taskset -c 0 "$work/$k.scalar" | awk '{print $2}')
    target="$work/$k.so"; [ -f "$target" ] || target="$work/$k.wasm"
    w=$(taskset -c 0 "$WINK" run "$target" | awk '{print $2}')
    echo "round $r $k native ${n}ns wasm ${w}ns" >&2
    nat[$k]=$(( ${nat[$k]} + n )); wasm[$k]=$(( ${wasm[$k]} + w )); scal[$k]=$(( ${scal[$k]} + sc ))
  done
done

out="$root/bench/results/kernels-$(date +%Y-%m-%d).md"
mkdir -p "$(dirname "$out")"
{
  echo "# CPU kernels: wink (Wasm) vs native, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "kernel $(uname -r), $(nproc) cores, $(clang --version | head -1); rounds: $ROUNDS, best-of-N inside each run"
  echo
  echo "| kernel | native ms | native scalar ms | wink ms | wasm/native | wasm/native scalar |"
  echo "|---|---|---|---|---|---|"
  for k in "${kernels[@]}"; do
    awk -v k="$k" -v n="${nat[$k]}" -v s="${scal[$k]}" -v w="${wasm[$k]}" -v r="$ROUNDS" \
      'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx |\n", k, n/r/1e6, s/r/1e6, w/r/1e6, w/n, w/s }'
  done
  echo
  echo "Target: wasm/native <= 1.3x. native: clang -O2 (x86-64 baseline, SSE2 autovectorization);"
  echo "native scalar: the same without vectorization."
} | tee "$out"
