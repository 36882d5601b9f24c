#!/usr/bin/env bash
# Installs what wink needs (Debian packages), builds it, and runs an example
# with embedded defaults (data under ~/.local/share/wink).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWINK_BUILD_TESTS=OFF >/dev/null
ninja -C build wink
mkdir -p build/examples
clang --target=wasm32-wasi -O2 tests/guests/engine_hello.c -o build/examples/hello.wasm
./build/src/cli/wink run build/examples/hello.wasm
