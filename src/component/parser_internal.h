// Internals of the component parser shared by its two files:
// parser.cpp (sections, index spaces) and parser_types.cpp (types,
// declarators, names). Not part of the library's interface.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "component/model.h"
#include "component/parser.h"
#include "component/reader.h"

namespace wink::component::detail {

constexpr uint8_t kComponentVersion = 0x0d;

struct Scope {
  enum class Kind { Component, ComponentType, InstanceType, ModuleType } kind = Kind::Component;
  std::vector<TypeDefPtr> types;
  std::vector<CoreTypeDefPtr> core_types;
  std::vector<InstanceTypeDefPtr> instance_types;  // may hold null: type unknown
  Component* component = nullptr;                  // Kind::Component
  Scope* parent = nullptr;
};

class Parser {
 public:
  Parser(std::span<const uint8_t> file, const ParseLimits& limits) : file_(file), limits_(limits) {}

  Result<Component> component(Reader& r, uint32_t depth, Scope* parent);

 private:
  // --- helpers ---
  template <typename V>
  Result<void> push(Reader& r, V& space, typename V::value_type item, const char* what) {
    if (space.size() >= limits_.max_index_space) {
      return r.error(std::string(what) + " index space exceeds " + std::to_string(limits_.max_index_space) +
                     " entries");
    }
    space.push_back(std::move(item));
    return {};
  }
  Result<uint32_t> index(Reader& r, size_t bound, const char* what) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint32_t i, r.u32());
    if (i >= bound) {
      return r.error_at(at, std::string(what) + " index " + std::to_string(i) + " out of range (" +
                                std::to_string(bound) + " defined)");
    }
    return i;
  }
  ResourceId fresh_resource() { return next_resource_++; }

  Result<Sort> read_sort(Reader& r, CoreSort* core);
  Result<SortIdx> read_sortidx(Reader& r);
  Result<ExternName> read_name_attributes(Reader& r);
  Result<ValTypePtr> read_valtype(Reader& r, Scope& s);
  Result<TypeDefPtr> read_deftype(Reader& r, Scope& s, uint32_t type_depth);
  Result<ValTypePtr> read_defvaltype(Reader& r, Scope& s, uint8_t op, uint64_t at);
  Result<FuncTypePtr> read_functype(Reader& r, Scope& s, bool async);
  Result<std::string> read_label(Reader& r);
  Result<TypeDefPtr> value_type_def(ValTypePtr v) {
    auto d = std::make_shared<TypeDef>();
    d->kind = TypeDef::Kind::Value;
    d->value = std::move(v);
    return TypeDefPtr(std::move(d));
  }
  Result<TypeDefPtr> read_decl_type(Reader& r, Scope& s, Scope::Kind kind, uint32_t type_depth);
  Result<ExternType> read_externtype(Reader& r, Scope& s);
  // Adds what an import/export declaration introduces to a type scope.
  Result<void> declare(Reader& r, Scope& s, const ExternType& t);
  Result<void> read_decl_alias(Reader& r, Scope& s);
  Result<CoreTypeDefPtr> read_core_type(Reader& r, Scope& s, uint32_t type_depth);
  Result<Scope*> outer_scope(Reader& r, Scope& s, uint32_t count, uint64_t at);

  // --- component sections ---
  Result<void> core_module_section(Reader& r, Component& c);
  Result<void> core_instance_section(Reader& r, Component& c);
  Result<void> core_type_section(Reader& r, Scope& s);
  Result<void> instance_section(Reader& r, Component& c, Scope& s);
  Result<void> alias_section(Reader& r, Component& c, Scope& s);
  Result<void> type_section(Reader& r, Scope& s);
  Result<void> canon_section(Reader& r, Component& c, Scope& s);
  Result<void> start_section(Reader& r, Component& c);
  Result<void> import_section(Reader& r, Component& c, Scope& s);
  Result<void> export_section(Reader& r, Component& c, Scope& s);
  Result<CanonOptions> read_canon_options(Reader& r, Component& c, bool lift);
  Result<void> check_canon_options(Reader& r, uint64_t at, const CanonOptions& o, const FuncType& ft, bool lift,
                                   Component& c);
  Result<void> alias_instance_export(Reader& r, Component& c, Scope& s, Sort sort, CoreSort core, uint64_t at);
  Result<void> alias_core_export(Reader& r, Component& c, CoreSort sort, uint64_t at);
  Result<void> alias_outer(Reader& r, Component& c, Scope& s, Sort sort, CoreSort core, uint64_t at);
  Result<void> add_item(Reader& r, Component& c, Scope& s, const SortIdx& item);

  std::span<const uint8_t> file_;
  const ParseLimits& limits_;
  ResourceId next_resource_ = 1;
};

}  // namespace wink::component::detail
