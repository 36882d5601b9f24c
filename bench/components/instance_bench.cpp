// instance_bench COMPONENT.wasm [-O LEVEL] [-n REQUESTS] [--data-dir DIR]:
// per-request cost of a wasi:http component through wink's per-request path
// (wagi::run_http_component, the code `wink up` runs for each request,
// without the HTTP server), in one process, two ways: every request's
// instance restored from the component's image (the default) and
// instantiated afresh (WINK_COMPONENT_RESTORE=1 and =0), and restored with
// recycled memory slots (what `wink up` does: HttpComponentLimits::
// recycled_slots). Prints the median and p90 of the instantiate and execute
// phases and of the whole run, the page faults per request (this thread's,
// getrusage), and the image's size and capture time. -O 0 uses the quick tier (what a large
// module is first served from); the artifact cache in DIR is reused.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "http/message.h"
#include "wagi/http_component.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  std::vector<double> inst, exec, total;
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

long thread_faults() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt + u.ru_majflt;
}

int run(const std::string& label, wink::engine::Engine& engine, const std::vector<uint8_t>& bytes, int n, bool restore,
        bool recycle = false) {
  ::setenv("WINK_COMPONENT_RESTORE", restore ? "1" : "0", 1);
  wink::wagi::HttpComponentLimits limits;
  limits.instance.deadline = std::chrono::seconds(10);
  if (recycle) limits.recycled_slots = wink::engine::Snapshot::kMaxRecycledSlots;
  const auto t_load = Clock::now();
  auto c = wink::wagi::load_http_component(engine, bytes, wink::wasi2::Config{}, limits);
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_load).count();
  if (!c.ok()) {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), c.error().message.c_str());
    return 1;
  }
  const auto& img = wink::wagi::http_component_image(**c);
  Figures f;
  std::string first_body;
  const long faults_before = thread_faults();
  for (int i = 0; i < n; ++i) {
    wink::http::Request req;
    req.method = "GET";
    req.target = "/hi";
    req.path = "/hi";
    req.headers.push_back({"host", "localhost"});
    wink::wagi::GuestRun r;
    const auto t0 = Clock::now();
    wink::wagi::run_http_component(**c, req, r);
    const double total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!r.instantiate_error.empty() || !r.outcome.ok() || !r.http) {
      std::fprintf(stderr, "%s: request %d failed: %s %s\n", label.c_str(), i, r.instantiate_error.c_str(),
                   r.outcome.detail.c_str());
      return 1;
    }
    if (i == 0) first_body = r.http->body;
    else if (r.http->body != first_body) {
      std::fprintf(stderr, "%s: request %d answered differently\n", label.c_str(), i);
      return 1;
    }
    f.inst.push_back(r.phases.at(0).ms);
    f.exec.push_back(r.phases.at(1).ms);
    f.total.push_back(total);
  }
  const double faults = static_cast<double>(thread_faults() - faults_before) / n;
  std::printf("| %s | %.2f | %s | %.3f / %.3f | %.3f / %.3f | %.3f / %.3f | %.1f |\n", label.c_str(), load_ms,
              img.used ? (std::to_string(img.stored_bytes >> 10) + " KiB, captured in " +
                          std::to_string(img.capture_ms).substr(0, 5) + " ms").c_str()
                       : ("none: " + img.reason).c_str(),
              pct(f.inst, 0.5), pct(f.inst, 0.9), pct(f.exec, 0.5), pct(f.exec, 0.9), pct(f.total, 0.5),
              pct(f.total, 0.9), faults);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: instance_bench COMPONENT.wasm [-O LEVEL] [-n REQUESTS] [--data-dir DIR]\n");
    return 2;
  }
  std::string path = argv[1];
  int opt = 2, n = 200;
  fs::path data_dir = fs::temp_directory_path() / "wink-instance-bench";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "-O") opt = std::atoi(argv[i + 1]);
    else if (a == "-n") n = std::atoi(argv[i + 1]);
    else if (a == "--data-dir") data_dir = argv[i + 1];
  }
  auto bytes = wink::read_file(path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
    return 1;
  }
  wink::engine::EngineConfig config;
  config.data_dir = data_dir;
  config.compile.opt_level = opt;
  wink::engine::Engine engine(config);
  std::printf("%s, -O%d, %d requests each (GET /hi), ms median / p90\n\n", fs::path(path).filename().c_str(), opt, n);
  // Load once first so neither measured load pays the compile; its row (and
  // load ms) is the time from the bytes to a servable component.
  if (run("(first load)", engine, *bytes, 1, true) != 0) return 1;
  std::printf("\ncore modules compiled by the first load: %llu (0: every artifact came from the cache)\n\n",
              static_cast<unsigned long long>(engine.compile_count()));
  std::printf("| per-request instance | load ms | image | instantiate | execute | whole run | page faults / request |\n"
              "|---|---|---|---|---|---|---|\n");
  if (run("instantiated afresh", engine, *bytes, n, false) != 0) return 1;
  if (run("restored from image", engine, *bytes, n, true) != 0) return 1;
  if (run("restored, slots recycled", engine, *bytes, n, true, true) != 0) return 1;
  return 0;
}
