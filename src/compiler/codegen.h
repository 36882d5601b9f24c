// wasm2c translation and the split into translation units: runs wabt's C
// writer in memory, moves data segments out of the C (into a blob the
// assembler includes with .incbin), spreads function bodies over several
// parts so that C compiler processes can work in parallel, and writes the
// glue that defines `wink_artifact`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "compiler/frontend.h"

namespace wink::compiler {

struct SourceFile {
  std::string name;  // file name inside the build directory
  std::string text;
};

struct GeneratedCode {
  std::vector<SourceFile> headers;  // included by the parts
  std::vector<SourceFile> sources;  // .c and .S translation units, biggest first
  std::vector<uint8_t> data_blob;   // data segments, written as "data.bin"
  uint64_t wasm2c_bytes = 0;        // size of wasm2c's C output (for reports)
  uint64_t c_bytes = 0;             // size of the C we compile (data removed)
  double wasm2c_seconds = 0;        // wabt's C writer
  double split_seconds = 0;         // splitting, data extraction, glue
};

struct CodegenOptions {
  unsigned target_parts = 1;     // upper bound on function parts
  std::string module_hash;       // sha256 of the module bytes
  std::string compile_flags;     // informational, stored in the descriptor
  bool link_imports = false;     // define every import as a slot shim (Options::link_imports)
};

// The module name wasm2c sees; every generated symbol carries it.
inline constexpr const char* kGuestModuleName = "guest";

Result<GeneratedCode> generate_code(const ParsedModule& module, const CodegenOptions& options);

// wasm2c 1.0.32's name mangling: identifier characters except 'Z' stay,
// everything else becomes Z<hex>.
std::string wasm2c_mangle(std::string_view name);

}  // namespace wink::compiler
