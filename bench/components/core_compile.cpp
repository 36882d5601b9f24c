// core_compile COMPONENT.wasm [O...]: what a component's largest core module
// (for componentize-js, the StarlingMonkey engine) costs through wink's
// compile pipeline, at each -O level given (default: 0 and 2). The component
// parser gives the module's byte range and imports; the imports are accepted
// with their own signatures (this measures compiling, not linking). Also
// prints the code/data split (compiler/data_split.h): the bytes the
// artifact cache key hashes, and the data each instance gets written.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>

#include "common/files.h"
#include "common/hash.h"
#include "component/parser.h"
#include "compiler/compiler.h"
#include "compiler/data_split.h"

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

int main(int argc, char** argv) {
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
    std::fflush(stdout);
  }
  fs::remove(out);
  return 0;
}
