#!/usr/bin/env bash
# Installs what wink needs (Debian packages), builds everything and runs the
# test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD=${WINK_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD"
# Tests share one artifact cache in the build tree; each test run starts from
# the cache of the previous build (content-addressed, so never stale).
# A skip fails the run unless tests/allowed-skips.txt names it: a fixture
# that failed to set up reports its tests as skipped, not failed.
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml "$@"
python3 scripts/check_skips.py "$BUILD/ctest-junit.xml" tests/allowed-skips.txt
