#!/bin/sh
# Builds and runs the density benchmark; APPS=1000 for a shorter run. Extra
# arguments go to density_bench (--in-process, --parallel P, --timeout-s S).
set -e
cd "$(dirname "$0")/../.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build density_bench guests
ulimit -n "$(ulimit -Hn)"
build/bench/density/density_bench --apps "${APPS:-10000}" "$@"
