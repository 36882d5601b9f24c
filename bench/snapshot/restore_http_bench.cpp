// Issue 13, row "request to a pre-initialized guest restored from its
// snapshot": real HTTP requests (a new connection each) to `wink up`, a WAGI
// guest whose init left --mb MiB of non-zero heap and whose request reads 8
// bytes spread over it and writes one page, against the control: the same
// guest and route without `init` (a fresh instance, no snapshot to restore).
// Both routes on one server, requests interleaved. With --base PATH, a second
// `wink up` (another build, e.g. main's) serves the same app and every request
// goes to both servers in turn, so before and after are measured in one run.
//
// Printed per server and route: whole request p50 / p90 (client clock),
// Server-Timing inst (restore or instantiate) and exec p50, and the server's
// CPU time per request (all its threads, from schedstat, around each request:
// less sensitive to other sessions' load than wall clock).
//
//   restore_http_bench [--wink PATH] [--base PATH] [--mb 8] [--requests 400] [--rounds 3]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/support/http_bench.h"
#include "support/wink_up.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using wink::bench::pct;
using wink::bench::server_timing;

// CPU time of every thread of process `pid` so far, in ms: the first field
// of /proc/PID/task/*/schedstat (ns, unlike the 10 ms ticks of /proc/PID/stat).
double cpu_ms(pid_t pid) {
  double ns = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    FILE* f = std::fopen((task.path() / "schedstat").c_str(), "r");
    if (!f) continue;
    unsigned long long run = 0;
    if (std::fscanf(f, "%llu", &run) == 1) ns += static_cast<double>(run);
    std::fclose(f);
  }
  return ns / 1e6;
}

struct Series {
  std::vector<double> total, inst, exec, cpu_us;
  int requests = 0, failed = 0;
  std::string body;
};

struct Server {
  std::string name;
  std::unique_ptr<wink::test::WinkUp> up;
  Series snap, plain;
};

void one(Server& s, const char* path, Series& out) {
  const double cpu0 = cpu_ms(s.up->pid());
  const auto t = Clock::now();
  wink::test::HttpResponse r = s.up->get(path);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  const double cpu = (cpu_ms(s.up->pid()) - cpu0) * 1000;
  ++out.requests;
  if (r.status != 200) {
    ++out.failed;
    return;
  }
  const std::string st = r.header("Server-Timing");
  out.total.push_back(ms);
  out.cpu_us.push_back(cpu);
  out.inst.push_back(server_timing(st, "inst"));
  out.exec.push_back(server_timing(st, "exec"));
  out.body = r.body.substr(0, r.body.find('\n'));
}

}  // namespace

