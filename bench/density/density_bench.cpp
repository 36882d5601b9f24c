// Density of one node (issue 12): many small apps on one node, served over real
// HTTP by Host header. Prints markdown (see bench/results/density-*.md).
//
//   density_bench [--apps N] [--parallel P] [--timeout-s S]
//        (default) through the control API: starts a real `wink serve` process and
//        deploys N apps (default 10000), half hello (WAGI), half a stateful counter
//        (reactor), over its control socket as `wink deploy` does (P deploys at a
//        time, default 4, each on its own connection); then, against that process:
//        deploy rate with a warm artifact cache; all asleep: its RSS + saved state
//        (/proc/PID/status and GET /v1/quotas); latency of requests to random
//        sleeping apps vs an awake one; restart time. Gives up after S seconds
//        (default 1800), killing the node.
//   density_bench --in-process [--apps N]
//        the same apps deployed through node::Registry in this process (the code
//        the control API drives), plus RSS of 100 apps in one process vs 100
//        `wink up` processes.
//   density_bench --one-process K  (internal) deploys K hello apps, prints its RSS in KiB
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
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

#include "../../tests/support/http_client.h"
#include "../../tests/support/wink_process.h"
#include "api_mode.h"
#include "common/files.h"
#include "http/server.h"
#include "measure.h"
#include "node/registry.h"

using namespace wink;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using bench::ms_since;
using bench::stats;
using bench::Stats;
using bench::status_kib;

std::string bytes_of(const fs::path& p) {
  auto b = read_file(p);
  if (!b.ok()) {
    std::fprintf(stderr, "cannot read %s\n", p.c_str());
    std::exit(1);
  }
  return std::string(b->begin(), b->end());
}

node::Bundle hello_bundle() {
  node::Bundle b;
  b.files.push_back({"wink.toml", "[app]\nname = \"hello\"\n[[route]]\npath = \"/\"\ncomponent = \"hello\"\n"
                                  "[component.hello]\nsource = \"hello.wasm\"\n", false});
  b.files.push_back({"hello.wasm", bytes_of(fs::path(WINK_GUEST_DIR) / "example_hello.wasm"), false});
  return b;
}

node::Bundle counter_bundle() {
  node::Bundle b;
  b.files.push_back({"wink.toml", "[app]\nname = \"counter\"\n[[route]]\npath = \"/...\"\ncomponent = \"counter\"\n"
                                  "[component.counter]\nsource = \"counter.wasm\"\nexecutor = \"reactor\"\n"
                                  "idle_timeout = \"100ms\"\nstateful = true\nmax_instances = 1\n"
                                  "memory_limit = \"16MiB\"\n", false});
  b.files.push_back({"counter.wasm", bytes_of(fs::path(WINK_GUEST_DIR) / "example_counter.wasm"), false});
  return b;
}

node::RegistryConfig config_for(const fs::path& data) {
  node::RegistryConfig c;
  c.data_dir = data;
  c.log_lines_per_app = 64;
  return c;
}

