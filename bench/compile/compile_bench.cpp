// compile_bench MODULE.wasm MODE...: times the compile pipeline on one module.
// A component (e.g. a componentize-js app) stands for its largest core module
// (the JS engine), compiled as `wink up` does: its code module (data split
// off, compiler/data_split.h), imports bound per instance (link_imports).
//   oneshot:O:JOBS   compile_module at -O<O> with JOBS parallel compilers
//   tiered:O:JOBS    ArtifactCache::get_tiered in a fresh cache: time to the
//                    quick artifact and to the optimized one, the CPU time
//                    of the process and its compilers, the translations the
//                    cache ran and the process's peak RSS so far
//   translate:whole|ranges[:THREADS]  wasm2c translation and split only (no
//                    C compiler), the module whole or in function ranges;
//                    the peak RSS printed is the process's so far (run one
//                    translate mode per process to compare memory); every
//                    file is held in memory (the form the tests compare)
//   translate:disk   translate_module, as compile_module translates: the
//                    files streamed to a build directory as they are made
//                    (its peak RSS is what a compile holds before its C
//                    compilers start)
// Prints one markdown table row per mode. WASI imports are accepted as-is
// (the bench measures compiling, not running).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>

#include "common/files.h"
#include "component/parser.h"
#include "compiler/codegen.h"
#include "compiler/compiler.h"
#include "compiler/data_split.h"
#include "compiler/frontend.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds of this process and of its waited-for children (the C compilers).
static double cpu_seconds() {
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  struct rusage self {}, children {};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return secs(self.ru_utime) + secs(self.ru_stime) + secs(children.ru_utime) + secs(children.ru_stime);
}

