// Snapshot benchmarks (run by run.sh; prints markdown table rows):
//   snapshot_bench startup <wasm> [label]   first response without / with a snapshot
//   snapshot_bench restore <wasm> <MiB>...  restore cost by touched-memory size
// Each request: WASI context (stdout to a buffer, QUERY_STRING in env) +
// instance (Instance::create, or Snapshot::instantiate) + `handle` + destroy.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/snapshot.h"
#include "wasi/wasi.h"

using namespace wink;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

struct Stats {
  double median = 0, p99 = 0, min = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  if (v.empty()) return s;
  s.median = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  s.min = v[0];
  return s;
}

// First write to fresh anonymous pages: the machine's page-fault cost.
double page_fault_us() {
  const size_t pages = 4096, bytes = pages * 4096;
  auto* p = static_cast<volatile char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto t = Clock::now();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  double us = us_since(t) / pages;
  munmap((void*)p, bytes);
  return us;
}

struct Timing {
  double create_us = 0, call_us = 0, destroy_us = 0;
  double total() const { return create_us + call_us + destroy_us; }
};

std::shared_ptr<const wasi::Prepared> g_prepared;

// One request; `snap` null: fresh instantiate (the guest initializes itself).
Timing request(const std::shared_ptr<engine::Module>& module, const engine::Snapshot* snap,
               std::string* out_text) {
  static const std::vector<std::string> env = {"QUERY_STRING=4242", "REQUEST_METHOD=GET"};
  static const std::vector<std::string> args = {"/"};
  std::string out;
  wasi::Stdio out_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
  wasi::Overrides ov;
  ov.stdout_ = &out_stdio;
  ov.env = &env;
  ov.args = &args;
  Timing t;
  auto t0 = Clock::now();
  wasi::Context ctx(g_prepared, ov);
  runtime::HostModule* hosts[] = {&ctx};
  engine::InstanceLimits limits;
  limits.max_memory_pages = 65535;
  auto inst = snap ? snap->instantiate(hosts, limits) : engine::Instance::create(module, hosts, limits);
  if (!inst.ok()) {
    std::fprintf(stderr, "instantiate: %s\n", inst.error().message.c_str());
    std::exit(1);
  }
  t.create_us = us_since(t0);
  auto t1 = Clock::now();
  auto r = (*inst)->invoke("handle", {});
  if (!r.ok()) {
    std::fprintf(stderr, "handle: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  t.call_us = us_since(t1);
  auto t2 = Clock::now();
  inst->reset();
  t.destroy_us = us_since(t2);
  if (out_text) *out_text = out;
  return t;
}

std::shared_ptr<engine::Module> load(engine::Engine& eng, const char* wasm) {
  auto m = eng.load_file(wasm);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    std::exit(1);
  }
  return *m;
}

std::shared_ptr<engine::Snapshot> make_snapshot(std::shared_ptr<engine::Module> module,
                                                const engine::InitSpec& spec, const fs::path& file,
                                                double* init_ms, double* load_ms) {
  auto created = engine::Snapshot::create(module, spec);
  if (!created.ok()) {
    std::fprintf(stderr, "snapshot: %s\n", created.error().message.c_str());
    std::exit(1);
  }
  *init_ms = (*created)->stats().init_ms;
  if (auto w = (*created)->write(file); !w.ok()) {
    std::fprintf(stderr, "%s\n", w.error().message.c_str());
    std::exit(1);
  }
  created->reset();
  auto loaded = engine::Snapshot::load(file, module, spec);
  if (!loaded.ok()) {
    std::fprintf(stderr, "load: %s\n", loaded.error().message.c_str());
    std::exit(1);
  }
  *load_ms = (*loaded)->stats().load_ms;
  return *loaded;
}

int startup(engine::Engine& eng, const char* wasm, const char* label, int cold_runs, int warm_runs) {
  auto module = load(eng, wasm);
  std::vector<double> cold;
  std::string out;
  for (int i = 0; i < cold_runs; ++i) cold.push_back(request(module, nullptr, &out).total());
  std::fprintf(stderr, "%s (no snapshot): %s", label, out.c_str());
  engine::InitSpec spec;
  double init_ms, load_ms;
  auto snap = make_snapshot(module, spec, fs::path(eng.data_dir()) / "startup.snap", &init_ms, &load_ms);
  std::string snap_out;
  Timing first = request(module, snap.get(), &snap_out);  // first restore after load
  std::fprintf(stderr, "%s (snapshot): %s", label, snap_out.c_str());
  if (snap_out != out) {
    std::fprintf(stderr, "responses differ!\n");
    return 1;
  }
  std::vector<double> warm, create, call;
  for (int i = 0; i < warm_runs; ++i) {
    Timing t = request(module, snap.get(), nullptr);
    warm.push_back(t.total());
    create.push_back(t.create_us);
    call.push_back(t.call_us);
  }
  Stats c = stats(cold), w = stats(warm);
  const auto& st = snap->stats();
  std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0fx | %.1f | %.1f |\n", label,
              c.median / 1000.0, init_ms, load_ms, first.total(), w.median, stats(create).median,
              stats(call).median, c.median / w.median, st.memory_bytes / 1048576.0,
              st.nonzero_bytes / 1048576.0);
  return 0;
}

