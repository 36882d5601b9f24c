#!/usr/bin/env python3
"""Soak driver (bench/soak/run.sh): one `wink up` serving four components,
a short peak measurement, then MINUTES at half that rate, sampling the wink
process; prints the samples, the slopes and the error counts.

Components (one app, test guests from build/guests):
  /hello   WAGI, a fresh instance per request (node_app, no query)
  /kv      WAGI writing the app's SQLite key-value store (node_app ?set=N)
  /state   stateful reactor under the load (life_state)
  /snap    WAGI restored from its `wizer.initialize` snapshot (snap_state)
  /wake    the same reactor with idle_timeout 50ms, called by the sampler
           every 0.5 s: a standby and a wake each time, its counter must
           carry on (state kept through standby)
The guests never ask for a 5xx: every 5xx counts as an error.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WRK_SCRIPT = r"""
local paths = {"/hello", "/kv?set=%d", "/state", "/snap"}
local n = 0
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) s5 = 0; other = 0; ok = 0 end
function request()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  if p:find("%%d") then p = string.format(p, n) end
  return wrk.format("GET", p, {Host = "soak.localhost"})
end
function delay() return delay_ms end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then other = other + 1 else ok = ok + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do a = a + t:get("s5"); b = b + t:get("other"); c = c + t:get("ok") end
  io.write(string.format("SOAK 5xx=%d 4xx=%d ok=%d requests=%d p99_us=%d\n", a, b, c, summary.requests,
                         latency:percentile(99)))
end
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_app(directory, guests):
    g = lambda name: os.path.join(os.path.abspath(guests), name + ".wasm")
    toml = f"""[app]
name = "soak"

[[route]]
path = "/hello"
component = "hello"
[[route]]
path = "/kv"
component = "kv"
[[route]]
path = "/state"
component = "state"
[[route]]
path = "/wake"
component = "wake"
[[route]]
path = "/snap"
component = "snap"

[component.hello]
source = "{g('node_app')}"

[component.kv]
source = "{g('node_app')}"
key_value_stores = ["default"]

[component.state]
source = "{g('life_state')}"
executor = "reactor"
idle_timeout = "1s"

[component.wake]
source = "{g('life_state')}"
executor = "reactor"
max_instances = 1
idle_timeout = "50ms"

[component.snap]
source = "{g('snap_state')}"
entrypoint = "handle"
init = "wizer.initialize"
"""
    with open(os.path.join(directory, "wink.toml"), "w") as f:
        f.write(toml)


