// Helpers of the HTTP benchmarks against `wink up` (bench/lifecycle,
// bench/snapshot): percentiles, Server-Timing durations, and pinning the
// server and the client to their own cores (benchmarking.md: the server on
// core 0, the client on core 1). Start the server with tests/support/wink_up.h.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace wink::bench {

// The p-th fraction (0.5: median, 1.0: max) of `v`, nearest rank; 0 when empty.
inline double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// The duration of `name` in a Server-Timing header: "wake;dur=0.123" -> 0.123
// (0 when absent).
inline double server_timing(const std::string& header, const char* name) {
  std::string key = std::string(name) + ";dur=";
  size_t p = header.find(key);
  return p == std::string::npos ? 0 : std::atof(header.c_str() + p + key.size());
}

// Every thread of process `server` on core 0, this process on core 1, when
// the machine has two cores or more.
inline void pin_server_and_client(pid_t server) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  std::string cmd = "taskset -a -p -c 0 " + std::to_string(server) + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "taskset failed: server not pinned\n");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(1, &set);
  sched_setaffinity(0, sizeof set, &set);
}

}  // namespace wink::bench
