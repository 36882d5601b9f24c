#!/usr/bin/env bash
# Streamed bodies: a 64 MiB response streamed by a wasi:http component through
# `wink up` (tests/http_component/stream_guest.c, GET /big?64: the guest
# writes 64 KiB blocks as check-write allows), against the same 64 MiB as a
# static file from nginx on loopback (sendfile: the physical limit of this
# machine's loopback for one connection), and a 64 MiB upload echoed back by
# the component (POST /echo). Same client (curl, one connection, output to
# /dev/null), same run, A B A B rounds. Reports MB/s per round, the ratio
# wink / nginx, and wink's peak RSS (VmHWM) before and after.
# Not a test: it asserts nothing.
#
# Usage: bench/http/stream.sh [--build DIR] [--rounds 3] [--mib 64]
#   needs the test build's components (ninja component_example_c): build/examples-components/stream-guest.wasm
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${ROOT}/build"
ROUNDS=3
MIB=64
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --mib) MIB="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "stream.sh: $tool missing (scripts/setup.sh)" >&2; exit 1; }
done
GUEST="$BUILD/examples-components/stream-guest.wasm"
[ -f "$GUEST" ] || { echo "stream.sh: $GUEST missing (ninja -C $BUILD component_example_c)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/wink-stream-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: the same number of bytes as a static file.
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/www"
head -c $((MIB << 20)) /dev/urandom > "$WORK/www/big"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
pid $WORK/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $WORK/nginx/body;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
  }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e stderr &
PIDS+=($!)

# wink up with the streaming component.
WINK_PORT=$(free_port)
mkdir -p "$WORK/app"
cp "$GUEST" "$WORK/app/stream-guest.wasm"
cat > "$WORK/app/wink.toml" <<TOML
manifest_version = 1
[app]
name = "streams"
[component.app]
source = "stream-guest.wasm"
deadline = "120s"
[[route]]
path = "/..."
component = "app"
TOML
WINK_DATA_DIR="${WINK_DATA_DIR:-$BUILD/test-data}" "$BUILD/src/cli/wink" up "$WORK/app" \
  --listen "127.0.0.1:$WINK_PORT" --access-log off > "$WORK/wink.log" 2>&1 &
WINK_PID=$!
PIDS+=($WINK_PID)
for _ in $(seq 1 600); do
  grep -q "listening on" "$WORK/wink.log" 2>/dev/null && break
  sleep 0.5
done
grep -q "listening on" "$WORK/wink.log" || { cat "$WORK/wink.log" >&2; exit 1; }
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/big" && break; sleep 0.1; done

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$WINK_PID/status"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$WINK_PID/status"; }
mbps() {  # url [curl args...]: MB/s of one transfer (downloaded or uploaded, the larger)
  local url=$1; shift
  curl -s -o /dev/null -w '%{speed_download} %{speed_upload}\n' "$@" "$url" |
    awk '{ s = $1 > $2 ? $1 : $2; printf "%.1f", s / 1e6 }'
}

curl -s -o /dev/null "http://127.0.0.1:$WINK_PORT/big?1"  # warm: the instance's first run
HWM0=$(hwm)
RSS0=$(rss)
echo "| round | nginx static ${MIB} MiB (MB/s) | wink streamed ${MIB} MiB (MB/s) | ratio | wink echo ${MIB} MiB up+down (MB/s) |"
echo "|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  n=$(mbps "http://127.0.0.1:$NGINX_PORT/big")
  w=$(mbps "http://127.0.0.1:$WINK_PORT/big?$MIB")
  e=$(mbps "http://127.0.0.1:$WINK_PORT/echo" -H 'Content-Type: application/octet-stream' \
         --data-binary "@$WORK/www/big")
  ratio=$(awk -v a="$w" -v b="$n" 'BEGIN { printf "%.2f", a / b }')
  echo "| $r | $n | $w | $ratio | $e |"
done
echo
echo "wink VmHWM: ${HWM0} kB before, $(hwm) kB after; VmRSS: ${RSS0} kB before, $(rss) kB after"
