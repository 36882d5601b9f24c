#!/usr/bin/env python3
"""latency.py PORT PATH [N]: N sequential GETs over one keep-alive
connection; prints the median and p90 of the whole request (client side)
and of the Server-Timing phases (inst, exec) wink reports. Used for the
per-request figures of docs/components.md (restored vs fresh instances)."""
import http.client
import re
import sys
import time


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    conn = http.client.HTTPConnection("127.0.0.1", port)
    total, phases = [], {}
    for i in range(n + 10):
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            sys.exit(f"request {i}: status {r.status}")
        if i < 10:
            continue  # warm-up
        total.append(dt)
        for name, ms in re.findall(r"(\w+);dur=([\d.]+)", r.getheader("server-timing") or ""):
            phases.setdefault(name, []).append(float(ms))

    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(p * len(v)))]

    parts = [f"request {pct(total, .5):.3f} / {pct(total, .9):.3f}"]
    for name, v in phases.items():
        parts.append(f"{name} {pct(v, .5):.3f} / {pct(v, .9):.3f}")
    print(f"{path} x{n} (ms median / p90): " + ", ".join(parts))


main()