def get(port, path, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path, headers={"Host": "soak.localhost"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kib, fds, threads


def slope_per_minute(points):
    """Least-squares slope of (seconds, value) points, per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 60.0 * sxy / sxx if sxx else 0.0


def run_wrk(port, seconds, connections, delay_ms, script):
    env = dict(os.environ, SOAK_DELAY_MS=str(delay_ms))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, env=env)
    m = re.search(r"SOAK 5xx=(\d+) 4xx=(\d+) ok=(\d+) requests=(\d+) p99_us=(\d+)", out.stdout)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if not m or not rps:
        sys.exit("soak: wrk gave no summary:\n" + out.stdout + out.stderr)
    return {"5xx": int(m.group(1)), "4xx": int(m.group(2)), "ok": int(m.group(3)), "requests": int(m.group(4)),
            "p99_us": int(m.group(5)), "rps": float(rps.group(1))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wink", required=True)
    ap.add_argument("--guests", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--peak-seconds", type=int, default=10)
    ap.add_argument("--sample-seconds", type=float, default=5)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("soak: needs wrk (apt-get install wrk)")

    work = tempfile.mkdtemp(prefix="wink-soak-")
    app = os.path.join(work, "app")
    os.makedirs(app)
    write_app(app, args.guests)
    script = os.path.join(work, "mix.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    port = free_port()
    log = open(os.path.join(work, "wink.log"), "w")
    wink = subprocess.Popen([args.wink, "up", app, "--listen", f"127.0.0.1:{port}", "--data-dir",
                             os.path.join(work, "data"), "--control-socket", "off"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300  # the first start compiles every module
        while True:
            if wink.poll() is not None:
                sys.exit("soak: wink up exited:\n" + open(os.path.join(work, "wink.log")).read()[-4000:])
            try:
                if get(port, "/hello", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("soak: wink up did not answer")
            time.sleep(0.2)

        peak = run_wrk(port, args.peak_seconds, 16, 0, script)
        target = peak["rps"] / 2
        connections = 16
        # Each connection waits delay_ms after each response: C / delay is
        # the ceiling, and the latency at half load keeps it below.
        delay_ms = max(1, int(connections * 1000 / target))
        print(f"peak: {peak['rps']:.0f} req/s (16 connections, {args.peak_seconds} s, 5xx {peak['5xx']}); "
              f"soak at <= {connections * 1000 / delay_ms:.0f} req/s ({connections} connections, {delay_ms} ms "
              f"between requests) for {args.minutes:g} min", flush=True)

        samples = []  # (t, rss_kib, fds, threads)
        wake_errors = []
        result = {}
        load = threading.Thread(target=lambda: result.update(
            run_wrk(port, int(args.minutes * 60), connections, delay_ms, script)))
        t0 = time.time()
        load.start()
        last_count = None
        standbys = 0
        next_sample = t0
        print(f"{'t_s':>6} {'rss_kib':>9} {'fds':>5} {'threads':>7}", flush=True)
        while load.is_alive():
            now = time.time()
            if now >= next_sample:
                rss, fds, threads = sample(wink.pid)
                samples.append((now - t0, rss, fds, threads))
                print(f"{now - t0:6.0f} {rss:9d} {fds:5d} {threads:7d}", flush=True)
                next_sample += args.sample_seconds
            try:
                status, body = get(port, "/wake")
                m = re.search(rb"count=(\d+)", body)
                sb = re.search(rb"standbys=(\d+)", body)
                if sb:
                    standbys = int(sb.group(1))
                if status != 200 or not m:
                    wake_errors.append(f"status {status}")
                else:
                    count = int(m.group(1))
                    if last_count is not None and count != last_count + 1:
                        wake_errors.append(f"count {count} after {last_count}: state lost through standby")
                    last_count = count
            except OSError as e:
                wake_errors.append(str(e))
            time.sleep(0.5)
        load.join()
        rss_slope = slope_per_minute([(s[0], s[1]) for s in samples])
        fd_slope = slope_per_minute([(s[0], s[2]) for s in samples])
        thread_slope = slope_per_minute([(s[0], s[3]) for s in samples])
        print(f"served: {result['requests']} requests ({result['requests'] / (args.minutes * 60):.0f} req/s), "
              f"p99 {result['p99_us'] / 1000:.1f} ms, 5xx {result['5xx']}, 4xx {result['4xx']}")
        print(f"wake: {last_count or 0} calls, {standbys} standbys (each followed by a wake), {len(wake_errors)} errors"
              + (f" (first: {wake_errors[0]})" if wake_errors else ""))
        print(f"slopes per minute: rss {rss_slope:+.1f} KiB, fds {fd_slope:+.2f}, threads {thread_slope:+.2f}")
        if samples:
            print(f"first/last sample: rss {samples[0][1]}/{samples[-1][1]} KiB, fds {samples[0][2]}/{samples[-1][2]}, "
                  f"threads {samples[0][3]}/{samples[-1][3]}")
        failed = result["5xx"] > 0 or peak["5xx"] > 0 or wake_errors
        return 1 if failed else 0
    finally:
        wink.send_signal(signal.SIGTERM)
        try:
            wink.wait(timeout=20)
        except subprocess.TimeoutExpired:
            wink.kill()
            wink.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
