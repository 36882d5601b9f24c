// Component parser, type half: value types, function types, component and
// instance types with their declarators, core types, extern types, names.
#include <algorithm>

#include "component/core_module.h"
#include "component/parser_internal.h"

namespace wink::component::detail {

Result<Sort> Parser::read_sort(Reader& r, CoreSort* core) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t b, r.byte());
  if (b == 0x00) {
    uint64_t cat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t cs, r.byte());
    if (cs > 0x04 && (cs < 0x10 || cs > 0x12)) return r.error_at(cat, "unknown core sort " + hex_byte(cs));
    *core = static_cast<CoreSort>(cs);
    return Sort::Core;
  }
  if (b > 0x05) return r.error_at(at, "unknown sort " + hex_byte(b));
  return static_cast<Sort>(b);
}

Result<SortIdx> Parser::read_sortidx(Reader& r) {
  SortIdx s;
  WINK_ASSIGN_OR_RETURN(s.sort, read_sort(r, &s.core_sort));
  WINK_ASSIGN_OR_RETURN(s.index, r.u32());
  return s;
}

Result<ExternName> Parser::read_name_attributes(Reader& r) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t form, r.byte());
  if (form > 0x02) return r.error_at(at, "unknown extern name form " + hex_byte(form));
  uint64_t name_at = r.offset();
  WINK_ASSIGN_OR_RETURN(std::string text, r.name());
  if (form == 0x02) {
    WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("name attribute", 2));
    bool seen[3] = {false, false, false};
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t aat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t kind, r.byte());
      if (kind > 0x02) return r.error_at(aat, "unknown name attribute " + hex_byte(kind));
      if (seen[kind]) return r.error_at(aat, "name attribute " + hex_byte(kind) + " given twice");
      seen[kind] = true;
      WINK_TRY(r.name());
    }
  }
  auto parsed = parse_extern_name(text);
  if (!parsed) return r.error_at(name_at, parsed.error().message);
  return std::move(parsed).value();
}

Result<std::string> Parser::read_label(Reader& r) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(std::string l, r.name());
  if (l.empty()) return r.error_at(at, "empty label");
  return l;
}

Result<ValTypePtr> Parser::read_valtype(Reader& r, Scope& s) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(int64_t v, r.s33());
  if (v < 0) {
    uint8_t op = static_cast<uint8_t>(v & 0x7f);
    if (op >= 0x73 && op <= 0x7f) {
      return primitive(static_cast<ValKind>(0x7f - op));
    }
    if (op == 0x64) return make_error_context();
    return r.error_at(at, "unknown value type " + hex_byte(op));
  }
  if (static_cast<uint64_t>(v) >= s.types.size()) {
    return r.error_at(at, "type index " + std::to_string(v) + " out of range (" + std::to_string(s.types.size()) +
                              " defined)");
  }
  const TypeDefPtr& d = s.types[v];
  if (d->kind != TypeDef::Kind::Value) {
    return r.error_at(at, "type index " + std::to_string(v) + " is a " + type_kind_name(d->kind) +
                              " type, not a value type");
  }
  return d->value;
}

