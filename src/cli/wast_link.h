// Import binding for `wink wast`: what a module's imports resolve to (the
// exports of instances registered under a name, and the `spectest` host
// module), checked by the linker's import matching (linker/core_link.h:
// kind, function signature, global type and mutability, table element type,
// memory and table limits) and handed to Instance::create_linked as the
// instance's link table: the same mechanism components link through.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "linker/core_link.h"

namespace wink::cli::wast {

// A named source of exports (`register NAME`, or spectest).
class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::optional<linker::CoreExtern> find(std::string_view name) const = 0;
};

// The spec interpreter's host module: print functions (silent here), four
// globals of value 666 / 666.6, a funcref table of 10 (max 20) and a memory
// of 1 page (max 2).
class Spectest : public Provider {
 public:
  static Result<std::unique_ptr<Spectest>> create();
  ~Spectest() override;
  std::optional<linker::CoreExtern> find(std::string_view name) const override;

 private:
  Spectest() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// The exports of one instance.
class InstanceExports : public Provider {
 public:
  explicit InstanceExports(engine::Instance& instance) : instance_(instance) {}
  std::optional<linker::CoreExtern> find(std::string_view name) const override {
    return linker::export_extern(instance_, name);
  }

 private:
  engine::Instance& instance_;
};

using Registry = std::map<std::string, const Provider*, std::less<>>;

// The link table of an instance of `abi` (a module compiled for linking):
// slot 0 for Instance::create_linked to fill, then every import resolved
// against `registry`. The error names the import and why it does not match
// (the spec's "unlinkable").
Result<std::vector<wink_link_slot_t>> link_imports(const wink_artifact_t& abi, const Registry& registry);

}  // namespace wink::cli::wast
