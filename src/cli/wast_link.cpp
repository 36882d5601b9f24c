#include "cli/wast_link.h"

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <cstring>

namespace wink::cli::wast {
namespace {

char value_char(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32: return 'i';
    case wabt::Type::I64: return 'I';
    case wabt::Type::F32: return 'f';
    case wabt::Type::F64: return 'F';
    case wabt::Type::FuncRef: return 'r';
    case wabt::Type::ExternRef: return 'e';
    default: return '?';
  }
}

std::string value_chars(const wabt::TypeVector& types) {
  std::string out;
  for (wabt::Type t : types) out += value_char(t);
  return out;
}

const char* kind_word(uint32_t kind) {
  switch (kind) {
    case WINK_EXTERN_FUNC: return "function";
    case WINK_EXTERN_MEMORY: return "memory";
    case WINK_EXTERN_TABLE: return "table";
    default: return "global";
  }
}

// wasm2c passes 65536 pages for a memory without a maximum, UINT32_MAX
// elements for such a table.
std::optional<uint64_t> memory_max(const wasm_rt_memory_t& m) {
  if (m.max_pages >= 65536) return std::nullopt;
  return m.max_pages;
}
std::optional<uint64_t> table_max(uint32_t max_size) {
  if (max_size == UINT32_MAX) return std::nullopt;
  return max_size;
}

// Limits match when the provided size is at least the wanted minimum and,
// if a maximum is wanted, the provided one exists and is no larger.
std::string limits_mismatch(const Extern& have, const wabt::Limits& want) {
  if (have.min < want.initial)
    return "size " + std::to_string(have.min) + " is below the minimum " + std::to_string(want.initial);
  if (want.has_max && (!have.max || *have.max > want.max))
    return "maximum " + (have.max ? std::to_string(*have.max) : std::string("none")) + " exceeds " +
           std::to_string(want.max);
  return {};
}

// Host functions of spectest: the spec interpreter prints; a test only needs them callable.
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

std::optional<Extern> Spectest::find(std::string_view name) const {
  Extern e;
  for (const SpectestFunc& f : kSpectestFuncs) {
    if (name != f.name) continue;
    e.kind = WINK_EXTERN_FUNC;
    e.params = f.params;
    e.slot.call = spectest_print;
    return e;
  }
  e.kind = WINK_EXTERN_GLOBAL;
  if (name == "global_i32") return e.params = "i", e.slot.object = &state_->global_i32, e;
  if (name == "global_i64") return e.params = "I", e.slot.object = &state_->global_i64, e;
  if (name == "global_f32") return e.params = "f", e.slot.object = &state_->global_f32, e;
  if (name == "global_f64") return e.params = "F", e.slot.object = &state_->global_f64, e;
  if (name == "memory") {
    e.kind = WINK_EXTERN_MEMORY;
    e.min = state_->memory.pages;
    e.max = memory_max(state_->memory);
    e.slot.object = &state_->memory;
    return e;
  }
  if (name == "table") {
    e.kind = WINK_EXTERN_TABLE;
    e.min = state_->table.size;
    e.max = table_max(state_->table.max_size);
    e.slot.object = &state_->table;
    return e;
  }
  return std::nullopt;
}

std::optional<Extern> InstanceExports::find(std::string_view name) const {
  const wink_export_t* x = instance_.module().find_export(name);
  if (x == nullptr) return std::nullopt;
  Extern e;
  e.kind = x->kind;
  void* raw = instance_.raw();
  if (x->kind == WINK_EXTERN_FUNC) {
    e.params = x->params;
    e.results = x->results;
    e.slot.call = x->call;
    e.slot.instance = raw;
    return e;
  }
  e.slot.object = x->get(raw);
  const wabt::Export* exp = ir_.GetExport(std::string(name));
  if (exp == nullptr) return std::nullopt;
  if (x->kind == WINK_EXTERN_GLOBAL) {
    e.params = x->params;
    const wabt::Global* g = ir_.GetGlobal(exp->var);
    e.mutable_global = g && g->mutable_;
  } else if (x->kind == WINK_EXTERN_MEMORY) {
    const auto* m = static_cast<const wasm_rt_memory_t*>(e.slot.object);
    e.min = m->pages;
    e.max = memory_max(*m);
  } else {
    const wabt::Table* t = ir_.GetTable(exp->var);
    e.elem = t ? value_char(t->elem_type) : 'r';
    // Both table structs start {data, max_size, size}.
    const auto* t32 = static_cast<const wasm_rt_funcref_table_t*>(e.slot.object);
    e.min = t32->size;
    e.max = table_max(t32->max_size);
  }
  return e;
}

Result<std::vector<std::unique_ptr<LinkTable>>> link_imports(const wabt::Module& ir, const Registry& registry) {
  std::vector<std::unique_ptr<LinkTable>> tables;
  for (const wabt::Import* imp : ir.imports) {
    std::string what = "import \"" + imp->module_name + "\" \"" + imp->field_name + "\"";
    auto provider = registry.find(imp->module_name);
    if (provider == registry.end()) return make_error(what + ": unknown module \"" + imp->module_name + "\"");
    std::optional<Extern> have = provider->second->find(imp->field_name);
    if (!have) return make_error(what + ": unknown export");
    std::string mismatch;
    uint32_t want_kind = WINK_EXTERN_FUNC;
    switch (imp->kind()) {
      case wabt::ExternalKind::Func: {
        const auto& sig = wabt::cast<wabt::FuncImport>(imp)->func.decl.sig;
        if (have->kind == WINK_EXTERN_FUNC &&
            (have->params != value_chars(sig.param_types) || have->results != value_chars(sig.result_types)))
          mismatch = "function signature (" + have->params + ")->(" + have->results + ") does not match (" +
                     value_chars(sig.param_types) + ")->(" + value_chars(sig.result_types) + ")";
        break;
      }
      case wabt::ExternalKind::Global: {
        want_kind = WINK_EXTERN_GLOBAL;
        const wabt::Global& g = wabt::cast<wabt::GlobalImport>(imp)->global;
        if (have->kind == WINK_EXTERN_GLOBAL &&
            (have->params != std::string(1, value_char(g.type)) || have->mutable_global != g.mutable_))
          mismatch = "global type does not match";
        break;
      }
      case wabt::ExternalKind::Memory:
        want_kind = WINK_EXTERN_MEMORY;
        if (have->kind == WINK_EXTERN_MEMORY)
          mismatch = limits_mismatch(*have, wabt::cast<wabt::MemoryImport>(imp)->memory.page_limits);
        break;
      case wabt::ExternalKind::Table: {
        want_kind = WINK_EXTERN_TABLE;
        const wabt::Table& t = wabt::cast<wabt::TableImport>(imp)->table;
        if (have->kind == WINK_EXTERN_TABLE) {
          mismatch = have->elem != value_char(t.elem_type) ? "table element type does not match"
                                                           : limits_mismatch(*have, t.elem_limits);
        }
        break;
      }
      default: return make_error(what + ": unsupported import kind");
    }
    if (have->kind != want_kind)
      mismatch = std::string("incompatible import type: wants a ") + kind_word(want_kind) + ", found a " +
                 kind_word(have->kind);
    if (!mismatch.empty()) return make_error(what + ": " + mismatch);
    LinkTable* table = nullptr;
    for (auto& t : tables)
      if (t->module_name() == imp->module_name) table = t.get();
    if (table == nullptr) table = tables.emplace_back(std::make_unique<LinkTable>(imp->module_name)).get();
    table->add(have->slot);
  }
  return tables;
}

}  // namespace wink::cli::wast
