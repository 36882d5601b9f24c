// libFuzzer target for the module front end: any bytes go through what wink
// does with an uploaded module before the C compiler runs: parse and
// validate (libwabt) against the imports the host provides, then wasm2c's C
// writer, the data extraction and the split into parts. Each step refuses
// or succeeds; none may crash, hang or read outside its input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/hash.h"
#include "compiler/codegen.h"
#include "compiler/frontend.h"
#include "engine/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<wink::runtime::HostImport> imports = wink::engine::Engine::host_imports();
  std::span<const uint8_t> wasm(data, size);
  (void)wink::compiler::code_section_size(wasm);
  auto parsed = wink::compiler::parse_module(wasm, imports);
  if (!parsed.ok()) return 0;
  wink::compiler::CodegenOptions options;
  options.target_parts = 1 + size % 4;
  options.module_hash = wink::Sha256().update(wasm).hex();
  (void)wink::compiler::generate_code(*parsed, options);
  return 0;
}