int main(int argc, char** argv) {
  std::string wink = wink::test::wink_binary(), base;
  int mb = 8, requests = 400, rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--wink") wink = next();
    else if (a == "--base") base = next();
    else if (a == "--mb") mb = std::atoi(next());
    else if (a == "--requests") requests = std::atoi(next());
    else if (a == "--rounds") rounds = std::atoi(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const fs::path root = fs::temp_directory_path() / ("wink-restore-http-" + std::to_string(::getpid()));
  fs::create_directories(root);
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "restore_guest.wasm", root / "restore.wasm");
  const std::string src = (root / "restore.wasm").string();
  const std::string manifest =
      "[app]\nname = \"restore\"\n\n"
      "[[route]]\npath = \"/snap\"\ncomponent = \"snap\"\n\n"
      "[[route]]\npath = \"/plain\"\ncomponent = \"plain\"\n\n"
      "[component.snap]\nsource = \"" + src + "\"\nentrypoint = \"handle\"\ninit = \"wizer.initialize\"\n"
      "memory_limit = \"" + std::to_string(mb + 16) + "MiB\"\n\n"
      "[component.snap.init_environment]\nSNAP_MB = \"" + std::to_string(mb) + "\"\n\n"
      "[component.plain]\nsource = \"" + src + "\"\nentrypoint = \"handle\"\n";
  std::vector<Server> servers;
  servers.push_back({"this build", std::make_unique<wink::test::WinkUp>(wink), {}, {}});
  if (!base.empty()) servers.push_back({"base (--base)", std::make_unique<wink::test::WinkUp>(base), {}, {}});
  for (size_t k = 0; k < servers.size(); ++k) {
    fs::create_directories(root / ("data" + std::to_string(k)));
    if (!servers[k].up->start(root / ("app" + std::to_string(k)), manifest,
                              {"--data-dir", (root / ("data" + std::to_string(k))).string(), "--access-log",
                               "off"})) {
      std::fprintf(stderr, "wink up (%s) failed:\n%s\n", servers[k].name.c_str(), servers[k].up->output().c_str());
      return 1;
    }
    // Server on core 0, this client on core 1 (both servers share core 0).
    wink::bench::pin_server_and_client(servers[k].up->pid());
  }
  for (Server& s : servers) {  // warm-up: first requests fault in code and slots
    Series scratch;
    for (int i = 0; i < 50; ++i) {
      one(s, "/snap", scratch);
      one(s, "/plain", scratch);
    }
  }
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < requests; ++i) {
      for (Server& s : servers) {
        one(s, "/snap", s.snap);
        one(s, "/plain", s.plain);
      }
    }
  }
  for (Server& s : servers) s.up->stop();
  std::printf("restored request over HTTP (new connection each): %d MiB non-zero state, the request reads 8 bytes "
              "and writes one page; control: the same guest without `init` (fresh instance). %d requests per "
              "series, interleaved; shared 2-core machine.\n\n",
              mb, requests * rounds);
  std::printf("| server | route | whole request p50 / p90 (ms) | inst p50 (ms) | exec p50 (ms) | server CPU per "
              "request p50 / p90 (us) | failed | answer |\n|---|---|---|---|---|---|---|---|\n");
  for (Server& s : servers) {
    for (auto [route, x] : {std::pair<const char*, Series*>{"snapshot (/snap)", &s.snap}, {"control (/plain)", &s.plain}}) {
      std::printf("| %s | %s | %.3f / %.3f | %.4f | %.4f | %.1f / %.1f | %d | `%s` |\n", s.name.c_str(), route,
                  pct(x->total, 0.5), pct(x->total, 0.9), pct(x->inst, 0.5), pct(x->exec, 0.5),
                  pct(x->cpu_us, 0.5), pct(x->cpu_us, 0.9), x->failed, x->body.c_str());
    }
  }
  std::printf("\n");
  // The restore part: what the snapshot route costs the server beyond the
  // control's (restore, the guest's faults on the image, the reset at release).
  for (Server& s : servers) {
    std::printf("%s: snapshot / control whole request p50 %.2fx; restore part = server CPU p50 snapshot - control "
                "%.1f us; inst + exec p50 %.4f ms (control %.4f ms)\n",
                s.name.c_str(), pct(s.snap.total, 0.5) / std::max(pct(s.plain.total, 0.5), 1e-9),
                pct(s.snap.cpu_us, 0.5) - pct(s.plain.cpu_us, 0.5), pct(s.snap.inst, 0.5) + pct(s.snap.exec, 0.5),
                pct(s.plain.inst, 0.5) + pct(s.plain.exec, 0.5));
  }
  if (servers.size() == 2) {
    const Server &a = servers[0], &b = servers[1];
    std::printf("this build / base, snapshot route: whole request p50 %.2fx, server CPU p50 %.2fx, inst + exec p50 "
                "%.2fx; control route: whole request p50 %.2fx, server CPU p50 %.2fx\n",
                pct(a.snap.total, 0.5) / std::max(pct(b.snap.total, 0.5), 1e-9),
                pct(a.snap.cpu_us, 0.5) / std::max(pct(b.snap.cpu_us, 0.5), 1e-9),
                (pct(a.snap.inst, 0.5) + pct(a.snap.exec, 0.5)) /
                    std::max(pct(b.snap.inst, 0.5) + pct(b.snap.exec, 0.5), 1e-9),
                pct(a.plain.total, 0.5) / std::max(pct(b.plain.total, 0.5), 1e-9),
                pct(a.plain.cpu_us, 0.5) / std::max(pct(b.plain.cpu_us, 0.5), 1e-9));
  }
  fs::remove_all(root);
  return 0;
}
