#!/bin/sh
# Long-lived instance benchmarks; prints the figures for bench/results/lifecycle-*.md.
#   ninja -C build lifecycle_bench wake_http_bench burst_http_bench [standby_http_bench] && bench/lifecycle/run.sh build
# wake_http_bench and burst_http_bench pin `wink up` to core 0 and themselves
# to core 1; pass --wink PATH to wake_http_bench for a before/after.
set -e
B=${1:-build}/bench/lifecycle
"$B/wake_http_bench" --sizes 1,64,256,512 --touch 1,64,1024 --rounds 9
"$B/burst_http_bench" --burst 64 --rounds 4
if [ -x "$B/standby_http_bench" ]; then "$B/standby_http_bench" --rounds 20; fi
taskset -c 0 "$B/lifecycle_bench" wake 1 64 512
taskset -c 0 "$B/lifecycle_bench" idle
"$B/lifecycle_bench" burst
"$B/lifecycle_bench" apps 10000
