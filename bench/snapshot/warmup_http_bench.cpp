// First request after a deploy, over real HTTP to `wink up`, for a guest
// whose start-up work and lazily built caches cost hundreds of ms: with no
// init snapshot (the first request does both), with `init` (the snapshot holds
// the start-up work; the first request still builds the caches) and with
// `init` + `warmup` (Instaboot: the snapshot holds the caches too). Each
// configuration is a fresh `wink up` (snapshot file already on disk), A B C
// interleaved, `--rounds` times. Prints a markdown table.
//
//   warmup_http_bench [--rounds 5]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/wink_up.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--rounds") rounds = std::atoi(argv[++i]);
  }
  const fs::path root = fs::temp_directory_path() / ("wink-warmup-http-" + std::to_string(::getpid()));
  fs::create_directories(root / "data");
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "warm_guest.wasm", root / "warm_guest.wasm");
  struct Config {
    const char* name;
    std::string extra;
    std::vector<double> first_ms, second_ms;
    std::string body;
  };
  std::vector<Config> configs = {
      {"no init snapshot (start-up and caches on the first request)", "init = \"_initialize\"\n", {}, {}, {}},
      {"`init` snapshot (caches built by the first request)", "init = \"bench.init\"\n", {}, {}, {}},
      {"`init` + `warmup = [\"/?q=1\"]` (Instaboot)", "init = \"bench.init\"\nwarmup = [\"/?q=1\"]\n", {}, {}, {}},
  };
  for (int r = -1; r < rounds; ++r) {  // round -1 builds the artifact and snapshot files
    for (Config& c : configs) {
      const std::string manifest = "[app]\nname = \"warm\"\n\n[[route]]\npath = \"/...\"\ncomponent = \"w\"\n\n"
                                   "[component.w]\nsource = \"" + (root / "warm_guest.wasm").string() +
                                   "\"\nexecutor = \"reactor\"\nmemory_limit = \"128MiB\"\n" + c.extra;
      wink::test::WinkUp up;
      if (!up.start(root / "app", manifest, {"--data-dir", (root / "data").string(), "--access-log", "off"})) {
        std::fprintf(stderr, "wink up failed:\n%s\n", up.output().c_str());
        return 1;
      }
      auto t = Clock::now();
      wink::test::HttpResponse first = up.get("/?q=7");
      double first_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      t = Clock::now();
      wink::test::HttpResponse second = up.get("/?q=8");
      double second_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      up.stop();
      if (first.status != 200 || second.status != 200) {
        std::fprintf(stderr, "request failed: %d %d\n%s\n", first.status, second.status, up.output().c_str());
        return 1;
      }
      if (r < 0) continue;
      c.first_ms.push_back(first_ms);
      c.second_ms.push_back(second_ms);
      c.body = first.body;
    }
  }
  const double base = median(configs[0].first_ms);
  std::printf("| start state | first request p50 (ms) | rounds (ms) | speed-up vs no init snapshot | second request p50 (ms) | the guest's first answer |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Config& c : configs) {
    std::string each;
    for (double v : c.first_ms) each += (each.empty() ? "" : ", ") + std::to_string(static_cast<int>(v * 10) / 10.0).substr(0, 6);
    std::string body = c.body.substr(0, c.body.find('\n'));
    std::printf("| %s | %.2f | %s | %.0fx | %.2f | `%s` |\n", c.name, median(c.first_ms), each.c_str(),
                base / std::max(median(c.first_ms), 1e-6), median(c.second_ms), body.c_str());
  }
  fs::remove_all(root);
  return 0;
}
