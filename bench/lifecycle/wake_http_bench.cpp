// Wake cost as a user sees it: real HTTP requests (a new connection each) to
// `wink up`, a request to a stateful reactor that went to standby against the
// same request to the same app kept awake, after the same pause, interleaved
// in pairs (A B, B A, ...). The added cost is the median of the pairs'
// differences: a drift of the machine's speed hits both requests of a pair,
// where a difference of two medians of few samples swings by the drift
// (these VMs vary by a ms between seconds). The guest's whole heap is non-zero (1 to 512 MiB) and each
// request reads one byte in each of N pages spread over it. Prints a markdown
// table, with the machine's page-fault costs measured in the same run.
//
//   wake_http_bench [--wink PATH] [--sizes 1,64,256,512] [--touch 1,64,1024]
//                   [--rounds 15] [--pause-ms 0 (auto: 100 ms + 1 ms per MiB)]
#include <fcntl.h>
#include <sys/mman.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::vector<uint32_t> list(const char* s) {
  std::vector<uint32_t> out;
  for (const char* p = s; *p;) {
    out.push_back(static_cast<uint32_t>(std::strtoul(p, const_cast<char**>(&p), 10)));
    if (*p == ',') ++p;
  }
  return out;
}

// Fault costs of this machine, now: a first write to anonymous memory (per
// page), and a first read of a MAP_PRIVATE mapping of a memfd whose pages are
// in memory (per fault; the kernel maps up to 16 pages around each).
struct FaultCost {
  double anon_write_us = 0, file_read_us = 0;
};
FaultCost fault_cost() {
  FaultCost c;
  const size_t pages = 4096, bytes = pages * 4096;
  auto* p = static_cast<volatile char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto t = Clock::now();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  c.anon_write_us = ms_since(t) * 1000 / pages;
  munmap(const_cast<char*>(p), bytes);
  int fd = static_cast<int>(memfd_create("fault-cost", MFD_CLOEXEC));
  std::vector<char> buf(bytes, 1);
  if (fd >= 0 && ::pwrite(fd, buf.data(), bytes, 0) == static_cast<ssize_t>(bytes)) {
    auto* f = static_cast<volatile char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    t = Clock::now();
    char sum = 0;
    for (size_t i = 0; i < bytes; i += 16 * 4096) sum += f[i];
    c.file_read_us = ms_since(t) * 1000 / (pages / 16) + sum * 0;
    munmap(const_cast<char*>(f), bytes);
  }
  if (fd >= 0) ::close(fd);
  return c;
}

struct Series {
  std::vector<double> total, wake, exec, faults;
  int woke = 0, failed = 0;
};

// Minor page faults of process `pid` so far (all threads), from /proc/PID/stat.
double minor_faults(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  // Fields after the command: state(3) ppid pgrp session tty_nr tpgid flags minflt(10).
  unsigned long long minflt = 0;
  std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %llu", &minflt);
  return static_cast<double>(minflt);
}

}  // namespace

