#include "linker/core_link.h"
#include "runtime/signature.h"

namespace wink::linker {
namespace {

// "(mut i32)", "(f64)".
std::string global_type(std::string_view type, std::string_view mut) {
  std::string t = describe(type, "");
  t = t.substr(1, t.find(')') - 1);
  return "(" + std::string(mut == "m" ? "mut " : "") + t + ")";
}

const char* elem_name(std::string_view elem) {
  return elem == "r" ? "funcref" : elem == "e" ? "externref" : "?";
}

// A declared maximum: none is UINT64_MAX. The runtime keeps 65536 pages
// (4 GiB, all a 32-bit memory can have) for a memory without one, and
// UINT32_MAX elements for such a table.
uint64_t memory_max(const wasm_rt_memory_t& m) { return m.max_pages >= 65536 ? UINT64_MAX : m.max_pages; }
uint64_t table_max(uint32_t max_size) { return max_size == UINT32_MAX ? UINT64_MAX : max_size; }

std::string max_text(uint64_t max) { return max == UINT64_MAX ? "none" : std::to_string(max); }

}  // namespace

const char* extern_kind_name(uint32_t kind) {
  switch (kind) {
    case WINK_EXTERN_FUNC: return "function";
    case WINK_EXTERN_MEMORY: return "memory";
    case WINK_EXTERN_TABLE: return "table";
    case WINK_EXTERN_GLOBAL: return "global";
  }
  return "?";
}

std::string describe(std::string_view params, std::string_view results) {
  return "(" + runtime::signature_type_names(params, ", ") + ") -> (" + runtime::signature_type_names(results, ", ") +
         ")";
}

wink_link_slot_t export_slot(const wink_export_t& x, void* instance) {
  if (x.kind == WINK_EXTERN_FUNC) return {x.native, instance, nullptr};
  return {x.get(instance), nullptr, nullptr};
}

std::optional<CoreExtern> export_extern(engine::Instance& instance, std::string_view name) {
  const wink_export_t* x = instance.module().find_export(name);
  if (x == nullptr) return std::nullopt;
  if (x->kind == WINK_EXTERN_FUNC && x->native == nullptr) return std::nullopt;
  return CoreExtern{x->kind, x->params, x->results, export_slot(*x, instance.raw())};
}

std::string type_mismatch(const wink_import_t& imp, uint32_t kind, std::string_view params,
                          std::string_view results) {
  if (kind != imp.kind)
    return std::string("expects a ") + extern_kind_name(imp.kind) + ", is given a " + extern_kind_name(kind);
  switch (imp.kind) {
    case WINK_EXTERN_FUNC:
      if (params != imp.params || results != imp.results)
        return "expects a function " + describe(imp.params, imp.results) + ", is given " + describe(params, results);
      return {};
    case WINK_EXTERN_GLOBAL:
      if (params != imp.params || results != imp.results)
        return "expects a global " + global_type(imp.params, imp.results) + ", is given a global " +
               global_type(params, results);
      return {};
    case WINK_EXTERN_TABLE:
      if (params != imp.params)
        return std::string("expects a table of ") + elem_name(imp.params) + ", is given one of " + elem_name(params);
      return {};
    default: return {};
  }
}

std::string limits_mismatch(const wink_import_t& imp, const void* object) {
  uint64_t size = 0, max = 0;
  const char* unit = nullptr;
  if (imp.kind == WINK_EXTERN_MEMORY) {
    const auto* m = static_cast<const wasm_rt_memory_t*>(object);
    size = m->pages, max = memory_max(*m), unit = "pages";
  } else if (imp.kind == WINK_EXTERN_TABLE) {
    // funcref and externref tables share the size/max layout.
    const auto* t = static_cast<const wasm_rt_funcref_table_t*>(object);
    size = t->size, max = table_max(t->max_size), unit = "elements";
  } else {
    return {};
  }
  if (size >= imp.min && (imp.max == UINT64_MAX || max <= imp.max)) return {};
  return std::string(extern_kind_name(imp.kind)) + " of " + std::to_string(size) + " " + unit + " (max " +
         max_text(max) + ") does not fit the import's limits (min " + std::to_string(imp.min) + ", max " +
         max_text(imp.max) + ")";
}

}  // namespace wink::linker
