// core_compile COMPONENT.wasm [O...]: what a component's largest core module
// (for componentize-js, the StarlingMonkey engine) costs through wink's
// compile pipeline, at each -O level given (default: 0 and 2). The component
// parser gives the module's byte range and imports; the imports are accepted
// with their own signatures (this measures compiling, not linking). Also
// prints the code/data split (compiler/data_split.h): the bytes the
// artifact cache key hashes, and the data each instance gets written.
//
// core_compile --second FIRST.wasm SECOND.wasm: two different apps through
// one engine (fresh artifact cache, quick tier as `wink up` uses it): the
// first pays the compile, the second is timed from its bytes to a created
// instance (cache lookup, dlopen, instantiate, data written), with the
// engine's compile count before and after.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "common/files.h"
#include "common/hash.h"
#include "component/parser.h"
#include "compiler/compiler.h"
#include "compiler/data_split.h"
#include "engine/engine.h"

namespace fs = std::filesystem;

static char type_char(wink::component::CoreValType t) {
  using wink::component::CoreValType;
  switch (t) {
    case CoreValType::I32: return 'i';
    case CoreValType::I64: return 'I';
    case CoreValType::F32: return 'f';
    case CoreValType::F64: return 'F';
  }
  return '?';
}

using Clock = std::chrono::steady_clock;
static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

static std::span<const uint8_t> engine_module(const std::vector<uint8_t>& bytes, const wink::component::Component& c) {
  const wink::component::CoreModuleDef* biggest = nullptr;
  for (const auto& m : c.core_modules)
    if (m.kind == wink::component::CoreModuleDef::Kind::Defined && (!biggest || m.size > biggest->size)) biggest = &m;
  return biggest ? std::span<const uint8_t>(bytes.data() + biggest->offset, biggest->size) : std::span<const uint8_t>();
}

