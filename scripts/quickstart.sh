#!/usr/bin/env bash
# Installs what wink needs (Debian packages), builds it and the examples, and
# serves examples/hello with embedded defaults (data under ~/.local/share/wink).
# Then: curl http://127.0.0.1:3000/   (Ctrl-C stops wink)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build wink
make -C examples
exec ./build/src/cli/wink up examples/hello "$@"