int main(int argc, char** argv) {
  // The binary under test: this build's by default, --wink for another (a
  // before/after against main's build).
  std::string wink = wink::test::wink_binary();
  std::vector<uint32_t> sizes = {1, 64, 256, 512}, touches = {1, 64, 1024};
  int rounds = 15;
  int pause_ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--wink") wink = next();
    else if (a == "--sizes") sizes = list(next());
    else if (a == "--touch") touches = list(next());
    else if (a == "--rounds") rounds = std::atoi(next());
    else if (a == "--pause-ms") pause_ms = std::atoi(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const fs::path root = fs::temp_directory_path() / ("wink-wake-http-" + std::to_string(::getpid()));
  fs::create_directories(root / "data");
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "wake_guest.wasm", root / "wake_guest.wasm");
  FaultCost f0 = fault_cost();
  std::printf("wink: %s\npage faults now: first write to anonymous memory %.2f us/page; first read of a private "
              "memfd mapping %.2f us/fault (maps 16 pages)\n\n",
              wink.c_str(), f0.anon_write_us, f0.file_read_us);
  std::printf("| heap (all non-zero) | pages touched | asleep: whole request p50 / p99 (ms) | awake (control) p50 / p99 (ms) "
              "| added (ms): median of pair differences | ratio p50 | asleep: wake / exec p50 (ms) | awake: exec p50 (ms) | page faults per request asleep / awake "
              "| woke |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (uint32_t mb : sizes) {
    const int pause = pause_ms ? pause_ms : 100 + static_cast<int>(mb);  // idle_timeout + standby + margin
    const std::string mem_limit = std::to_string(mb + 64) + "MiB";
    std::string manifest = "[app]\nname = \"wake\"\n\n";
    manifest += "[[route]]\npath = \"/asleep/...\"\ncomponent = \"asleep\"\n\n";
    manifest += "[[route]]\npath = \"/awake/...\"\ncomponent = \"awake\"\n\n";
    for (const char* id : {"asleep", "awake"}) {
      manifest += std::string("[component.") + id + "]\nsource = \"" + (root / "wake_guest.wasm").string() +
                  "\"\nexecutor = \"reactor\"\ninit = \"bench.init\"\ninit_environment = { MEM_MB = \"" +
                  std::to_string(mb) + "\" }\nstateful = true\nmax_instances = 1\nmemory_limit = \"" + mem_limit +
                  "\"\n";
      manifest += std::string(id) == "asleep" ? "scale_to_zero = \"on\"\nidle_timeout = \"10ms\"\n\n"
                                              : "scale_to_zero = \"off\"\n\n";
    }
    wink::test::WinkUp up(wink);
    std::vector<std::string> args = {"--data-dir", (root / "data").string(), "--access-log", "off"};
    if (!up.start(root / ("app" + std::to_string(mb)), manifest, args)) {
      std::fprintf(stderr, "wink up failed:\n%s\n", up.output().c_str());
      return 1;
    }
    wink::bench::pin_server_and_client(up.pid());
    for (uint32_t touch : touches) {
      const std::string q = "?touch=" + std::to_string(touch);
      Series asleep, awake;
      std::vector<double> added;  // asleep - awake, per pair where both answered
      for (int r = -1; r < rounds; ++r) {  // round -1 warms both up
        double pair[2] = {-1, -1};     // [asleep, awake] of this round
        // The first standby after the warm-up may copy the whole heap (when
        // the spare copy of the start snapshot is not ready yet): it gets
        // time to finish, or the first asleep request would find it running.
        if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500 + 4 * static_cast<int>(mb)));
        for (bool sleeping : {r % 2 == 0, r % 2 != 0}) {  // who goes first alternates
          std::this_thread::sleep_for(std::chrono::milliseconds(pause));
          const double f0 = minor_faults(up.pid());
          auto t = Clock::now();
          wink::test::HttpResponse resp = up.get(std::string(sleeping ? "/asleep/" : "/awake/") + q);
          double ms = ms_since(t);
          const double faults = minor_faults(up.pid()) - f0;
          if (r < 0) continue;
          Series& s = sleeping ? asleep : awake;
          // (A heap smaller than `touch` pages is touched whole: 1 MiB has 192 pages.)
          if (resp.status != 200 || resp.body.find("touched=") == std::string::npos) {
            ++s.failed;
            continue;
          }
          const std::string st = resp.header("Server-Timing");
          s.total.push_back(ms);
          pair[sleeping ? 0 : 1] = ms;
          s.wake.push_back(server_timing(st, "wake"));
          s.exec.push_back(server_timing(st, "exec"));
          s.faults.push_back(faults);
          s.woke += server_timing(st, "wake") > 0;
        }
        if (pair[0] >= 0 && pair[1] >= 0) added.push_back(pair[0] - pair[1]);
      }
      const double a50 = pct(asleep.total, 0.5), w50 = pct(awake.total, 0.5);
      std::printf("| %u MiB | %u | %.3f / %.3f | %.3f / %.3f | %+.3f | %.2fx | %.3f / %.3f | %.3f | %.0f / %.0f | %d/%zu%s |\n",
                  mb, touch, a50, pct(asleep.total, 0.99), w50, pct(awake.total, 0.99), pct(added, 0.5),
                  w50 > 0 ? a50 / w50 : 0, pct(asleep.wake, 0.5), pct(asleep.exec, 0.5), pct(awake.exec, 0.5),
                  pct(asleep.faults, 0.5), pct(awake.faults, 0.5), asleep.woke,
                  asleep.total.size(),
                  asleep.failed + awake.failed ? (" (" + std::to_string(asleep.failed + awake.failed) + " failed)").c_str()
                                               : "");
      std::fflush(stdout);
    }
    up.stop();
  }
  FaultCost f1 = fault_cost();
  std::printf("\npage faults after the run: anonymous write %.2f us/page; private memfd read %.2f us/fault\n",
              f1.anon_write_us, f1.file_read_us);
  fs::remove_all(root);
  return 0;
}
