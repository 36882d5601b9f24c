// Import binding for `wink wast`: what a module's imports resolve to (the
// exports of instances registered under a name, and the `spectest` host
// module), checked as the spec's import matching says (kind, function
// signature, global type and mutability, memory and table limits), and
// handed to the engine as the slot tables of compiler::Options::link_imports.
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace wabt {
struct Module;
}

namespace wink::cli::wast {

// An exported item as import matching sees it.
struct Extern {
  uint32_t kind = 0;             // wink_extern_kind_t
  std::string params, results;   // functions; a global's value type is in params
  bool mutable_global = false;
  char elem = 'r';               // table element type
  uint64_t min = 0;              // memory pages / table elements now
  std::optional<uint64_t> max;   // declared maximum
  wink_link_slot_t slot{};
};

// A named source of exports (`register NAME`, or spectest).
class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::optional<Extern> find(std::string_view name) const = 0;
};

// The spec interpreter's host module: print functions (silent here), four
// globals of value 666 / 666.6, a funcref table of 10 (max 20) and a memory
// of 1 page (max 2).
class Spectest : public Provider {
 public:
  static Result<std::unique_ptr<Spectest>> create();
  ~Spectest() override;
  std::optional<Extern> find(std::string_view name) const override;

 private:
  Spectest() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// The exports of one instance; `ir` (its module) gives global mutability
// and table element types, which the artifact descriptor does not carry.
class InstanceExports : public Provider {
 public:
  InstanceExports(engine::Instance& instance, const wabt::Module& ir) : instance_(instance), ir_(ir) {}
  std::optional<Extern> find(std::string_view name) const override;

 private:
  engine::Instance& instance_;
  const wabt::Module& ir_;
};

// The slot table of one import module (WINK_LINK_MAGIC, then the slots);
// must outlive the instance using it.
class LinkTable : public runtime::HostModule {
 public:
  explicit LinkTable(std::string module) : module_(std::move(module)), words_{WINK_LINK_MAGIC} {}
  std::string_view module_name() const override { return module_; }
  void* import_instance() override { return words_.data(); }
  void attach_memory(wasm_rt_memory_t*) override {}
  void add(const wink_link_slot_t& slot) {
    static_assert(sizeof slot == 3 * sizeof(uint64_t));
    words_.resize(words_.size() + 3);
    std::memcpy(&words_[words_.size() - 3], &slot, sizeof slot);
  }

 private:
  std::string module_;
  std::vector<uint64_t> words_;
};

using Registry = std::map<std::string, const Provider*, std::less<>>;

// Resolves every import of `ir` against `registry`. The error names the
// import and why it does not match (the spec's "unlinkable").
Result<std::vector<std::unique_ptr<LinkTable>>> link_imports(const wabt::Module& ir, const Registry& registry);

}  // namespace wink::cli::wast
