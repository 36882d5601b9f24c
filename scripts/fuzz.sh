#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan; the build-sanitize/ tree
# that scripts/test.sh --sanitize uses) and runs each for MINUTES (default 1),
# JOBS at a time (default 2), at low priority. Each target starts from its
# seed corpus in the repository (read-only) plus what earlier runs found
# (build-sanitize/fuzz/corpus/NAME); crashes, leaks, timeouts and out-of-memory
# inputs go to build-sanitize/fuzz/findings/NAME/. A summary line per target
# gives executions and findings. See docs/testing.md, "Fuzzing".
#   scripts/fuzz.sh [MINUTES] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-1}
shift || true
BUILD=${WINK_BUILD_DIR:-build-sanitize}
JOBS=${WINK_FUZZ_JOBS:-2}
source scripts/sanitize_env.sh
# libFuzzer reports leaks itself; a fuzzer's own exit code is its verdict.
export ASAN_OPTIONS="$ASAN_OPTIONS:exitcode=1"
# WINK_FUZZ_NO_BUILD=1: run what is built (while another ninja builds the rest).
if [[ -z "${WINK_FUZZ_NO_BUILD:-}" ]]; then
  bash scripts/sanitize_env.sh configure "$BUILD"
  nice -n 10 ninja -C "$BUILD" fuzzers
fi
out="$BUILD/fuzz"
mkdir -p "$out"
mapfile -t lines < "$BUILD/fuzzers.txt"
run_one() {
  local name=$1 bin=$2
  shift 2
  mkdir -p "$out/corpus/$name" "$out/findings/$name"
  # -fork=1 with -ignore_*: keep fuzzing after a finding so one run reports
  # them all; each is written to findings/ (crash-*, leak-*, timeout-*, oom-*).
  nice -n 10 "$bin" -max_total_time=$((minutes * 60)) -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
    -ignore_ooms=1 -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$out/findings/$name/" "$out/corpus/$name" "$@" >"$out/$name.log" 2>&1 || true
  local last execs findings
  last=$(grep -E '^#[0-9]+' "$out/$name.log" | tail -1 || true)
  execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
  findings=$(find "$out/findings/$name" -type f | wc -l)
  printf '%-22s %12s execs  %3d findings  (%s)\n' "$name" "${execs:-?}" "$findings" "$(sed -E 's/^#[0-9]+: //' <<<"$last")"
}
wanted=("$@")
running=0
for line in "${lines[@]}"; do
  read -r name bin dirs <<<"$line"
  if ((${#wanted[@]})) && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  if [[ ! -x "$bin" ]]; then
    echo "$name: not built ($bin)"
    continue
  fi
  # shellcheck disable=SC2086
  run_one "$name" "$bin" $dirs &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n
    running=$((running - 1))
  fi
done
wait
echo "fuzz.sh: logs in $out/*.log, findings in $out/findings/"