fs::path fresh_data_dir(const std::string& tag, const fs::path& shared_artifacts) {
  fs::path d = fs::temp_directory_path() / ("wink-density-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  fs::create_directory_symlink(shared_artifacts, d / "artifacts");
  return d;
}

int one_process(int k, const fs::path& artifacts) {
  fs::path data = fresh_data_dir("one", artifacts);
  auto reg = node::Registry::open(config_for(data));
  if (!reg.ok()) return 1;
  node::Bundle hello = hello_bundle();
  for (int i = 0; i < k; ++i) {
    node::DeployOptions o;
    o.name = "h" + std::to_string(i);
    if (!(*reg)->deploy(hello, o, {}).ok()) return 1;
  }
  http::ServerConfig sc;
  sc.workers = 2;
  sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
  http::Server server(sc, [&](const http::Request& req, http::Response& resp) { (*reg)->handle(req, resp); });
  if (!server.start().ok()) return 1;
  for (int i = 0; i < k; ++i) test::http_request(server.port(), "GET", "/", {"Host: h" + std::to_string(i) + ".localhost"});
  std::printf("%ld\n", status_kib(0, "VmRSS:"));
  server.stop(std::chrono::milliseconds(100));
  reg->reset();
  fs::remove_all(data);
  return 0;
}

// Runs `args` (this binary --one-process K) and reads the KiB it prints.
long run_capture_kib(const std::vector<std::string>& args) { return std::atol(test::run(args).out.c_str()); }

// 100 `wink up` processes of the hello app: the sum of their RSS once all answer.
long wink_up_processes_kib(int k, const fs::path& artifacts) {
  fs::path data = fresh_data_dir("up", artifacts);
  fs::path app = data / "app";
  fs::create_directories(app);
  std::ofstream(app / "wink.toml") << "[app]\nname = \"hello\"\n[[route]]\npath = \"/\"\ncomponent = \"hello\"\n"
                                      "[component.hello]\nsource = \""
                                   << (fs::path(WINK_GUEST_DIR) / "example_hello.wasm").string() << "\"\n";
  std::vector<std::unique_ptr<test::Process>> nodes;
  for (int i = 0; i < k; ++i) {
    auto p = test::Process::spawn({WINK_BIN, "up", app.string(), "--listen", "127.0.0.1:0", "--data-dir", data.string(),
                                   "--access-log", "off", "--workers", "2"},
                                  {.stderr_to = test::SpawnOptions::Stderr::kDiscard});
    if (!p) break;
    nodes.push_back(std::move(p));
  }
  long total = 0;
  for (auto& p : nodes) {
    if (uint16_t port = p->wait_listening(std::chrono::minutes(5))) test::http_request(port, "GET", "/");
  }
  for (auto& p : nodes) total += status_kib(p->pid(), "VmRSS:");
  for (auto& p : nodes) p->stop();
  fs::remove_all(data);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  int apps = 10000;
  int one = 0;
  bool in_process = false;
  bench::ApiModeOptions api;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--apps") && i + 1 < argc) apps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--one-process") && i + 1 < argc) one = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--in-process")) in_process = true;
    else if (!std::strcmp(argv[i], "--parallel") && i + 1 < argc) api.parallel = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--timeout-s") && i + 1 < argc) api.timeout_s = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "density_bench: unknown or incomplete option \"%s\"\n", argv[i]);
      return 2;
    }
  }
  if (apps < 2 || api.parallel < 1 || api.parallel > 64 || api.timeout_s < 1) {
    std::fprintf(stderr, "density_bench: --apps must be >= 2, --parallel 1..64, --timeout-s >= 1\n");
    return 2;
  }
  const fs::path artifacts = fs::temp_directory_path() / "wink-density-artifacts";
  fs::create_directories(artifacts);
  if (one) return one_process(one, artifacts);
  if (!in_process) {
    api.apps = apps;
    api.data_dir = fresh_data_dir("api", artifacts);
    api.hello = hello_bundle();
    api.counter = counter_bundle();
    int rc = bench::run_api_mode(api);
    fs::remove_all(api.data_dir);
    return rc;
  }

  fs::path data = fresh_data_dir("main", artifacts);
  auto reg = node::Registry::open(config_for(data));
  if (!reg.ok()) {
    std::fprintf(stderr, "%s\n", reg.error().message.c_str());
    return 1;
  }
  node::Registry& r = **reg;
  const node::Bundle hello = hello_bundle(), counter = counter_bundle();
  // Warm the artifact cache (and the counter's start snapshot).
  for (auto* b : {&hello, &counter}) {
    node::DeployOptions o;
    o.name = "warm-" + std::to_string(b == &hello);
    auto w = r.deploy(*b, o, {});
    if (!w.ok()) {
      std::fprintf(stderr, "%s\n", w.error().message.c_str());
      return 1;
    }
    (void)r.remove(o.name);
  }
  const long rss_empty = status_kib(0, "VmRSS:");

  auto t0 = Clock::now();
  for (int i = 0; i < apps; ++i) {
    node::DeployOptions o;
    o.name = "a" + std::to_string(i);
    auto d = r.deploy(i % 2 ? counter : hello, o, {});
    if (!d.ok()) {
      std::fprintf(stderr, "deploy %d: %s\n", i, d.error().message.c_str());
      return 1;
    }
  }
  const double deploy_s = ms_since(t0) / 1000.0;
  const long rss_deployed = status_kib(0, "VmRSS:");

  http::ServerConfig sc;
  sc.workers = 2;
  sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
  http::Server server(sc, [&](const http::Request& req, http::Response& resp) { r.handle(req, resp); });
  if (!server.start().ok()) return 1;
  auto get = [&](int i) {
    return test::http_request(server.port(), "GET", "/", {"Host: a" + std::to_string(i) + ".localhost"});
  };

  // Every counter serves once, then all go to standby: saved state exists.
  t0 = Clock::now();
  for (int i = 1; i < apps; i += 2) {
    if (get(i).status != 200) {
      std::fprintf(stderr, "app a%d did not answer\n", i);
      return 1;
    }
  }
  const double first_requests_s = ms_since(t0) / 1000.0;
  auto asleep = [&] {
    for (const auto& q : r.lifecycle().quotas()) {
      if (q.scope == "node") return q.used.active_instances == 0;
    }
    return false;
  };
  for (int k = 0; k < 600 && !asleep(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  uint64_t saved = 0, standby = 0;
  for (const auto& q : r.lifecycle().quotas()) {
    if (q.scope == "node") saved = q.used.memory, standby = q.used.total_instances;
  }
  const long rss_asleep = status_kib(0, "VmRSS:");

  // Random sleeping apps (each picked once: never awake), and one awake app, interleaved.
  std::mt19937 rng(42);
  std::vector<int> order(apps);
  for (int i = 0; i < apps; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const int samples = std::min(apps, 2000);
  std::vector<double> sleeping_hello, sleeping_counter, awake;
  const int awake_app = 1;  // a counter, kept awake by the requests below
  get(awake_app);
  for (int k = 0; k < samples; ++k) {
    int i = order[k] == awake_app ? order[(k + 1) % apps] : order[k];
    auto t = Clock::now();
    auto resp = get(i);
    double ms = ms_since(t);
    if (resp.status != 200) std::fprintf(stderr, "a%d: %d\n", i, resp.status);
    (i % 2 ? sleeping_counter : sleeping_hello).push_back(ms);
    t = Clock::now();
    get(awake_app);
    awake.push_back(ms_since(t));
  }
  std::vector<double> sleeping = sleeping_hello;
  sleeping.insert(sleeping.end(), sleeping_counter.begin(), sleeping_counter.end());
  server.stop(std::chrono::milliseconds(500));

  const long one_kib = run_capture_kib({"/proc/self/exe", "--one-process", "100"});
  const long up_kib = wink_up_processes_kib(100, artifacts);

  auto mb = [](double kib) { return kib / 1024.0; };
  std::printf("## density: %d apps on one node, in process (%d hello WAGI + %d stateful counter reactors)\n\n", apps,
              (apps + 1) / 2, apps / 2);
  std::printf("| figure | value |\n|---|---|\n");
  std::printf("| deploy rate, warm artifact cache | %.0f apps/s (%d in %.1f s) |\n", apps / deploy_s, apps, deploy_s);
  std::printf("| RSS: empty node / all deployed | %.1f MB / %.1f MB (%.1f KB per app) |\n", mb(rss_empty),
              mb(rss_deployed), double(rss_deployed - rss_empty) / apps);
  std::printf("| first request to each counter (%d) | %.1f s |\n", apps / 2, first_requests_s);
  std::printf("| all asleep: RSS + saved standby state | %.1f MB + %.1f MB = %.1f MB (%llu instances in standby) |\n",
              mb(rss_asleep), saved / 1048576.0, mb(rss_asleep) + saved / 1048576.0,
              static_cast<unsigned long long>(standby));
  auto row = [](const char* name, const std::vector<double>& v) {
    Stats s = stats(v);
    std::printf("| %s (n=%zu) | p50 %.3f ms, p99 %.3f ms, max %.3f ms |\n", name, v.size(), s.p50, s.p99, s.max);
  };
  row("request to a random sleeping app", sleeping);
  row("  of which hello (WAGI, new instance)", sleeping_hello);
  row("  of which counter (wake from standby)", sleeping_counter);
  row("same request to an awake app", awake);
  std::printf("| 100 apps: one node process | %.1f MB RSS |\n", mb(one_kib));
  std::printf("| 100 apps: 100 `wink up` processes | %.1f MB RSS (sum) |\n", mb(up_kib));
  std::printf("\nRatios: 100 `wink up` / one node = %.1fx RSS; sleeping p99 / awake p99 = %.1fx\n",
              one_kib ? double(up_kib) / one_kib : 0.0, stats(awake).p99 > 0 ? stats(sleeping).p99 / stats(awake).p99 : 0.0);
  // Restart: a new node over the same data dir serves every app again.
  reg->reset();
  t0 = Clock::now();
  auto again = node::Registry::open(config_for(data));
  const double restart_s = ms_since(t0) / 1000.0;
  if (again.ok()) {
    std::printf("\nRestart: %llu apps serving again in %.1f s, %llu compiles, %zu instances running\n",
                static_cast<unsigned long long>((*again)->stats().apps_loaded_at_start), restart_s,
                static_cast<unsigned long long>((*again)->engine().compile_count()),
                (*again)->lifecycle().instances().size());
    again->reset();
  }
  fs::remove_all(data);
  return 0;
}
