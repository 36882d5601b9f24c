#!/usr/bin/env bash
# CPU-bound handler: SHA-256 of a 64 KiB POST body, the same C code compiled
# to Wasm for both servers: wink (a WAGI handler, fresh instance per request)
# and workerd (a worker calling the same digest as a Wasm module, one isolate
# reused). Servers pinned to CPU 0, wrk to CPU 1, interleaved rounds.
# Usage: bench/http/sha256/cpu.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
BUILD=${1:-$root/build}
WINK=$BUILD/src/cli/wink
DURATION=${DURATION:-5}
work=$(mktemp -d /tmp/wink-cpu-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

clang --target=wasm32-wasi -O2 "$here/wagi_sha256.c" -o "$work/sha256.wasm"
clang --target=wasm32 -O2 -nostdlib -fno-builtin -Wl,--no-entry "$here/freestanding_sha256.c" -o "$work/digest.wasm"
head -c 65536 /dev/urandom >"$work/body.bin"
expected="$(sha256sum "$work/body.bin" | cut -d' ' -f1)"

mkdir -p "$work/app"
cp "$work/sha256.wasm" "$work/app/"
cat >"$work/app/wink.toml" <<'TOML'
[app]
name = "sha"
[[route]]
path = "/"
component = "sha"
[component.sha]
source = "sha256.wasm"
TOML

cat >"$work/worker.js" <<'JS'
import digestModule from "digest.wasm";
const instance = new WebAssembly.Instance(digestModule, {});
const { memory, input, output, digest } = instance.exports;
export default {
  async fetch(request) {
    const body = new Uint8Array(await request.arrayBuffer());
    new Uint8Array(memory.buffer, input(), body.length).set(body);
    digest(body.length);
    const hex = new TextDecoder().decode(new Uint8Array(memory.buffer, output(), 64));
    return new Response(hex + "\n", { headers: { "Content-Type": "text/plain" } });
  },
};
JS
WORKERD_DIR=${WORKERD_DIR:-$work/workerd}
mkdir -p "$WORKERD_DIR"
[ -d "$WORKERD_DIR/node_modules/workerd" ] ||
  (cd "$WORKERD_DIR" && npm install --silent --no-audit --no-fund workerd >/dev/null 2>&1)
WORKERD_BIN=$(find "$WORKERD_DIR/node_modules/@cloudflare" -path '*/bin/workerd' -type f | head -1)

wport=$(free_port); dport=$(free_port)
cat >"$work/workerd.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:$dport", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.js"), (name = "digest.wasm", wasm = embed "digest.wasm") ],
  compatibilityDate = "2024-01-01",
);
CAPNP

WINK_DATA_DIR=$work/data taskset -c 0 "$WINK" up "$work/app" --listen "127.0.0.1:$wport" --workers 1 --access-log off \
  >"$work/wink.log" 2>&1 & pids+=($!)
taskset -c 0 "$WORKERD_BIN" serve "$work/workerd.capnp" >"$work/workerd.log" 2>&1 & pids+=($!)
for port in $wport $dport; do
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" -d x && break; sleep 0.1; done
  got=$(curl -s --data-binary @"$work/body.bin" "http://127.0.0.1:$port/")
  [ "$got" = "$expected" ] || { echo "port $port answered '$got', expected $expected" >&2; exit 1; }
done

cat >"$work/post.lua" <<LUA
local f = io.open("$work/body.bin", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
LUA

declare -A sum
rows=()
for c in 1 16; do
  for r in 1 2; do
    for name in wink workerd; do
      port=$wport; [ $name = workerd ] && port=$dport
      out=$(taskset -c 1 wrk -t1 -c$c -d${DURATION}s --latency -s "$work/post.lua" "http://127.0.0.1:$port/")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      echo "c=$c round $r $name $rps req/s p50 $p50 p99 $p99" >&2
      rows+=("$c|$r|$name|$rps|$p50|$p99")
      sum[$name-$c]=$(awk -v a="${sum[$name-$c]:-0}" -v b="$rps" 'BEGIN{print a+b}')
    done
  done
done

out="$root/bench/results/http-cpu-$(date +%Y-%m-%d).md"
{
  echo "# CPU-bound handler: SHA-256 of a 64 KiB body, wink vs workerd ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Same C digest compiled to Wasm for both; wink: WAGI handler, fresh instance per request;"
  echo "workerd: one isolate, the digest as a Wasm module. kernel $(uname -r), $(nproc) cores; servers on CPU 0, wrk on CPU 1, ${DURATION}s per run."
  echo
  echo "| concurrency | round | server | req/s | p50 | p99 |"
  echo "|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do IFS='|' read -r c r n rps p50 p99 <<<"$row"; echo "| $c | $r | $n | $rps | $p50 | $p99 |"; done
  echo
  for c in 1 16; do
    awk -v c=$c -v w="${sum[wink-$c]}" -v d="${sum[workerd-$c]}" 'BEGIN{printf "- c=%s: wink/workerd = %.2fx (sum of rounds)\n", c, w/d}'
  done
} | tee "$out"
