// wasm2c translation of a big module in function ranges, so that translation
// time grows with the module's size instead of with its square.
//
// wasm2c 1.0.32's C writer starts every function with a copy of the set of
// every C name of the module (`local_syms_ = global_syms_` in
// CWriter::Write(const Func&)): n functions cost n copies of an n-element set.
// libwabt is linked statically and the copy is inlined, so it cannot be
// avoided inside the writer; instead the writer is run on small modules built
// in process from the parsed one (see ranged_translation.cpp), and their
// output is put together into the text the writer gives for the whole module:
// the same C names, the same instance struct, the same code, function by
// function, except for the names of a function's locals.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace wabt {
struct Module;
}

namespace wink::compiler {

struct RangedTranslation {
  std::string c;      // as wasm2c's source: prologue, items, then every function body
  std::string h;      // as wasm2c's header
  size_t ranges = 0;  // how many ranges the functions were translated in
};

// Translates `module` (named and validated as by parse_module) with wasm2c in
// ranges of about `functions_per_range` defined functions, on up to `threads`
// threads. An error says why it cannot (the module has something the scheme
// does not cover, or the writer's output has not the expected shape): the
// caller then translates the whole module at once, which is always correct.
Result<RangedTranslation> translate_in_ranges(const wabt::Module& module, const char* module_name,
                                              const char* header_name, size_t functions_per_range,
                                              unsigned threads);

}  // namespace wink::compiler