Result<ValTypePtr> Parser::read_defvaltype(Reader& r, Scope& s, uint8_t op, uint64_t at) {
  auto wrap = [&](Result<ValTypePtr> t) -> Result<ValTypePtr> {
    if (!t) return r.error_at(at, t.error().message);
    return t;
  };
  auto bounded_count = [&](const char* what) -> Result<uint32_t> {
    uint64_t cat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint32_t n, r.count(what));
    if (n > limits_.max_fields) {
      return r.error_at(cat, std::string(what) + " count " + std::to_string(n) + " exceeds the limit of " +
                                 std::to_string(limits_.max_fields));
    }
    return n;
  };
  switch (op) {
    case 0x72: {  // record
      WINK_ASSIGN_OR_RETURN(uint32_t n, bounded_count("record field"));
      std::vector<Field> fields;
      for (uint32_t i = 0; i < n; ++i) {
        Field f;
        WINK_ASSIGN_OR_RETURN(f.label, read_label(r));
        WINK_ASSIGN_OR_RETURN(f.type, read_valtype(r, s));
        fields.push_back(std::move(f));
      }
      return wrap(make_record(std::move(fields)));
    }
    case 0x71: {  // variant
      WINK_ASSIGN_OR_RETURN(uint32_t n, bounded_count("variant case"));
      std::vector<Case> cases;
      for (uint32_t i = 0; i < n; ++i) {
        Case c;
        WINK_ASSIGN_OR_RETURN(c.label, read_label(r));
        uint64_t oat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t has, r.byte());
        if (has == 0x01) {
          WINK_ASSIGN_OR_RETURN(c.type, read_valtype(r, s));
        } else if (has != 0x00) {
          return r.error_at(oat, "expected 0x00 or 0x01 for an optional case type, found " + hex_byte(has));
        }
        uint64_t zat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t z, r.byte());
        if (z != 0x00) return r.error_at(zat, "variant case refinement " + hex_byte(z) + " is not supported");
        cases.push_back(std::move(c));
      }
      return wrap(make_variant(std::move(cases)));
    }
    case 0x70: {
      WINK_ASSIGN_OR_RETURN(ValTypePtr e, read_valtype(r, s));
      return wrap(make_list(std::move(e)));
    }
    case 0x67: return r.error_at(at, "fixed-length lists (gated feature) are not supported");
    case 0x63: return r.error_at(at, "map types (gated feature) are not supported");
    case 0x6f: {
      WINK_ASSIGN_OR_RETURN(uint32_t n, bounded_count("tuple element"));
      std::vector<ValTypePtr> elems;
      for (uint32_t i = 0; i < n; ++i) {
        WINK_ASSIGN_OR_RETURN(ValTypePtr e, read_valtype(r, s));
        elems.push_back(std::move(e));
      }
      return wrap(make_tuple(std::move(elems)));
    }
    case 0x6e: case 0x6d: {
      uint64_t cat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint32_t n, bounded_count(op == 0x6e ? "flags label" : "enum case"));
      if (op == 0x6e && n > limits_.max_flags) {
        return r.error_at(cat, "flags with " + std::to_string(n) + " labels exceeds the limit of " +
                                   std::to_string(limits_.max_flags));
      }
      std::vector<std::string> labels;
      for (uint32_t i = 0; i < n; ++i) {
        WINK_ASSIGN_OR_RETURN(std::string l, read_label(r));
        labels.push_back(std::move(l));
      }
      return wrap(op == 0x6e ? make_flags(std::move(labels)) : make_enum(std::move(labels)));
    }
    case 0x6b: {
      WINK_ASSIGN_OR_RETURN(ValTypePtr e, read_valtype(r, s));
      return wrap(make_option(std::move(e)));
    }
    case 0x6a: {
      ValTypePtr parts[2];
      for (auto& p : parts) {
        uint64_t oat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t has, r.byte());
        if (has == 0x01) {
          WINK_ASSIGN_OR_RETURN(p, read_valtype(r, s));
        } else if (has != 0x00) {
          return r.error_at(oat, "expected 0x00 or 0x01 for an optional result type, found " + hex_byte(has));
        }
      }
      return wrap(make_result(parts[0], parts[1]));
    }
    case 0x69: case 0x68: {
      uint64_t iat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, s.types.size(), "type"));
      if (s.types[i]->kind != TypeDef::Kind::Resource) {
        return r.error_at(iat, std::string(op == 0x69 ? "own" : "borrow") + " of type " + std::to_string(i) +
                                   ", which is not a resource type");
      }
      ResourceId id = s.types[i]->resource.id;
      return op == 0x69 ? make_own(id) : make_borrow(id);
    }
    case 0x66: case 0x65: {
      ValTypePtr e;
      uint64_t oat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t has, r.byte());
      if (has == 0x01) {
        WINK_ASSIGN_OR_RETURN(e, read_valtype(r, s));
      } else if (has != 0x00) {
        return r.error_at(oat, "expected 0x00 or 0x01 for an optional element type, found " + hex_byte(has));
      }
      return wrap(op == 0x66 ? make_stream(std::move(e)) : make_future(std::move(e)));
    }
    default:
      if (op >= 0x73 && op <= 0x7f) return primitive(static_cast<ValKind>(0x7f - op));
      if (op == 0x64) return make_error_context();
      return r.error_at(at, "unknown type form " + hex_byte(op));
  }
}

