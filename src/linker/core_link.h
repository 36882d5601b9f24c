// Binding one import of a module compiled for linking (engine::Engine::
// load_linked) to what it is given, and the spec's import matching that
// decides whether it may be. Shared by the component linker (core instances
// of a component) and `wink wast` (spec modules, `register`, `spectest`):
// one link-table format, one set of rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "runtime/artifact_abi.h"

namespace wink::linker {

// What an import is given: its kind and type in artifact_abi.h notation (as
// in wink_export_t: a global's value type in params and "m" in results when
// mutable, a table's element type in params) and the slot that binds it.
struct CoreExtern {
  uint32_t kind = WINK_EXTERN_FUNC;  // wink_extern_kind_t
  std::string params, results;
  wink_link_slot_t slot{};
};

// "function", "memory", "table", "global".
const char* extern_kind_name(uint32_t kind);
// A core function type for messages: "(i32, f64) -> (i64)".
std::string describe(std::string_view params, std::string_view results);

// The slot binding an import to export `x` of the instance whose storage is
// `instance`: a function's native entry called with that instance (wasm2c's
// own convention, nothing marshalled), or the memory, table or global itself.
wink_link_slot_t export_slot(const wink_export_t& x, void* instance);

// Export `name` of `instance`, or nothing when it has none.
std::optional<CoreExtern> export_extern(engine::Instance& instance, std::string_view name);

// Import matching (WebAssembly 2.0, "Import matching"), the types: the same
// kind, a function signature exactly, a global's value type and mutability,
// a table's element type. Empty when `imp` accepts an item of this kind and
// type, else why not ("expects a function (i32) -> (i64), is given (i32) -> (i32)").
std::string type_mismatch(const wink_import_t& imp, uint32_t kind, std::string_view params,
                          std::string_view results);

// Import matching, the limits of a memory or table import against the live
// object it is given (wasm_rt_memory_t, wasm_rt_funcref_table_t or
// wasm_rt_externref_table_t): its current size at least the import's
// minimum and, when the import has a maximum, a maximum no larger. Empty
// when it fits (and for other kinds), else why not.
std::string limits_mismatch(const wink_import_t& imp, const void* object);

}  // namespace wink::linker