static int second_app(const char* first_path, const char* second_path) {
  auto first = wink::read_file(first_path);
  auto second = wink::read_file(second_path);
  if (!first.ok() || !second.ok()) { std::fprintf(stderr, "cannot read the components\n"); return 1; }
  auto c1 = wink::component::parse_component(*first);
  auto c2 = wink::component::parse_component(*second);
  if (!c1.ok() || !c2.ok()) { std::fprintf(stderr, "not components\n"); return 1; }
  fs::path dir = fs::temp_directory_path() / ("wink-core-second-" + std::to_string(getpid()));
  wink::engine::EngineConfig config;
  config.data_dir = dir;
  config.compile.opt_level = 2;
  config.quick_tier_threshold = wink::engine::kQuickTierCodeBytes;  // as wink up: quick -O0 first
  wink::engine::Engine engine(config);
  auto t = Clock::now();
  auto m1 = engine.load_linked(engine_module(*first, *c1), wink::engine::Tiering::kQuick);
  if (!m1.ok()) { std::fprintf(stderr, "%s\n", m1.error().message.c_str()); return 1; }
  double first_s = since(t);
  uint64_t compiles = engine.compile_count();
  t = Clock::now();
  auto m2 = engine.load_linked(engine_module(*second, *c2), wink::engine::Tiering::kQuick);
  if (!m2.ok()) { std::fprintf(stderr, "%s\n", m2.error().message.c_str()); return 1; }
  double load_s = since(t);
  // Every import of the engine module is a function: zeroed link slots are
  // never called by instantiation (no start function).
  std::vector<wink_link_slot_t> slots((*m2)->abi().num_imports);
  auto inst = wink::engine::Instance::create_linked(*m2, slots);
  double servable_s = since(t);
  std::printf("first app: %.1f s to its artifact (%llu compile(s), quick tier)\n", first_s,
              static_cast<unsigned long long>(compiles));
  std::printf("second app: %.3f s to its module (%llu more compile(s), same artifact: %s), %.3f s to an instance%s\n",
              load_s, static_cast<unsigned long long>(engine.compile_count() - compiles),
              (*m1)->path() == (*m2)->path() ? "yes" : "no", servable_s,
              inst.ok() ? "" : (" (instantiation failed: " + inst.error().message + ")").c_str());
  fs::remove_all(dir);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--second") return second_app(argv[2], argv[3]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: core_compile COMPONENT.wasm [OPT_LEVEL...]\n");
    return 2;
  }
  auto bytes = wink::read_file(argv[1]);
  if (!bytes.ok()) { std::fprintf(stderr, "%s\n", bytes.error().message.c_str()); return 1; }
  auto component = wink::component::parse_component(*bytes);
  if (!component.ok()) { std::fprintf(stderr, "%s\n", component.error().message.c_str()); return 1; }
  const wink::component::CoreModuleDef* biggest = nullptr;
  for (const auto& m : component->core_modules)
    if (m.kind == wink::component::CoreModuleDef::Kind::Defined && (!biggest || m.size > biggest->size)) biggest = &m;
  if (!biggest) { std::fprintf(stderr, "no core module\n"); return 1; }
  std::span<const uint8_t> wasm(bytes->data() + biggest->offset, biggest->size);

  wink::compiler::Options base;
  base.progress = true;
  std::deque<std::string> sigs;  // stable storage behind the string_views
  for (const auto& imp : biggest->imports) {
    if (imp.kind != wink::component::CoreSort::Func || !imp.func) continue;
    std::string p, r;
    for (auto t : imp.func->params) p += type_char(t);
    for (auto t : imp.func->results) r += type_char(t);
    sigs.push_back(p);
    const std::string& ps = sigs.back();
    sigs.push_back(r);
    base.host_imports.push_back({imp.module, imp.name, ps, sigs.back()});
  }

  auto split = wink::compiler::split_data(wasm);
  std::printf("core module: %.2f MB at byte %llu of %s\n", wasm.size() / 1e6,
              static_cast<unsigned long long>(biggest->offset), argv[1]);
  if (split) {
    std::printf("code/data split: code module %.2f MB (key sha256 %s), %zu data segments, %.2f MB of data\n",
                split->code.size() / 1e6, wink::Sha256().update(split->code).hex().substr(0, 16).c_str(),
                split->data->segments.size(), split->data->bytes.size() / 1e6);
  } else {
    std::printf("code/data split: not possible, compiled whole\n");
  }
  std::span<const uint8_t> compiled = split ? std::span<const uint8_t>(split->code) : wasm;
  fs::path out = fs::temp_directory_path() / ("wink-core-compile-" + std::to_string(getpid()) + ".so");
  std::printf("| -O | functions | code | wasm2c C | C compiled | parts | artifact | translate (s) | cc (s) | total (s) |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::fflush(stdout);
  std::vector<int> levels;
  for (int i = 2; i < argc; ++i) levels.push_back(std::atoi(argv[i]));
  if (levels.empty()) levels = {0, 2};
  for (int level : levels) {
    wink::compiler::Options o = base;
    o.opt_level = level;
    wink::compiler::CompileReport rep;
    auto r = wink::compiler::compile_module(compiled, o, out, &rep);
    if (!r.ok()) { std::fprintf(stderr, "%s\n", r.error().message.c_str()); return 1; }
    std::printf("| %d | %u | %.2f MB | %.1f MB | %.1f MB | %zu | %.1f MB | %.1f | %.1f | %.1f |\n", level,
                rep.functions, rep.code_bytes / 1e6, rep.wasm2c_bytes / 1e6, rep.c_bytes / 1e6, rep.parts,
                rep.artifact_bytes / 1e6, rep.translate_seconds, rep.cc_seconds, rep.total_seconds);
    if (rep.probed_parts)  // the quick tier's parts TinyCC made with large frames, compiled again by cc
      std::fprintf(stderr, "-O%d: %zu part(s) compiled again with stack probes\n", level, rep.probed_parts);
    std::fflush(stdout);
  }
  fs::remove(out);
  return 0;
}
