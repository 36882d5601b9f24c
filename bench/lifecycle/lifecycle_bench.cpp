// Long-lived instance benchmarks (prints markdown; see bench/results/lifecycle-*.md):
//   lifecycle_bench wake <MiB>...     wake latency: request arriving in standby -> response
//                                     ready (p50/p99), idle timeout -> memory released
//   lifecycle_bench idle [MiB...]     idle timeout -> standby done and memory released
//                                     (default 1 64 512 MiB, stateful and stateless)
//   lifecycle_bench burst             burst onset -> extra instance serving
//   lifecycle_bench apps <N>          N apps deployed and asleep: RSS, and p99 of a
//                                     request to a random one
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/snapshot.h"
#include "lifecycle/node.h"
#include "runtime/runtime.h"

using namespace wink;
using namespace wink::lifecycle;
using WallClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double ms_since(WallClock::time_point t) { return std::chrono::duration<double, std::milli>(WallClock::now() - t).count(); }

struct Stats { double p50 = 0, p99 = 0, max = 0; };
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back()};
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}
long meminfo_kib(const char* key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  }
  return 0;
}

double page_fault_us() {
  const size_t pages = 4096, bytes = pages * 4096;
  auto* p = static_cast<volatile char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto t = WallClock::now();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  double us = ms_since(t) * 1000 / pages;
  munmap((void*)p, bytes);
  return us;
}

engine::Engine* g_engine;

std::shared_ptr<engine::Snapshot> start_state(uint32_t mem_mb) {
  static std::shared_ptr<engine::Module> module = [] {
    auto m = g_engine->load_file(fs::path(WINK_GUEST_DIR) / "life_bench_guest.wasm");
    if (!m.ok()) { std::fprintf(stderr, "%s\n", m.error().message.c_str()); std::exit(1); }
    return *m;
  }();
  engine::InitSpec is;
  is.init_export = "bench.init";
  is.env = {"MEM_MB=" + std::to_string(mem_mb)};
  auto snap = engine::Snapshot::create(module, is);
  if (!snap.ok()) { std::fprintf(stderr, "%s\n", snap.error().message.c_str()); std::exit(1); }
  return *snap;
}

ComponentSpec spec(std::shared_ptr<engine::Snapshot> init, const std::string& app, bool stateful = true) {
  static auto wasi = *wasi::Prepared::create({});
  ComponentSpec s;
  s.app = app;
  s.component = "c";
  s.init = std::move(init);
  s.wasi = wasi;
  s.memory_limit_bytes = 1ull << 30;
  s.limits.max_memory_pages = 16384;
  s.limits.deadline = std::chrono::seconds(10);
  s.policy.stateful = stateful;
  s.policy.idle_timeout = std::chrono::milliseconds(10);
  s.policy.scale.max_instances = 1;
  return s;
}

const std::vector<std::string> kVars = {"REQUEST_METHOD=GET", "QUERY_STRING="};

void wake(const std::vector<uint32_t>& sizes, int iters) {
  std::printf("| memory | stateful | wake p50 (ms) | wake p99 (ms) | whole request p50 / p99 (ms) | standby (capture + release) p50 / p99 (ms) | saved state |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (uint32_t mb : sizes) {
    auto init = start_state(mb);
    for (bool stateful : {true, false}) {
      auto clock = std::make_shared<ManualClock>();
      NodeOptions o;
      o.clock = clock;
      o.background = false;
      Node node(o);
      auto c = *node.deploy(spec(init, "w" + std::to_string(mb), stateful));
      std::vector<double> wake_ms, total_ms, standby_ms;
      uint64_t saved = 0;
      node.call(*c, kVars, {});
      for (int i = 0; i < iters; ++i) {
        clock->advance(std::chrono::milliseconds(10));
        node.tick();  // -> standby
        auto info = node.instances().at(0);
        standby_ms.push_back(info.last_standby_ms);
        saved = info.memory_bytes;
        auto t = WallClock::now();
        CallResult r = node.call(*c, kVars, {});
        total_ms.push_back(ms_since(t));
        wake_ms.push_back(r.wake_ms);
        if (!r.woke || r.out.find("count=") == std::string::npos) { std::fprintf(stderr, "bad wake\n"); std::exit(1); }
      }
      Stats w = stats(wake_ms), t = stats(total_ms), s = stats(standby_ms);
      std::printf("| %u MiB | %s | %.3f | %.3f | %.3f / %.3f | %.3f / %.3f | %.1f MiB |\n", mb, stateful ? "yes" : "no",
                  w.p50, w.p99, t.p50, t.p99, s.p50, s.p99, saved / 1048576.0);
      std::fflush(stdout);
    }
  }
}

void idle_release(uint32_t mb, bool stateful) {
  // Real clock, background timer thread: from the idle deadline to the slot
  // being free again (polls the instance state).
  auto init = start_state(mb);
  Node node(NodeOptions{});
  auto s = spec(init, "idle", stateful);
  s.policy.idle_timeout = std::chrono::milliseconds(10);
  auto c = *node.deploy(s);
  std::vector<double> lag;
  for (int i = 0; i < 30; ++i) {
    node.call(*c, kVars, {});
    auto done = WallClock::now();
    while (node.instances().at(0).state != State::kStandby) std::this_thread::sleep_for(std::chrono::microseconds(20));
    lag.push_back(ms_since(done) - 10.0);
  }
  Stats st = stats(lag);
  std::printf("idle timeout (10 ms) -> standby done, memory released (%u MiB, %s, real clock): p50 %.3f ms, p99 %.3f ms past the deadline\n",
              mb, stateful ? "stateful" : "stateless", st.p50, st.p99);
}

