#include "cli/wast_link.h"

namespace wink::cli::wast {
namespace {

// Host functions of spectest: the spec interpreter prints; a test only needs
// them callable. Called through the link slot's host trampoline.
void spectest_print(void*, const uint64_t*, uint64_t*) {}

struct SpectestFunc {
  const char* name;
  const char* params;
};
constexpr SpectestFunc kSpectestFuncs[] = {
    {"print", ""},          {"print_i32", "i"},     {"print_i64", "I"},         {"print_f32", "f"},
    {"print_f64", "F"},     {"print_i32_f32", "if"}, {"print_f64_f64", "FF"},
};

struct AllocateArgs {
  wasm_rt_memory_t* memory;
  wasm_rt_funcref_table_t* table;
};
void allocate_spectest(void* p) {
  auto* a = static_cast<AllocateArgs*>(p);
  wasm_rt_allocate_memory(a->memory, 1, 2);
  wasm_rt_allocate_funcref_table(a->table, 10, 20);
}

}  // namespace

struct Spectest::State {
  uint32_t global_i32 = 666;
  uint64_t global_i64 = 666;
  float global_f32 = 666.6f;
  double global_f64 = 666.6;
  wasm_rt_memory_t memory{};
  wasm_rt_funcref_table_t table{};
};

Result<std::unique_ptr<Spectest>> Spectest::create() {
  auto s = std::unique_ptr<Spectest>(new Spectest());
  s->state_ = std::make_unique<State>();
  AllocateArgs args{&s->state_->memory, &s->state_->table};
  runtime::Outcome out = runtime::guarded_call(allocate_spectest, &args);
  if (!out.ok()) return make_error("cannot create the spectest memory: " + out.detail);
  return s;
}

Spectest::~Spectest() {
  if (!state_) return;
  wasm_rt_free_memory(&state_->memory);
  wasm_rt_free_funcref_table(&state_->table);
}

std::optional<linker::CoreExtern> Spectest::find(std::string_view name) const {
  for (const SpectestFunc& f : kSpectestFuncs)
    if (name == f.name) return linker::CoreExtern{WINK_EXTERN_FUNC, f.params, "", {nullptr, nullptr, spectest_print}};
  auto object = [](uint32_t kind, const char* type, void* p) {
    return linker::CoreExtern{kind, type, "", {p, nullptr, nullptr}};
  };
  if (name == "global_i32") return object(WINK_EXTERN_GLOBAL, "i", &state_->global_i32);
  if (name == "global_i64") return object(WINK_EXTERN_GLOBAL, "I", &state_->global_i64);
  if (name == "global_f32") return object(WINK_EXTERN_GLOBAL, "f", &state_->global_f32);
  if (name == "global_f64") return object(WINK_EXTERN_GLOBAL, "F", &state_->global_f64);
  if (name == "memory") return object(WINK_EXTERN_MEMORY, "", &state_->memory);
  if (name == "table") return object(WINK_EXTERN_TABLE, "r", &state_->table);
  return std::nullopt;
}

Result<std::vector<wink_link_slot_t>> link_imports(const wink_artifact_t& abi, const Registry& registry) {
  std::vector<wink_link_slot_t> slots(uint64_t{abi.num_imports} + 1);
  for (uint32_t k = 0; k < abi.num_imports; ++k) {
    const wink_import_t& imp = abi.imports[k];
    std::string what = "import \"" + std::string(imp.module) + "\" \"" + imp.name + "\"";
    auto provider = registry.find(std::string_view(imp.module));
    if (provider == registry.end()) return make_error(what + ": unknown module \"" + imp.module + "\"");
    std::optional<linker::CoreExtern> have = provider->second->find(imp.name);
    if (!have) return make_error(what + ": unknown export");
    std::string mismatch = linker::type_mismatch(imp, have->kind, have->params, have->results);
    if (mismatch.empty()) mismatch = linker::limits_mismatch(imp, have->slot.target);
    if (!mismatch.empty()) return make_error(what + ": incompatible import type: " + mismatch);
    slots[k + 1] = have->slot;
  }
  return slots;
}

}  // namespace wink::cli::wast
