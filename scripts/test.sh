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
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
