// Per-request instance cost: create + run + destroy of a hello-world WASI
// command, median and p99 over many iterations. Also prints this machine's
// page-fault cost, which every memory-touching figure depends on.
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/files.h"
#include "engine/engine.h"
#include "wasi/wasi.h"

using namespace wink;
using Clock = std::chrono::steady_clock;

static double page_fault_us() {
  const size_t pages = 2000, bytes = pages * 4096;
  auto* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto t0 = Clock::now();
  for (size_t i = 0; i < pages; ++i) p[i * 4096] = 1;
  auto dt = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  munmap(p, bytes);
  return dt / pages;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s hello.wasm [iterations]\n", argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 100000;
  engine::EngineConfig config;
  config.data_dir = default_data_dir();
  engine::Engine eng(config);
  auto module = eng.load_file(argv[1]);
  if (!module.ok()) {
    std::fprintf(stderr, "%s\n", module.error().message.c_str());
    return 1;
  }
  std::string out;
  wasi::Config wc;
  wc.args = {"hello"};
  wc.stdout_.kind = wasi::Stdio::Kind::kBuffer;
  wc.stdout_.output = &out;
  auto prepared = *wasi::Prepared::create(wc);

  std::vector<double> samples;
  samples.reserve(iterations);
  auto minor_faults = [] {
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt + ru.ru_majflt;
  };
  long faults_before = 0;
  for (long i = -1000; i < iterations; ++i) {  // 1000 warm-up iterations
    if (i == 0) faults_before = minor_faults();
    out.clear();
    auto t0 = Clock::now();
    {
      wasi::Context ctx(prepared);
      runtime::HostModule* hosts[] = {&ctx};
      auto inst = engine::Instance::create(*module, hosts, {});
      if (!inst.ok()) {
        std::fprintf(stderr, "%s\n", inst.error().message.c_str());
        return 1;
      }
      runtime::Outcome o = (*inst)->run_start();
      if (!o.ok() && !(o.exited() && o.exit_code == 0)) {
        std::fprintf(stderr, "guest failed: %s\n", runtime::trap_message(o.trap));
        return 1;
      }
    }
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (i >= 0) samples.push_back(us);
  }
  const double faults_per_instance =
      static_cast<double>(minor_faults() - faults_before) / static_cast<double>(iterations);
  if (out != "Hello, world!\n") {
    std::fprintf(stderr, "unexpected output: %s\n", out.c_str());
    return 1;
  }
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))]; };
  std::printf("wink create+run+destroy hello: iterations=%ld median_us=%.2f p99_us=%.2f min_us=%.2f "
              "faults_per_instance=%.4f\n",
              iterations, pct(0.5), pct(0.99), samples.front(), faults_per_instance);
  std::printf("machine page fault: %.2f us per 4 KiB page\n", page_fault_us());
  return 0;
}
