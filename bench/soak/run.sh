#!/bin/sh
# Soak: a mixed load against one `wink up` for MINUTES (default 10) at half
# the peak measured at the start of the same run; prints RSS, open fds and
# threads of the wink process every few seconds, their slopes (least
# squares, per minute), the 5xx count and the requests served. Not in ctest
# (docs/testing.md, "Soak").
#   bench/soak/run.sh [MINUTES]
# Needs wrk (Debian package). Builds wink and the test guests in build/.
set -e
cd "$(dirname "$0")/../.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
nice ninja -C build -j2 wink guests >/dev/null
exec python3 bench/soak/soak.py --wink build/src/cli/wink --guests build/guests --minutes "${1:-10}"