Result<FuncTypePtr> Parser::read_functype(Reader& r, Scope& s, bool async) {
  auto f = std::make_shared<FuncType>();
  f->async = async;
  uint64_t cat = r.offset();
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("parameter", 2));
  if (n > limits_.max_fields) return r.error_at(cat, "parameter count " + std::to_string(n) + " exceeds the limit");
  std::vector<std::string> labels;
  for (uint32_t i = 0; i < n; ++i) {
    Field p;
    uint64_t lat = r.offset();
    WINK_ASSIGN_OR_RETURN(p.label, read_label(r));
    if (std::find(labels.begin(), labels.end(), p.label) != labels.end()) {
      return r.error_at(lat, "parameter '" + p.label + "' appears twice");
    }
    labels.push_back(p.label);
    WINK_ASSIGN_OR_RETURN(p.type, read_valtype(r, s));
    f->params.push_back(std::move(p));
  }
  uint64_t rat = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t form, r.byte());
  if (form == 0x00) {
    WINK_ASSIGN_OR_RETURN(f->result, read_valtype(r, s));
    if (contains_borrow(*f->result)) return r.error_at(rat, "function result contains a borrow handle");
  } else if (form == 0x01) {
    uint64_t zat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t z, r.byte());
    if (z != 0x00) return r.error_at(zat, "named results (" + std::to_string(z) + ") are not supported");
  } else {
    return r.error_at(rat, "unknown result list form " + hex_byte(form));
  }
  return FuncTypePtr(std::move(f));
}

Result<Scope*> Parser::outer_scope(Reader& r, Scope& s, uint32_t count, uint64_t at) {
  Scope* target = &s;
  for (uint32_t i = 0; i < count; ++i) {
    if (!target->parent) {
      return r.error_at(at, "outer alias count " + std::to_string(count) + " exceeds the " + std::to_string(i) +
                                " enclosing scopes");
    }
    target = target->parent;
  }
  return target;
}

