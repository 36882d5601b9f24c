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
# shellcheck source=bench/support/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/bench.sh"

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
bench_init stream
bench_require nginx curl python3 setsid
WINK="$(bench_wink "$BUILD")"
GUEST="$BUILD/examples-components/stream-guest.wasm"
[ -f "$GUEST" ] || bench_die "$GUEST missing (ninja -C $BUILD component_example_c)"
WORK="$BENCH_WORK"
BENCH_PIN=""  # one connection at a time, client and server unpinned (as measured before)

# nginx: the same number of bytes as a static file.
NGINX_PORT=$(bench_free_port)
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
bench_start "$WORK/nginx.log" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e stderr
NGINX_PID=$BENCH_PID

# wink up with the streaming component.
WINK_PORT=$(bench_free_port)
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
bench_start "$WORK/wink.log" env WINK_DATA_DIR="${WINK_DATA_DIR:-$BUILD/test-data}" "$WINK" up "$WORK/app" \
  --listen "127.0.0.1:$WINK_PORT" --access-log off
WINK_PID=$BENCH_PID
bench_wait_log "$WORK/wink.log" "listening on" "$WINK_PID" 300 || { cat "$WORK/wink.log" >&2; exit 1; }
bench_wait_http "http://127.0.0.1:$NGINX_PORT/big" "$NGINX_PID" 10 -o /dev/null || bench_die "nginx did not start"

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