void burst() {
  // Steady state: one running instance. A burst of 8 requests that each run
  // 20 ms arrives at once; each needs its own instance. Time from each
  // arrival to its instance being ready (queue + wake), per request; the
  // instances scale back in after the 10 ms idle timeout between rounds.
  auto init = start_state(1);
  Node node(NodeOptions{});
  auto s = spec(init, "burst", false);
  s.policy.scale.max_instances = 8;
  auto c = *node.deploy(s);
  const std::vector<std::string> slow = {"REQUEST_METHOD=GET", "QUERY_STRING=sleep=20"};
  std::vector<double> ready;
  size_t peak = 0;
  for (int round = 0; round < 30; ++round) {
    node.call(*c, kVars, {});
    std::vector<std::thread> th;
    std::vector<double> q(8);
    for (int k = 0; k < 8; ++k) {
      th.emplace_back([&, k] {
        CallResult r = node.call(*c, slow, {});
        q[k] = r.queue_ms + r.wake_ms;
      });
    }
    for (auto& t : th) t.join();
    size_t running = 0;
    for (const auto& i : node.instances()) running += i.state == State::kRunning;
    peak = std::max(peak, running);
    for (double v : q) ready.push_back(v);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // idle: scale back in
  }
  Stats st = stats(ready);
  size_t asleep = 0;
  for (const auto& i : node.instances()) asleep += i.state == State::kStandby;
  std::printf("\nburst of 8 concurrent 20 ms requests onto 1 running instance (max 8), 30 rounds: arrival -> own instance ready "
              "p50 %.3f ms, p99 %.3f ms, max %.3f ms; peak running %zu; after each round's idle: %zu in standby\n",
              st.p50, st.p99, st.max, peak, asleep);
}

void apps(int n) {
  auto init = start_state(1);
  long rss0 = rss_kib(), shmem0 = meminfo_kib("Shmem:");
  auto clock = std::make_shared<ManualClock>();
  NodeOptions o;
  o.clock = clock;
  o.background = false;
  Node node(o);
  std::vector<Node::Component*> comps;
  auto t = WallClock::now();
  for (int i = 0; i < n; ++i) {
    auto s = spec(init, "app" + std::to_string(i));
    s.memory_limit_bytes = 16 << 20;
    s.limits.max_memory_pages = 256;
    comps.push_back(*node.deploy(s));
    node.call(*comps.back(), kVars, {});  // each app served once: it has state to keep
  }
  double deploy_ms = ms_since(t);
  clock->advance(std::chrono::milliseconds(10));
  t = WallClock::now();
  node.tick();  // all to standby
  double sleep_ms = ms_since(t);
  long rss1 = rss_kib(), shmem1 = meminfo_kib("Shmem:");
  uint64_t saved = 0;
  for (const auto& i : node.instances()) saved += i.state == State::kStandby ? i.memory_bytes : 0;
  std::mt19937 rng(42);
  std::vector<double> lat;
  for (int i = 0; i < 2000; ++i) {
    Node::Component* c = comps[rng() % comps.size()];
    auto t1 = WallClock::now();
    CallResult r = node.call(*c, kVars, {});
    lat.push_back(ms_since(t1));
    if (r.rejected) { std::fprintf(stderr, "rejected %s\n", r.reason.c_str()); std::exit(1); }
    if (i % 50 == 49) {  // let the woken ones sleep again, as in real traffic
      clock->advance(std::chrono::milliseconds(10));
      node.tick();
    }
  }
  Stats st = stats(lat);
  std::printf("\n%d apps (one stateful reactor component each, served once, then all in standby):\n", n);
  std::printf("- deploy + first request for all: %.0f ms; putting all to standby: %.0f ms\n", deploy_ms, sleep_ms);
  std::printf("- process RSS: %.1f MiB before, %.1f MiB with all asleep (+%.1f MiB, %.1f KiB per app)\n", rss0 / 1024.0,
              rss1 / 1024.0, (rss1 - rss0) / 1024.0, double(rss1 - rss0) / n);
  std::printf("- saved state (memfds, not in RSS): %.1f MiB (%.1f KiB per app); Shmem grew %.1f MiB\n",
              saved / 1048576.0, saved / 1024.0 / n, (shmem1 - shmem0) / 1024.0);
  std::printf("- request to a random app (wakes it): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", st.p50, st.p99, st.max);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lifecycle_bench wake <MiB>... | idle [MiB...] | burst | apps <N>\n");
    return 2;
  }
  engine::EngineConfig config;
  config.data_dir = fs::temp_directory_path() / "wink-lifecycle-bench";
  engine::Engine engine(config);
  g_engine = &engine;
  std::string what = argv[1];
  std::printf("page fault (first write, 4 KiB): %.2f us\n\n", page_fault_us());
  if (what == "wake") {
    std::vector<uint32_t> sizes;
    for (int i = 2; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
    wake(sizes, 200);
  } else if (what == "idle") {
    std::vector<uint32_t> sizes;
    for (int i = 2; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
    if (sizes.empty()) sizes = {1, 64, 512};
    for (uint32_t mb : sizes) {
      idle_release(mb, true);
      idle_release(mb, false);
    }
  } else if (what == "burst") {
    burst();
  } else if (what == "apps") {
    apps(argc > 2 ? std::atoi(argv[2]) : 1000);
  }
  return 0;
}
