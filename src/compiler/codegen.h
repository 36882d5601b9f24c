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
  size_t translation_ranges = 0;    // ranges wasm2c ran on (0: the whole module at once)
  std::string ranges_refused;       // why a module above the threshold was translated whole
};

// Modules defining at least this many functions are translated in ranges
// (ranged_translation.h): wasm2c's time grows with the square of the number
// of functions, and ranges keep it linear.
inline constexpr size_t kRangeThreshold = 1000;
inline constexpr size_t kFunctionsPerRange = 128;

struct CodegenOptions {
  unsigned target_parts = 1;     // upper bound on function parts
  std::string module_hash;       // sha256 of the module bytes
  std::string compile_flags;     // informational, stored in the descriptor
  // Ranged translation; $WINK_TRANSLATE_RANGES overrides both (see
  // range_settings in codegen.cpp): "off", or "<threshold>[:<per range>]".
  size_t range_threshold = kRangeThreshold;     // 0: never
  size_t functions_per_range = kFunctionsPerRange;
  unsigned translate_threads = 0;               // 0: one per core
};

// The module name wasm2c sees; every generated symbol carries it.
inline constexpr const char* kGuestModuleName = "guest";

Result<GeneratedCode> generate_code(const ParsedModule& module, const CodegenOptions& options);

// wasm2c 1.0.32's name mangling: identifier characters except 'Z' stay,
// everything else becomes Z<hex>.
std::string wasm2c_mangle(std::string_view name);

}  // namespace wink::compiler