Result<CoreTypeDefPtr> Parser::read_core_type(Reader& r, Scope& s, uint32_t type_depth) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t form, r.byte());
  if (form == 0x60) {
    WINK_ASSIGN_OR_RETURN(auto sig, read_core_func_type_body(r));
    if (!sig) return r.error_at(at, "core function types with v128 or reference types are not supported");
    auto d = std::make_shared<CoreTypeDef>();
    d->kind = CoreTypeDef::Kind::Func;
    d->func = *sig;
    return CoreTypeDefPtr(std::move(d));
  }
  if (form != 0x50) {
    return r.error_at(at, "core type form " + hex_byte(form) + " (GC types) is not supported");
  }
  if (s.kind == Scope::Kind::ModuleType) return r.error_at(at, "module type nested in a module type");
  if (type_depth >= limits_.max_type_scope_depth) return r.error_at(at, "type nesting exceeds the depth limit");
  // Module type: its own core type index space.
  Scope m;
  m.kind = Scope::Kind::ModuleType;
  m.parent = &s;
  auto d = std::make_shared<CoreTypeDef>();
  d->kind = CoreTypeDef::Kind::Module;
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("module declarator"));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t dat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t kind, r.byte());
    switch (kind) {
      case 0x00: case 0x03: {  // import / export
        std::string module, name;
        if (kind == 0x00) {
          WINK_ASSIGN_OR_RETURN(module, r.name());
        }
        WINK_ASSIGN_OR_RETURN(name, r.name());
        uint64_t kat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t ek, r.byte());
        if (ek > 4) return r.error_at(kat, "unknown core extern kind " + hex_byte(ek));
        std::optional<CoreFuncSig> sig;
        if (ek == 0x00) {
          uint64_t tat = r.offset();
          WINK_ASSIGN_OR_RETURN(uint32_t ti, index(r, m.core_types.size(), "core type"));
          if (m.core_types[ti]->kind != CoreTypeDef::Kind::Func) {
            return r.error_at(tat, "core type " + std::to_string(ti) + " is not a function type");
          }
          sig = m.core_types[ti]->func;
        } else {
          WINK_TRY(skip_core_extern_desc(r, static_cast<CoreSort>(ek)));
        }
        if (kind == 0x00) {
          d->imports.push_back({module, name, static_cast<CoreSort>(ek), sig});
        } else {
          d->exports.push_back({name, static_cast<CoreSort>(ek), sig});
        }
        break;
      }
      case 0x01: {
        WINK_ASSIGN_OR_RETURN(CoreTypeDefPtr t, read_core_type(r, m, type_depth + 1));
        WINK_TRY(push(r, m.core_types, std::move(t), "core type"));
        break;
      }
      case 0x02: {  // core:alias ::= 0x10 0x01 ct idx
        uint64_t aat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t sort, r.byte());
        WINK_ASSIGN_OR_RETURN(uint8_t outer, r.byte());
        if (sort != 0x10 || outer != 0x01) return r.error_at(aat, "module type alias must be an outer core type alias");
        WINK_ASSIGN_OR_RETURN(uint32_t ct, r.u32());
        WINK_ASSIGN_OR_RETURN(Scope * target, outer_scope(r, m, ct, aat));
        WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->core_types.size(), "core type"));
        WINK_TRY(push(r, m.core_types, target->core_types[idx], "core type"));
        break;
      }
      default:
        return r.error_at(dat, "unknown module declarator " + hex_byte(kind));
    }
  }
  return CoreTypeDefPtr(std::move(d));
}

Result<ExternType> Parser::read_externtype(Reader& r, Scope& s) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t kind, r.byte());
  ExternType t;
  auto type_of = [&](TypeDef::Kind want, const char* what) -> Result<TypeDefPtr> {
    uint64_t iat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, s.types.size(), "type"));
    if (s.types[i]->kind != want) {
      return r.error_at(iat, "type " + std::to_string(i) + " is a " + type_kind_name(s.types[i]->kind) +
                                 " type, expected a " + what + " type");
    }
    return s.types[i];
  };
  switch (kind) {
    case 0x00: {
      uint64_t mat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t m, r.byte());
      if (m != 0x11) return r.error_at(mat, "core extern type " + hex_byte(m) + " is not a module");
      uint64_t iat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, s.core_types.size(), "core type"));
      if (s.core_types[i]->kind != CoreTypeDef::Kind::Module) {
        return r.error_at(iat, "core type " + std::to_string(i) + " is not a module type");
      }
      t.sort = Sort::Core;
      t.core_module = s.core_types[i];
      return t;
    }
    case 0x01: {
      t.sort = Sort::Func;
      WINK_ASSIGN_OR_RETURN(t.type, type_of(TypeDef::Kind::Func, "func"));
      return t;
    }
    case 0x02: {
      t.sort = Sort::Value;
      uint64_t bat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t bound, r.byte());
      if (bound == 0x01) {
        WINK_ASSIGN_OR_RETURN(t.value, read_valtype(r, s));
        return t;
      }
      return r.error_at(bat, "value bound " + hex_byte(bound) + " is not supported");
    }
    case 0x03: {
      t.sort = Sort::Type;
      uint64_t bat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t bound, r.byte());
      if (bound == 0x00) {
        WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, s.types.size(), "type"));
        t.type = s.types[i];
      } else if (bound == 0x01) {
        auto d = std::make_shared<TypeDef>();
        d->kind = TypeDef::Kind::Resource;
        d->resource.id = fresh_resource();
        t.type = std::move(d);
      } else {
        return r.error_at(bat, "unknown type bound " + hex_byte(bound));
      }
      return t;
    }
    case 0x04: {
      t.sort = Sort::Component;
      WINK_ASSIGN_OR_RETURN(t.type, type_of(TypeDef::Kind::Component, "component"));
      return t;
    }
    case 0x05: {
      t.sort = Sort::Instance;
      WINK_ASSIGN_OR_RETURN(t.type, type_of(TypeDef::Kind::Instance, "instance"));
      return t;
    }
    default:
      return r.error_at(at, "unknown extern type " + hex_byte(kind));
  }
}

