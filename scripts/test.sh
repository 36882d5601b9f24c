#!/usr/bin/env bash
# Installs what wink needs (Debian packages), builds everything and runs the
# test suite. This is the README's test command and what CI runs.
#   scripts/test.sh [ctest args]             build/ (RelWithDebInfo, gcc)
#   scripts/test.sh --sanitize [ctest args]  build-sanitize/: clang, ASan + UBSan
#                                            (and fuzzer coverage, shared with
#                                            scripts/fuzz.sh); docs/testing.md
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
sanitize=0
if [[ "${1:-}" == "--sanitize" ]]; then
  sanitize=1
  shift
fi
if ((sanitize)); then
  BUILD=${WINK_BUILD_DIR:-build-sanitize}
  bash scripts/sanitize_env.sh configure "$BUILD"
  # Sanitizer options for every process the tests start (wink up, wink
  # serve, the CLI): see scripts/sanitize_env.sh for each and why.
  source scripts/sanitize_env.sh
else
  BUILD=${WINK_BUILD_DIR:-build}
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD"
# Tests share one artifact cache in the build tree; each test run starts from
# the cache of the previous build (content-addressed, so never stale).
# A skip fails the run unless tests/allowed-skips.txt names it: a fixture
# that failed to set up reports its tests as skipped, not failed.
start=$(date +%s)
status=0
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml "$@" || status=$?
echo "test.sh: ctest took $(( $(date +%s) - start )) s"
python3 scripts/check_skips.py "$BUILD/ctest-junit.xml" tests/allowed-skips.txt
exit $status
