#!/bin/sh
# Long-lived instance benchmarks; prints the figures for bench/results/lifecycle-*.md.
#   ninja -C build lifecycle_bench && bench/lifecycle/run.sh build
set -e
B=${1:-build}/bench/lifecycle/lifecycle_bench
taskset -c 0 "$B" wake 1 64 512
taskset -c 0 "$B" idle
"$B" burst
"$B" apps 10000