Result<void> Parser::declare(Reader& r, Scope& s, const ExternType& t) {
  if (t.sort == Sort::Type) return push(r, s.types, t.type, "type");
  if (t.sort == Sort::Instance) return push(r, s.instance_types, t.type->instance, "instance");
  return {};
}

Result<void> Parser::read_decl_alias(Reader& r, Scope& s) {
  uint64_t at = r.offset();
  CoreSort core{};
  WINK_ASSIGN_OR_RETURN(Sort sort, read_sort(r, &core));
  uint64_t kat = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t kind, r.byte());
  if (kind == 0x00) {
    if (sort != Sort::Type && sort != Sort::Instance) {
      return r.error_at(at, "export alias of sort " + std::string(sort_name(sort, core)) + " in a type declarator");
    }
    WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, s.instance_types.size(), "instance"));
    uint64_t nat = r.offset();
    WINK_ASSIGN_OR_RETURN(std::string name, r.name());
    const InstanceTypeDefPtr& it = s.instance_types[i];
    const ExternDecl* d = it ? it->find(name) : nullptr;
    if (!d) return r.error_at(nat, "instance " + std::to_string(i) + " has no export '" + name + "'");
    if (d->type.sort != sort) {
      return r.error_at(nat, "export '" + name + "' of instance " + std::to_string(i) + " is a " +
                                 sort_name(d->type.sort) + ", not a " + sort_name(sort));
    }
    return declare(r, s, d->type);
  }
  if (kind == 0x02) {
    WINK_ASSIGN_OR_RETURN(uint32_t ct, r.u32());
    WINK_ASSIGN_OR_RETURN(Scope * target, outer_scope(r, s, ct, at));
    if (sort == Sort::Type) {
      WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->types.size(), "type"));
      return push(r, s.types, target->types[idx], "type");
    }
    if (sort == Sort::Core && core == CoreSort::Type) {
      WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->core_types.size(), "core type"));
      return push(r, s.core_types, target->core_types[idx], "core type");
    }
    return r.error_at(at, "outer alias of sort " + std::string(sort_name(sort, core)) + " in a type declarator");
  }
  return r.error_at(kat, "alias kind " + hex_byte(kind) + " is not allowed in a type declarator");
}

