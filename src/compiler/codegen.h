// wasm2c translation and the split into translation units: runs wabt's C
// writer in memory, moves data segments out of the C (into a blob the
// assembler includes with .incbin), spreads function bodies over several
// parts so that C compiler processes can work in parallel, and writes the
// glue that defines `wink_artifact`.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "compiler/frontend.h"

namespace wink::compiler {

struct SourceFile {
  std::string name;  // file name inside the build directory
  std::string text;
};

// A file to compile (a .c or .S translation unit).
struct CompileUnit {
  std::string name;
  uint64_t bytes = 0;        // its size
  uint64_t order_bytes = 0;  // its size before the float negations were marked
                             // (mark_float_negations): orders the jobs and the link
};

// Receives each file generate_code makes (the data blob as "data.bin") as
// soon as it is complete, in pieces: parts are made one at a time, so the
// module's C never exists twice in memory.
using FileSink = std::function<Result<void>(const std::string& name, std::span<const std::string_view> pieces)>;

// glue.c: the same for every -O level but the descriptor's compile_flags.
struct Glue {
  std::string text;
  size_t flags_at = 0, flags_size = 0;  // the compile_flags literal in `text`
  std::string with_compile_flags(std::string_view flags) const;
};

struct GeneratedCode {
  // Filled by the in-memory generate_code only (tests, benchmarks): every file.
  std::vector<SourceFile> headers;  // included by the parts
  std::vector<SourceFile> sources;  // .c and .S translation units, in compile_order
  std::vector<uint8_t> data_blob;   // data segments, written as "data.bin"
  // Both: the units but the glue, in the order made, and the glue.
  std::vector<CompileUnit> units;
  Glue glue;
  uint64_t wasm2c_bytes = 0;        // size of wasm2c's C output (for reports)
  uint64_t c_bytes = 0;             // size of the C we compile (data removed)
  double wasm2c_seconds = 0;        // wabt's C writer
  double split_seconds = 0;         // splitting, data extraction, glue (and handing the files to the sink)
  size_t translation_ranges = 0;    // ranges wasm2c ran on (0: the whole module at once)
  std::string ranges_refused;       // why a module above the threshold was translated whole

  // The units and glue.c (with `compile_flags`), largest first: the order of
  // the compile jobs and of the objects in the link.
  std::vector<CompileUnit> compile_order(std::string_view compile_flags) const;
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

// Translates `module` and splits the C: every file but glue.c goes to `sink`;
// the result lists the units and holds the glue. The unit texts are the same
// for every -O level and C compiler: f32/f64.neg are marked for TinyCC
// (mark_float_negations), which every other compiler reads as wasm2c's `-(x)`.
// The module's IR is freed as soon as nothing reads it (after the glue,
// before the split): a big module's IR is large.
Result<GeneratedCode> generate_code(ParsedModule&& module, const CodegenOptions& options, const FileSink& sink);
// The same in memory: headers, sources (glue.c with options.compile_flags)
// and data_blob filled.
Result<GeneratedCode> generate_code(const ParsedModule& module, const CodegenOptions& options);

// wasm2c writes f32.neg and f64.neg (its only unary minus in function bodies)
// as `x = -(x);`. TinyCC computes that as a subtraction, which keeps a NaN's
// sign; f32.neg and f64.neg flip the sign bit of any value. The C is written
// with `x = WINK_TCC_NEG(x);`: shared.h defines it as `-(x)` unless TinyCC's
// builtins header (forced first) defines it as a sign flip. Returns how many.
size_t mark_float_negations(std::string& text);

// wasm2c 1.0.32's name mangling: identifier characters except 'Z' stay,
// everything else becomes Z<hex>.
std::string wasm2c_mangle(std::string_view name);

}  // namespace wink::compiler
