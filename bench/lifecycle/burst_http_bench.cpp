// A burst over real HTTP to `wink up`: 64 concurrent requests (a new
// connection each) to a reactor component with no instance running, against
// the same burst to the same component while its instances are all running
// (the control), interleaved. Each request holds its instance for --hold-ms,
// so the burst needs one instance per request. Per request: whole latency,
// and queue + wake from Server-Timing (arrival to its own instance serving).
//
//   burst_http_bench [--burst 64] [--rounds 5] [--hold-ms 20]
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/http_bench.h"
#include "support/wink_up.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using wink::bench::pct;
using wink::bench::server_timing;

struct Burst {
  std::vector<double> total, ready, exec, outside;  // ms; outside = whole request - guest call
  std::vector<double> round_p99;                    // whole-request p99 of each round
  int failed = 0, woke = 0;
};

void burst(uint16_t port, int n, int hold_ms, Burst& out) {
  std::vector<std::thread> threads;
  std::vector<double> total(n), ready(n), exec(n);
  std::vector<int> ok(n), woke(n);
  std::atomic<bool> go{false};
  for (int k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      while (!go.load()) std::this_thread::yield();
      auto t = Clock::now();
      auto r = wink::test::http_request(port, "GET", "/?sleep=" + std::to_string(hold_ms));
      total[k] = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      const std::string st = r.header("Server-Timing");
      ready[k] = server_timing(st, "queue") + server_timing(st, "wake");
      exec[k] = server_timing(st, "exec");
      ok[k] = r.status == 200;
      woke[k] = server_timing(st, "wake") > 0;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  std::vector<double> this_round;
  for (int k = 0; k < n; ++k) {
    if (!ok[k]) {
      ++out.failed;
      continue;
    }
    this_round.push_back(total[k]);
    out.outside.push_back(total[k] - exec[k]);
    out.total.push_back(total[k]);
    out.ready.push_back(ready[k]);
    out.exec.push_back(exec[k]);
    out.woke += woke[k];
  }
  out.round_p99.push_back(this_round.empty() ? 0 : pct(this_round, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
  int n = 64, rounds = 5, hold_ms = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--burst") n = std::atoi(argv[++i]);
    else if (a == "--rounds") rounds = std::atoi(argv[++i]);
    else if (a == "--hold-ms") hold_ms = std::atoi(argv[++i]);
  }
  const fs::path root = fs::temp_directory_path() / ("wink-burst-http-" + std::to_string(::getpid()));
  fs::create_directories(root / "data");
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "life_bench_guest.wasm", root / "guest.wasm");
  const std::string manifest = "[app]\nname = \"burst\"\n\n[[route]]\npath = \"/...\"\ncomponent = \"b\"\n\n"
                               "[component.b]\nsource = \"" + (root / "guest.wasm").string() +
                               "\"\nexecutor = \"reactor\"\ninit = \"bench.init\"\nstateful = false\n"
                               "min_instances = 0\nmax_instances = " + std::to_string(n) +
                               "\nidle_timeout = \"300ms\"\nqueue = " + std::to_string(n * 2) +
                               "\nmemory_limit = \"8MiB\"\n";
  wink::test::WinkUp up;
  if (!up.start(root / "app", manifest,
                {"--data-dir", (root / "data").string(), "--access-log", "off", "--executors", std::to_string(n),
                 "--executors-per-component", std::to_string(n)})) {
    std::fprintf(stderr, "wink up failed:\n%s\n", up.output().c_str());
    return 1;
  }
  wink::bench::pin_server_and_client(up.pid());
  Burst cold, warm;
  for (int r = 0; r < rounds; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(900));  // idle: every instance in standby
    burst(up.port(), n, hold_ms, cold);
    burst(up.port(), n, hold_ms, warm);  // right after: the instances are running
  }
  up.stop();
  std::printf("burst of %d concurrent requests (new connection each, each holds its instance %d ms), %d rounds:\n\n", n,
              hold_ms, rounds);
  std::printf("| burst onto | whole request p50 / p99 (ms) | arrival -> own instance serving (queue + wake) p50 / p99 / max (ms) | guest call (exec) p50 / p99 (ms) | outside the guest call p50 / p99 (ms) | woke | failed |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (auto [name, b] : {std::pair<const char*, Burst*>{"0 instances (all in standby)", &cold},
                         {"running instances (control)", &warm}}) {
    std::printf("| %s | %.2f / %.2f | %.2f / %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %d/%zu | %d |\n", name,
                pct(b->total, 0.5), pct(b->total, 0.99), pct(b->ready, 0.5), pct(b->ready, 0.99), pct(b->ready, 1.0),
                pct(b->exec, 0.5), pct(b->exec, 0.99), pct(b->outside, 0.5), pct(b->outside, 0.99), b->woke,
                b->total.size(), b->failed);
  }
  std::printf("\np99 ratio (0 instances / running), all rounds pooled: %.2fx\n",
              pct(cold.total, 0.99) / std::max(pct(warm.total, 0.99), 1e-9));
  // Each round's cold burst against the running burst right after it: the
  // machine's load changes between rounds, so the spread is the honest figure.
  std::vector<double> ratios;
  std::printf("per round, whole-request p99 cold / running (ms):");
  for (size_t r = 0; r < cold.round_p99.size() && r < warm.round_p99.size(); ++r) {
    ratios.push_back(cold.round_p99[r] / std::max(warm.round_p99[r], 1e-9));
    std::printf(" %.1f/%.1f", cold.round_p99[r], warm.round_p99[r]);
  }
  std::printf("\np99 ratio per round: median %.2fx, min %.2fx, max %.2fx (%zu rounds)\n", pct(ratios, 0.5),
              pct(ratios, 0.0), pct(ratios, 1.0), ratios.size());
  fs::remove_all(root);
  return 0;
}