static double peak_rss_mb() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// A component's largest core module, as the engine compiles it (its code
// module when the data splits off); empty when there is none.
static std::vector<uint8_t> component_engine_module(const std::vector<uint8_t>& bytes) {
  auto component = wink::component::parse_component(bytes);
  if (!component.ok()) return {};
  const wink::component::CoreModuleDef* biggest = nullptr;
  for (const auto& m : component->core_modules)
    if (m.kind == wink::component::CoreModuleDef::Kind::Defined && (!biggest || m.size > biggest->size)) biggest = &m;
  if (!biggest) return {};
  std::span<const uint8_t> wasm(bytes.data() + biggest->offset, biggest->size);
  if (auto split = wink::compiler::split_data(wasm)) return std::move(split->code);
  return {wasm.begin(), wasm.end()};
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: compile_bench MODULE.wasm oneshot:O:JOBS|tiered:O:JOBS...\n");
    return 2;
  }
  auto wasm = wink::read_file(argv[1]);
  if (!wasm.ok()) { std::fprintf(stderr, "%s\n", wasm.error().message.c_str()); return 1; }
  wink::compiler::Options base;
  base.progress = true;
  if (wink::component::detect_layer(*wasm) == wink::component::BinaryLayer::Component) {
    *wasm = component_engine_module(*wasm);
    if (wasm->empty()) { std::fprintf(stderr, "%s: no core module\n", argv[1]); return 1; }
    base.link_imports = true;  // as Engine::load_linked
  }
  // Accept whatever the module imports, with its own signatures.
  std::deque<std::string> storage;  // stable strings behind the string_views
  // Learn the module's imports from the compiler's own refusals, one by one.
  for (int round = 0; !base.link_imports && round < 1000; ++round) {
    auto r = wink::compiler::check_module(*wasm, base);
    if (r.ok()) break;
    const std::string& m = r.error().message;
    const std::string tag = "module imports ";
    auto p = m.find(tag);
    if (p == std::string::npos) { std::fprintf(stderr, "%s\n", m.c_str()); return 1; }
    auto q = m.find(' ', p + tag.size());
    std::string qualified = m.substr(p + tag.size(), q - p - tag.size());
    auto sig_end = m.find(", which", q + 1);
    if (sig_end == std::string::npos) { std::fprintf(stderr, "%s\n", m.c_str()); return 1; }
    std::string sig = m.substr(q + 1, sig_end - q - 1);  // (i32,i32)->i32
    auto dot = qualified.find('.');
    auto enc = [](std::string list) {
      std::string out;
      size_t pos = 0;
      while (pos < list.size()) {
        size_t c = list.find(',', pos);
        std::string t = list.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
        out += t == "i32" ? "i" : t == "i64" ? "I" : t == "f32" ? "f" : t == "f64" ? "F" : "?";
        if (c == std::string::npos) break;
        pos = c + 1;
      }
      return out;
    };
    auto arrow = sig.find(")->");
    std::string params = enc(sig.substr(1, arrow - 1));
    std::string results = sig.substr(arrow + 3);
    if (results.front() == '(') results = results.substr(1, results.size() - 2);
    results = enc(results);
    storage.push_back(qualified.substr(0, dot));
    storage.push_back(qualified.substr(dot + 1));
    storage.push_back(params);
    storage.push_back(results);
    base.host_imports.clear();
    for (size_t i = 0; i + 3 < storage.size(); i += 4)
      base.host_imports.push_back({storage[i], storage[i + 1], storage[i + 2], storage[i + 3]});
  }
  fs::path work = fs::temp_directory_path() / "wink-compile-bench";
  fs::remove_all(work);
  fs::create_directories(work);
  std::printf("| module | mode | -O | jobs | parts | wasm code | wasm2c C | C compiled | artifact | first servable (s) | optimized (s) |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::fflush(stdout);
  std::string name = fs::path(argv[1]).filename();
  for (int i = 2; i < argc; ++i) {
    std::string mode = argv[i];
    char kind[16];
    int opt = 2;
    unsigned jobs = 0;
    if (mode.rfind("translate:", 0) != 0 && std::sscanf(mode.c_str(), "%15[a-z]:%d:%u", kind, &opt, &jobs) != 3) {
      std::fprintf(stderr, "bad mode %s\n", mode.c_str());
      return 2;
    }
    if (mode == "translate:disk") {
      wink::compiler::Options o = base;
      o.jobs = 2;
      wink::compiler::CompileReport rep;
      auto t = wink::compiler::translate_module(*wasm, o, &rep);
      if (!t.ok()) { std::fprintf(stderr, "%s\n", t.error().message.c_str()); return 1; }
      std::printf("| %s | %s | %u functions | ranges %zu | parse %.2f s | wasm2c %.2f s | split %.2f s | C %.1f MB | peak RSS %.0f MB |%s\n",
                  name.c_str(), mode.c_str(), rep.functions, rep.translation_ranges, rep.parse_seconds,
                  rep.wasm2c_seconds, rep.split_seconds, rep.c_bytes / 1e6, peak_rss_mb(),
                  rep.ranges_refused.empty() ? "" : (" refused: " + rep.ranges_refused).c_str());
      std::fflush(stdout);
      continue;
    }
    if (mode.rfind("translate:", 0) == 0) {
      bool ranged = mode.rfind("translate:ranges", 0) == 0;
      unsigned threads = 0;
      std::sscanf(mode.c_str(), "translate:ranges:%u", &threads);
      auto start = Clock::now();
      auto parsed = wink::compiler::parse_module(*wasm, base.host_imports, base.link_imports);
      if (!parsed.ok()) { std::fprintf(stderr, "%s\n", parsed.error().message.c_str()); return 1; }
      double parse = since(start);
      wink::compiler::CodegenOptions cg;
      cg.target_parts = 8;
      cg.range_threshold = ranged ? 1 : 0;
      cg.translate_threads = threads;
      auto code = wink::compiler::generate_code(*parsed, cg);
      if (!code.ok()) { std::fprintf(stderr, "%s\n", code.error().message.c_str()); return 1; }
      struct rusage ru {};
      ::getrusage(RUSAGE_SELF, &ru);
      std::printf("| %s | %s | %u functions | ranges %zu | parse %.2f s | wasm2c %.2f s | split %.2f s | C %.1f MB | peak RSS %.0f MB |%s\n",
                  name.c_str(), mode.c_str(), parsed->num_functions, code->translation_ranges, parse,
                  code->wasm2c_seconds, code->split_seconds, code->c_bytes / 1e6, ru.ru_maxrss / 1024.0,
                  code->ranges_refused.empty() ? "" : (" refused: " + code->ranges_refused).c_str());
      std::fflush(stdout);
      continue;
    }
    wink::compiler::Options o = base;
    o.opt_level = opt;
    o.jobs = jobs;
    if (std::string(kind) == "oneshot") {
      wink::compiler::CompileReport rep;
      auto r = wink::compiler::compile_module(*wasm, o, work / "out.so", &rep);
      if (!r.ok()) { std::fprintf(stderr, "%s\n", r.error().message.c_str()); return 1; }
      std::printf("| %s | one-shot | %d | %u | %zu | %.2f MB | %.1f MB | %.1f MB | %.2f MB | %.1f | %.1f |\n",
                  name.c_str(), opt, jobs, rep.parts, rep.code_bytes / 1e6, rep.wasm2c_bytes / 1e6,
                  rep.c_bytes / 1e6, rep.artifact_bytes / 1e6, rep.total_seconds, rep.total_seconds);
      std::fprintf(stderr, "  parse+validate %.2fs, wasm2c %.2fs, split %.2fs, cc+link %.2fs, data %.2f MB\n",
                   rep.parse_seconds, rep.wasm2c_seconds, rep.split_seconds, rep.cc_seconds,
                   rep.data_bytes / 1e6);
    } else {
      fs::remove_all(work / "cache");
      auto start = Clock::now();
      const double cpu_start = cpu_seconds();
      double quick = 0, optimized = 0, cpu = 0;
      uint64_t translations = 0, compiles = 0;
      {
        wink::compiler::ArtifactCache cache(work / "cache");
        auto t = cache.get_tiered(*wasm, o, 0);
        if (!t.ok()) { std::fprintf(stderr, "%s\n", t.error().message.c_str()); return 1; }
        quick = since(start);
        auto opt_path = t->optimized.get();
        if (!opt_path.ok()) { std::fprintf(stderr, "%s\n", opt_path.error().message.c_str()); return 1; }
        optimized = since(start);
        cpu = cpu_seconds() - cpu_start;
        translations = cache.translation_count();
        compiles = cache.compile_count();
      }
      std::printf("| %s | tiered (quick -O0, then background) | %d | %u | | | | | | %.1f | %.1f |\n",
                  name.c_str(), opt, jobs, quick, optimized);
      // The same figures in one line for scripts (bench/compile/tiers.sh).
      std::fprintf(stderr, "tiered: quick %.2f s, optimized %.2f s, cpu %.2f s, translations %llu, compiles %llu, peak RSS %.0f MB\n",
                   quick, optimized, cpu, static_cast<unsigned long long>(translations),
                   static_cast<unsigned long long>(compiles), peak_rss_mb());
    }
    std::fflush(stdout);
  }
  fs::remove_all(work);
  return 0;
}
