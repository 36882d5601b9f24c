// density_bench through the control API: spawn `wink serve`, deploy over
// unix:<data>/control.sock with control::Client (bundles from
// control::pack_app, as cmd_deploy.cpp), measure RSS from /proc/PID/status,
// saved state from GET /v1/quotas, latency over real HTTP by Host header.
#include "api_mode.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../tests/support/http_client.h"
#include "control/bundle.h"
#include "control/client.h"
#include "measure.h"

namespace wink::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// The node under test; the alarm handler kills it so a stuck run never
// leaves it behind.
volatile pid_t g_node = 0;
void on_alarm(int) {
  static const char msg[] = "density_bench: --timeout-s reached, killing the node\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  if (g_node > 0) ::kill(g_node, SIGKILL);
  ::_exit(3);
}

struct Node {
  pid_t pid = 0;
  uint16_t port = 0;
};

// Starts `wink serve` and waits for its "listening" line (printed once every
// stored app is loaded), leaving its stderr in <data>/serve.log.
Node start_node(const fs::path& data) {
  int out[2];
  if (::pipe(out) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    int log = ::open((data / "serve.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log >= 0) ::dup2(log, STDERR_FILENO);
    ::close(out[0]);
    ::execl(WINK_BIN, "wink", "serve", "--listen", "127.0.0.1:0", "--data-dir", data.c_str(), "--access-log", "off",
            nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  g_node = pid;
  std::string text;
  char buf[512];
  const std::string marker = "listening on http://127.0.0.1:";
  uint16_t port = 0;
  for (ssize_t n; !port && (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<size_t>(n));
    size_t pos = text.find(marker);
    if (pos != std::string::npos && text.find(' ', pos + marker.size()) != std::string::npos) {
      port = static_cast<uint16_t>(std::atoi(text.c_str() + pos + marker.size()));
    }
  }
  // Keep draining stdout so the node never blocks on a full pipe.
  std::thread([fd = out[0]] {
    char b[512];
    while (::read(fd, b, sizeof b) > 0) {
    }
    ::close(fd);
  }).detach();
  return {pid, port};
}

void stop_node(Node& n) {
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGTERM);
  ::waitpid(n.pid, nullptr, 0);
  g_node = 0;
  n.pid = 0;
}

// Writes a bundle's files as an app directory, then packs it as `wink deploy` does.
Result<std::string> packed(const node::Bundle& b, const fs::path& dir) {
  fs::create_directories(dir);
  for (const auto& f : b.files) std::ofstream(dir / f.path, std::ios::binary) << f.bytes;
  auto bundle = control::pack_app(dir);
  if (!bundle.ok()) return bundle.error();
  return control::write_bundle(*bundle);
}

// POST /v1/apps?name=NAME as cmd_deploy.cpp: "" on success, else why not.
std::string deploy(const control::Client& c, const std::string& name, const std::string& bytes) {
  json result;
  std::string failure, first_line;
  auto resp = c.request("POST", "/v1/apps?name=" + name, bytes, "application/vnd.wink.bundle",
                        [&](const std::string& line) {
                          if (first_line.empty()) first_line = line;
                          json e = json::parse(line, nullptr, false);
                          if (!e.is_object()) return;
                          if (e.contains("result")) result = e["result"];
                          else if (e.contains("error") && e["error"].is_string()) failure = e["error"].get<std::string>();
                        });
  if (!resp.ok()) return resp.error().message;
  if (!failure.empty()) return failure;
  if (resp->status != 200) return "status " + std::to_string(resp->status) + ": " + first_line;
  if (!result.is_object()) return "stream cut before the result";
  return "";
}

struct NodeUsage {
  uint64_t active = 0, total = 0, memory = 0;
};
NodeUsage node_usage(const control::Client& c) {
  NodeUsage u;
  auto q = c.call("GET", "/v1/quotas");
  if (!q.ok() || !q->is_array()) return u;
  for (const json& s : *q) {
    if (s.value("scope", "") != "node") continue;
    const json& used = s["used"];
    u.active = used.value("active_instances", uint64_t{0});
    u.total = used.value("total_instances", uint64_t{0});
    u.memory = used.value("memory", uint64_t{0});
  }
  return u;
}

int fail(Node& n, const std::string& why) {
  std::fprintf(stderr, "density_bench: %s\n", why.c_str());
  if (n.pid > 0) {
    ::kill(n.pid, SIGKILL);
    ::waitpid(n.pid, nullptr, 0);
    g_node = 0;
  }
  return 1;
}

}  // namespace

int run_api_mode(const ApiModeOptions& o) {
  ::signal(SIGALRM, on_alarm);
  ::alarm(static_cast<unsigned>(o.timeout_s));
  const int apps = o.apps;
  Node node;
  auto hello = packed(o.hello, o.data_dir / "src-hello");
  auto counter = packed(o.counter, o.data_dir / "src-counter");
  if (!hello.ok() || !counter.ok()) return fail(node, "cannot pack the apps");

  node = start_node(o.data_dir);
  if (!node.port) return fail(node, "wink serve did not start (see " + (o.data_dir / "serve.log").string() + ")");
  control::ClientOptions co;
  co.data_dir = o.data_dir;  // unix:<data>/control.sock
  auto client = control::Client::open(co);
  if (!client.ok()) return fail(node, client.error().message);
  const control::Client& c = *client;

  // Warm the artifact cache (and the counter's start snapshot).
  for (const auto& [name, bytes] : {std::pair{"warm-h", &*hello}, std::pair{"warm-c", &*counter}}) {
    if (std::string e = deploy(c, name, *bytes); !e.empty()) return fail(node, std::string("warm-up: ") + e);
    if (auto r = c.call("DELETE", std::string("/v1/apps/") + name); !r.ok()) return fail(node, r.error().message);
  }
  const long rss_empty = status_kib(node.pid, "VmRSS:");

  std::atomic<int> next{0};
  std::mutex error_mu;
  std::string error;
  auto t0 = Clock::now();
  std::vector<std::thread> deployers;
  for (int t = 0; t < o.parallel; ++t) {
    deployers.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < apps;) {
        std::string e = deploy(c, "a" + std::to_string(i), i % 2 ? *counter : *hello);
        if (!e.empty()) {
          std::lock_guard lock(error_mu);
          if (error.empty()) error = "deploy a" + std::to_string(i) + ": " + e;
          next = apps;
        }
      }
    });
  }
  for (auto& t : deployers) t.join();
  if (!error.empty()) return fail(node, error);
  const double deploy_s = ms_since(t0) / 1000.0;
  const long rss_deployed = status_kib(node.pid, "VmRSS:");
  auto listed = c.call("GET", "/v1/apps");
  const size_t apps_listed = listed.ok() && listed->is_array() ? listed->size() : 0;

  auto get = [&](int i) {
    return test::http_request(node.port, "GET", "/", {"Host: a" + std::to_string(i) + ".localhost"});
  };
  // Every counter serves once, then all go to standby: saved state exists.
  t0 = Clock::now();
  for (int i = 1; i < apps; i += 2) {
    if (int s = get(i).status; s != 200) return fail(node, "app a" + std::to_string(i) + " answered " + std::to_string(s));
  }
  const double first_requests_s = ms_since(t0) / 1000.0;
  NodeUsage usage = node_usage(c);
  for (int k = 0; k < 600 && (usage = node_usage(c)).active != 0;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ++k;
  }
  const long rss_asleep = status_kib(node.pid, "VmRSS:");
  const long hwm_asleep = status_kib(node.pid, "VmHWM:");

  // Random sleeping apps (each picked once: never awake), and one awake app, interleaved.
  std::mt19937 rng(42);
  std::vector<int> order(apps);
  for (int i = 0; i < apps; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const int samples = std::min(apps - 1, 2000);
  const int awake_app = 1;  // a counter, kept awake by the requests below
  std::vector<int> picked;
  for (int k = 0; static_cast<int>(picked.size()) < samples; ++k) {
    if (order[k] != awake_app) picked.push_back(order[k]);
  }
  std::vector<double> sleeping_hello, sleeping_counter, awake;
  int errors = 0;
  get(awake_app);
  for (int i : picked) {
    auto t = Clock::now();
    auto resp = get(i);
    double ms = ms_since(t);
    errors += resp.status != 200;
    (i % 2 ? sleeping_counter : sleeping_hello).push_back(ms);
    t = Clock::now();
    errors += get(awake_app).status != 200;
    awake.push_back(ms_since(t));
  }
  std::vector<double> sleeping = sleeping_hello;
  sleeping.insert(sleeping.end(), sleeping_counter.begin(), sleeping_counter.end());
  stop_node(node);

  // Restart: a new `wink serve` over the same data dir serves every app again.
  t0 = Clock::now();
  Node again = start_node(o.data_dir);
  const double restart_s = ms_since(t0) / 1000.0;
  size_t restarted_apps = 0;
  int restart_status = 0;
  if (again.port) {
    auto l = c.call("GET", "/v1/apps");
    restarted_apps = l.ok() && l->is_array() ? l->size() : 0;
    node.port = again.port;  // get() asks the restarted node
    restart_status = get(picked.front()).status;
  }
  stop_node(again);
  ::alarm(0);

  auto mb = [](double kib) { return kib / 1024.0; };
  std::printf("## density through the control API: %d apps on one `wink serve` (%d hello WAGI + %d stateful counter "
              "reactors)\n\n",
              apps, (apps + 1) / 2, apps / 2);
  std::printf("| figure | value |\n|---|---|\n");
  std::printf("| deploy rate, warm artifact cache, %d deploys in parallel | %.0f apps/s (%d in %.1f s; %zu listed by "
              "GET /v1/apps) |\n",
              o.parallel, apps / deploy_s, apps, deploy_s, apps_listed);
  std::printf("| node RSS: empty / all deployed | %.1f MB / %.1f MB (%.1f KB per app) |\n", mb(rss_empty),
              mb(rss_deployed), double(rss_deployed - rss_empty) / apps);
  std::printf("| first request to each counter (%d) | %.1f s |\n", apps / 2, first_requests_s);
  std::printf("| all asleep: node RSS + saved standby state | %.1f MB + %.1f MB = %.1f MB (%llu in standby, %llu "
              "active; peak RSS %.1f MB) |\n",
              mb(rss_asleep), usage.memory / 1048576.0, mb(rss_asleep) + usage.memory / 1048576.0,
              static_cast<unsigned long long>(usage.total), static_cast<unsigned long long>(usage.active),
              mb(hwm_asleep));
  auto row = [](const char* name, const std::vector<double>& v) {
    Stats s = stats(v);
    std::printf("| %s (n=%zu) | p50 %.3f ms, p99 %.3f ms, max %.3f ms |\n", name, v.size(), s.p50, s.p99, s.max);
  };
  row("request to a random sleeping app", sleeping);
  row("  of which hello (WAGI, new instance)", sleeping_hello);
  row("  of which counter (wake from standby)", sleeping_counter);
  row("same request to an awake app", awake);
  const Stats s = stats(sleeping), a = stats(awake);
  std::printf("\nRatios sleeping / awake: p50 %.1fx, p99 %.1fx, max %.1fx; non-200 answers: %d\n",
              a.p50 > 0 ? s.p50 / a.p50 : 0.0, a.p99 > 0 ? s.p99 / a.p99 : 0.0, a.max > 0 ? s.max / a.max : 0.0, errors);
  std::printf("\nRestart: `wink serve` listening again in %.1f s, %zu apps listed, a sleeping app answered %d\n",
              restart_s, restarted_apps, restart_status);
  std::fflush(stdout);
  return errors == 0 && restarted_apps == static_cast<size_t>(apps) && restart_status == 200 ? 0 : 1;
}

}  // namespace wink::bench