int restore(engine::Engine& eng, const char* wasm, int argc, char** argv) {
  auto module = load(eng, wasm);
  const int runs = 200;
  for (int a = 0; a < argc; ++a) {
    int mb = std::atoi(argv[a]);
    engine::InitSpec spec;
    spec.env = {"SNAP_MB=" + std::to_string(mb)};
    double init_ms, load_ms;
    auto snap = make_snapshot(module, spec, fs::path(eng.data_dir()) / ("restore-" + std::to_string(mb) + ".snap"),
                              &init_ms, &load_ms);
    // (a) mapping alone: instantiate + destroy, no guest code.
    std::vector<double> map_only, destroy_only;
    {
      auto prepared = g_prepared;
      for (int i = 0; i < runs; ++i) {
        wasi::Context ctx(prepared);
        runtime::HostModule* hosts[] = {&ctx};
        engine::InstanceLimits limits;
        auto t0 = Clock::now();
        auto inst = snap->instantiate(hosts, limits);
        map_only.push_back(us_since(t0));
        auto t1 = Clock::now();
        inst->reset();
        destroy_only.push_back(us_since(t1));
      }
    }
    // (b) mapping + first request (page faults on the request path).
    std::vector<double> cold_total, cold_call;
    for (int i = 0; i < runs; ++i) {
      Timing t = request(module, snap.get(), nullptr);
      cold_total.push_back(t.total());
      cold_call.push_back(t.call_us);
    }
    // (c) warm slots: mapped and hot pages prefaulted ahead of demand (the
    // refill is outside the timed part, as a background thread would do it).
    snap->set_warm_slots(1, engine::Snapshot::Prefault::kLearned);
    std::vector<double> warm_total, warm_call;
    for (int i = 0; i < runs; ++i) {
      snap->refill_warm_slots();
      Timing t = request(module, snap.get(), nullptr);
      if (i >= 8) {  // after the hot set is learned
        warm_total.push_back(t.total());
        warm_call.push_back(t.call_us);
      }
    }
    snap->set_warm_slots(0);
    const auto& st = snap->stats();
    std::printf("| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", mb,
                st.nonzero_bytes / 1048576.0, init_ms, load_ms, stats(map_only).median, stats(destroy_only).median,
                stats(cold_call).median, stats(cold_total).median, stats(warm_call).median,
                stats(warm_total).median, stats(warm_total).p99);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: snapshot_bench startup|restore|pagefault WASM [label|MiB...]\n");
    return 2;
  }
  std::string mode = argv[1];
  engine::EngineConfig config;
  const char* dd = std::getenv("WINK_DATA_DIR");
  config.data_dir = dd ? dd : "/tmp/wink-snapshot-bench";
  engine::Engine eng(config);
  g_prepared = *wasi::Prepared::create({});
  if (mode == "pagefault") {
    std::printf("%.2f\n", page_fault_us());
    return 0;
  }
  if (mode == "startup") {
    int cold = std::getenv("COLD_RUNS") ? std::atoi(std::getenv("COLD_RUNS")) : 5;
    int warm = std::getenv("WARM_RUNS") ? std::atoi(std::getenv("WARM_RUNS")) : 1000;
    return startup(eng, argv[2], argc > 3 ? argv[3] : "guest", cold, warm);
  }
  if (mode == "restore") return restore(eng, argv[2], argc - 3, argv + 3);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