Result<TypeDefPtr> Parser::read_decl_type(Reader& r, Scope& parent, Scope::Kind kind, uint32_t type_depth) {
  if (type_depth >= limits_.max_type_scope_depth) {
    return r.error("component/instance type nesting exceeds the depth limit of " +
                   std::to_string(limits_.max_type_scope_depth));
  }
  Scope s;
  s.kind = kind;
  s.parent = &parent;
  auto ct = std::make_shared<ComponentTypeDef>();
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("declarator"));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t d, r.byte());
    switch (d) {
      case 0x00: {
        WINK_ASSIGN_OR_RETURN(CoreTypeDefPtr t, read_core_type(r, s, type_depth + 1));
        WINK_TRY(push(r, s.core_types, std::move(t), "core type"));
        break;
      }
      case 0x01: {
        WINK_ASSIGN_OR_RETURN(TypeDefPtr t, read_deftype(r, s, type_depth + 1));
        if (t->kind == TypeDef::Kind::Resource) {
          return r.error_at(at, "resource type definitions are not allowed inside component or instance types");
        }
        WINK_TRY(push(r, s.types, std::move(t), "type"));
        break;
      }
      case 0x02:
        WINK_TRY(read_decl_alias(r, s));
        break;
      case 0x03: case 0x04: {
        if (d == 0x03 && kind != Scope::Kind::ComponentType) {
          return r.error_at(at, "import declarator inside an instance type");
        }
        uint64_t nat = r.offset();
        WINK_ASSIGN_OR_RETURN(ExternName name, read_name_attributes(r));
        WINK_ASSIGN_OR_RETURN(ExternType t, read_externtype(r, s));
        auto& list = d == 0x03 ? ct->imports : ct->exports;
        for (const ExternDecl& e : list) {
          if (e.name.text == name.text) return r.error_at(nat, "name '" + name.text + "' declared twice");
        }
        WINK_TRY(declare(r, s, t));
        list.push_back({std::move(name), std::move(t)});
        break;
      }
      default:
        return r.error_at(at, "unknown declarator " + hex_byte(d));
    }
  }
  auto def = std::make_shared<TypeDef>();
  if (kind == Scope::Kind::ComponentType) {
    def->kind = TypeDef::Kind::Component;
    def->component = std::move(ct);
  } else {
    def->kind = TypeDef::Kind::Instance;
    auto it = std::make_shared<InstanceTypeDef>();
    it->exports = std::move(ct->exports);
    def->instance = std::move(it);
  }
  return TypeDefPtr(std::move(def));
}

Result<TypeDefPtr> Parser::read_deftype(Reader& r, Scope& s, uint32_t type_depth) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t op, r.byte());
  switch (op) {
    case 0x40: case 0x43: {
      WINK_ASSIGN_OR_RETURN(FuncTypePtr f, read_functype(r, s, op == 0x43));
      auto d = std::make_shared<TypeDef>();
      d->kind = TypeDef::Kind::Func;
      d->func = std::move(f);
      return TypeDefPtr(std::move(d));
    }
    case 0x41: return read_decl_type(r, s, Scope::Kind::ComponentType, type_depth);
    case 0x42: return read_decl_type(r, s, Scope::Kind::InstanceType, type_depth);
    case 0x3f: {
      if (s.kind != Scope::Kind::Component) return r.error_at(at, "resource type outside a component");
      uint64_t rat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t rep, r.byte());
      if (rep != 0x7f) return r.error_at(rat, "resource representation " + hex_byte(rep) + " is not i32");
      auto d = std::make_shared<TypeDef>();
      d->kind = TypeDef::Kind::Resource;
      d->resource.id = fresh_resource();
      d->resource.defined = true;
      uint64_t oat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t has, r.byte());
      if (has == 0x01) {
        uint64_t fat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint32_t f, index(r, s.component->core_funcs.size(), "core func"));
        const auto& sig = s.component->core_funcs[f].signature;
        if (sig && !(*sig == CoreFuncSig{{CoreValType::I32}, {}})) {
          return r.error_at(fat, "resource destructor has type " + to_string(*sig) + ", expected (i32) -> ()");
        }
        d->resource.dtor = f;
      } else if (has != 0x00) {
        return r.error_at(oat, "expected 0x00 or 0x01 for an optional destructor, found " + hex_byte(has));
      }
      return TypeDefPtr(std::move(d));
    }
    default: {
      WINK_ASSIGN_OR_RETURN(ValTypePtr v, read_defvaltype(r, s, op, at));
      return value_type_def(std::move(v));
    }
  }
}

}  // namespace wink::component::detail
