// What a host-side import module (WASI, wink's own host API, ...) provides to
// the engine: the instance pointer the generated code passes to every import
// of that module, and the signatures it implements (checked at compile time,
// so a module importing something we lack is refused before it runs).
#pragma once

#include <wasm-rt.h>

#include <span>
#include <string_view>

namespace wink::runtime {

// One host function, with its Wasm signature in artifact_abi.h notation
// ('i' i32, 'I' i64, 'f' f32, 'F' f64; results "" for none).
struct HostImport {
  std::string_view module;
  std::string_view name;
  std::string_view params;
  std::string_view results;
};

class HostModule {
 public:
  virtual ~HostModule() = default;
  // Import module name, e.g. "wasi_snapshot_preview1".
  virtual std::string_view module_name() const = 0;
  // Pointer handed to the generated instantiate for this import module; the
  // generated code passes it as the first argument of each imported function.
  virtual void* import_instance() = 0;
  // Called after instantiation with the guest's memory 0 (nullptr if none).
  virtual void attach_memory(wasm_rt_memory_t* memory) = 0;
};

}  // namespace wink::runtime
