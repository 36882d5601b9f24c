#!/usr/bin/env bash
# Installs everything wink needs to build, test and benchmark, from Debian's
# packages only. Idempotent; run as root (or with sudo available).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config ccache
  # engine: wasm2c/libwabt, guest toolchain (C -> wasm32-wasi)
  wabt clang lld wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev
  # the quick tier's C compiler (docs/compile.md; without it cc -O0)
  tcc
  # libraries
  libssl-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libsqlite3-dev libhiredis-dev libcurl4-openssl-dev liburing-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev redis-server
  # benchmarks
  wrk nginx-light gnuplot-nox hyperfine
  # benchmarks' helpers
  python3
)
# node and npm: the pinned component toolchain (tests/component/toolchain,
# `npm ci` in the test build: jco, componentize-js) and the benchmark peers
# (bench/components: workerd). Debian's nodejs and npm, unless a node with
# npm is already installed (nodesource's nodejs bundles npm, and Debian's npm
# package would replace it with Debian's Node.js 18).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
