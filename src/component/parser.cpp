// Component binary parser (Binary.md), section half: the preamble, each
// section and the index spaces it fills. One Parser walks the outermost
// component and, recursively with a depth limit, its nested components;
// types and declarators are read in parser_types.cpp. Each scope
// (component, component type, instance type, core module type) has its own
// type index spaces; outer aliases walk the chain of enclosing scopes.
#include "component/parser.h"

#include <algorithm>

#include "component/abi.h"
#include "component/core_module.h"
#include "component/parser_internal.h"
#include "component/reader.h"

namespace wink::component {

BinaryLayer detect_layer(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || bytes[0] != 0x00 || bytes[1] != 0x61 || bytes[2] != 0x73 || bytes[3] != 0x6d) {
    return BinaryLayer::Unknown;
  }
  if (bytes[6] == 0x00 && bytes[7] == 0x00) return BinaryLayer::CoreModule;
  if (bytes[6] == 0x01 && bytes[7] == 0x00) return BinaryLayer::Component;
  return BinaryLayer::Unknown;
}

namespace detail {

namespace {

const char* section_name(uint8_t id) {
  switch (id) {
    case 0: return "custom section";
    case 1: return "core module section";
    case 2: return "core instance section";
    case 3: return "core type section";
    case 4: return "component section";
    case 5: return "instance section";
    case 6: return "alias section";
    case 7: return "type section";
    case 8: return "canon section";
    case 9: return "start section";
    case 10: return "import section";
    case 11: return "export section";
    case 12: return "value section";
  }
  return "unknown section";
}

const char* canon_builtin_name(uint8_t op) {
  switch (op) {
    case 0x05: return "task.cancel";
    case 0x06: return "subtask.cancel";
    case 0x09: return "task.return";
    case 0x0a: return "context.get";
    case 0x0b: return "context.set";
    case 0x0c: return "thread.yield";
    case 0x0d: return "subtask.drop";
    case 0x0e: return "stream.new";
    case 0x0f: return "stream.read";
    case 0x10: return "stream.write";
    case 0x11: return "stream.cancel-read";
    case 0x12: return "stream.cancel-write";
    case 0x13: return "stream.drop-readable";
    case 0x14: return "stream.drop-writable";
    case 0x15: return "future.new";
    case 0x16: return "future.read";
    case 0x17: return "future.write";
    case 0x18: return "future.cancel-read";
    case 0x19: return "future.cancel-write";
    case 0x1a: return "future.drop-readable";
    case 0x1b: return "future.drop-writable";
    case 0x1c: return "error-context.new";
    case 0x1d: return "error-context.debug-message";
    case 0x1e: return "error-context.drop";
    case 0x1f: return "waitable-set.new";
    case 0x20: return "waitable-set.wait";
    case 0x21: return "waitable-set.poll";
    case 0x22: return "waitable-set.drop";
    case 0x23: return "waitable.join";
    case 0x24: return "backpressure.inc";
    case 0x25: return "backpressure.dec";
    case 0x26: return "thread.index";
    case 0x27: return "thread.new-indirect";
    case 0x28: return "thread.resume-later";
    case 0x29: return "thread.suspend";
  }
  if (op >= 0x2a && op <= 0x2d) return "thread.* (threads)";
  if (op >= 0x40 && op <= 0x42) return "thread.spawn* (shared-everything threads)";
  return nullptr;
}

}  // namespace

// ---- sections ----

Result<void> Parser::core_module_section(Reader& r, Component& c) {
  CoreModuleDef m;
  m.kind = CoreModuleDef::Kind::Defined;
  m.offset = r.offset();
  m.size = r.remaining();
  WINK_ASSIGN_OR_RETURN(auto bytes, r.bytes(r.remaining()));
  if (detect_layer(bytes) != BinaryLayer::CoreModule) {
    return r.error_at(m.offset, "core module section does not hold a core module");
  }
  WINK_ASSIGN_OR_RETURN(CoreModuleInfo info, scan_core_module(bytes, m.offset));
  m.imports = std::move(info.imports);
  m.exports = std::move(info.exports);
  m.exports_known = true;
  WINK_TRY(push(r, c.core_modules, std::move(m), "core module"));
  c.order.push_back({Sort::Core, CoreSort::Module, static_cast<uint32_t>(c.core_modules.size() - 1)});
  return {};
}

Result<void> Parser::core_instance_section(Reader& r, Component& c) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("core instance", 2));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t form, r.byte());
    CoreInstanceDef def;
    if (form == 0x00) {
      def.kind = CoreInstanceDef::Kind::Instantiate;
      WINK_ASSIGN_OR_RETURN(def.module, index(r, c.core_modules.size(), "core module"));
      WINK_ASSIGN_OR_RETURN(uint32_t na, r.count("instantiate argument", 3));
      for (uint32_t k = 0; k < na; ++k) {
        uint64_t nat = r.offset();
        WINK_ASSIGN_OR_RETURN(std::string name, r.name());
        uint64_t sat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t sort, r.byte());
        if (sort != 0x12) return r.error_at(sat, "core instantiate argument sort " + hex_byte(sort) + " is not instance");
        WINK_ASSIGN_OR_RETURN(uint32_t inst, index(r, c.core_instances.size(), "core instance"));
        for (const auto& a : def.args) {
          if (a.first == name) return r.error_at(nat, "instantiate argument '" + name + "' given twice");
        }
        def.args.emplace_back(std::move(name), inst);
      }
      // Every import module name of the core module needs an argument.
      const CoreModuleDef& m = c.core_modules[def.module];
      for (const CoreImportDecl& imp : m.imports) {
        bool found = std::any_of(def.args.begin(), def.args.end(), [&](auto& a) { return a.first == imp.module; });
        if (!found) return r.error_at(at, "core instantiation gives no instance for import module '" + imp.module + "'");
      }
    } else if (form == 0x01) {
      def.kind = CoreInstanceDef::Kind::Exports;
      WINK_ASSIGN_OR_RETURN(uint32_t ne, r.count("inline export", 3));
      for (uint32_t k = 0; k < ne; ++k) {
        CoreInlineExport e;
        uint64_t nat = r.offset();
        WINK_ASSIGN_OR_RETURN(e.name, r.name());
        uint64_t sat = r.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t sort, r.byte());
        size_t bound;
        switch (sort) {
          case 0x00: bound = c.core_funcs.size(); break;
          case 0x01: bound = c.core_tables.size(); break;
          case 0x02: bound = c.core_memories.size(); break;
          case 0x03: bound = c.core_globals.size(); break;
          case 0x04: bound = c.core_tags.size(); break;
          default: return r.error_at(sat, "core inline export sort " + hex_byte(sort) + " is not supported");
        }
        e.sort = static_cast<CoreSort>(sort);
        WINK_ASSIGN_OR_RETURN(e.index, index(r, bound, sort_name(Sort::Core, e.sort)));
        for (const auto& x : def.exports) {
          if (x.name == e.name) return r.error_at(nat, "core export '" + e.name + "' given twice");
        }
        def.exports.push_back(std::move(e));
      }
    } else {
      return r.error_at(at, "unknown core instance form " + hex_byte(form));
    }
    WINK_TRY(push(r, c.core_instances, std::move(def), "core instance"));
    c.order.push_back({Sort::Core, CoreSort::Instance, static_cast<uint32_t>(c.core_instances.size() - 1)});
  }
  return {};
}

Result<void> Parser::core_type_section(Reader& r, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("core type"));
  for (uint32_t i = 0; i < n; ++i) {
    WINK_ASSIGN_OR_RETURN(CoreTypeDefPtr t, read_core_type(r, s, 0));
    WINK_TRY(push(r, s.core_types, std::move(t), "core type"));
  }
  return {};
}

Result<void> Parser::type_section(Reader& r, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("type"));
  for (uint32_t i = 0; i < n; ++i) {
    WINK_ASSIGN_OR_RETURN(TypeDefPtr t, read_deftype(r, s, 0));
    WINK_TRY(push(r, s.types, std::move(t), "type"));
    s.component->order.push_back({Sort::Type, CoreSort::Func, static_cast<uint32_t>(s.types.size() - 1)});
  }
  return {};
}

Result<void> Parser::import_section(Reader& r, Component& c, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("import", 3));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t nat = r.offset();
    WINK_ASSIGN_OR_RETURN(ExternName name, read_name_attributes(r));
    if (c.find_import(name.text)) return r.error_at(nat, "import '" + name.text + "' appears twice");
    WINK_ASSIGN_OR_RETURN(ExternType t, read_externtype(r, s));
    uint32_t import_index = static_cast<uint32_t>(c.imports.size());
    switch (t.sort) {
      case Sort::Func: {
        FuncDef f;
        f.kind = FuncDef::Kind::Import;
        f.import = import_index;
        f.type = t.type->func;
        WINK_TRY(push(r, c.funcs, std::move(f), "func"));
        c.order.push_back({Sort::Func, CoreSort::Func, static_cast<uint32_t>(c.funcs.size() - 1)});
        break;
      }
      case Sort::Instance: {
        InstanceDef d;
        d.kind = InstanceDef::Kind::Import;
        d.import = import_index;
        d.type = t.type->instance;
        WINK_TRY(push(r, s.instance_types, d.type, "instance"));
        c.instances.push_back(std::move(d));
        c.order.push_back({Sort::Instance, CoreSort::Func, static_cast<uint32_t>(c.instances.size() - 1)});
        break;
      }
      case Sort::Type:
        WINK_TRY(push(r, s.types, t.type, "type"));
        c.order.push_back({Sort::Type, CoreSort::Func, static_cast<uint32_t>(s.types.size() - 1)});
        break;
      case Sort::Component: {
        ComponentDef d;
        d.kind = ComponentDef::Kind::Import;
        d.import = import_index;
        d.type = t.type->component;
        WINK_TRY(push(r, c.components, std::move(d), "component"));
        break;
      }
      case Sort::Core: {
        CoreModuleDef m;
        m.kind = CoreModuleDef::Kind::Import;
        m.imports = t.core_module->imports;
        m.exports = t.core_module->exports;
        m.exports_known = true;
        WINK_TRY(push(r, c.core_modules, std::move(m), "core module"));
        break;
      }
      case Sort::Value: {
        ValueDef v;
        v.kind = ValueDef::Kind::Import;
        v.index = import_index;
        v.type = t.value;
        WINK_TRY(push(r, c.values, std::move(v), "value"));
        break;
      }
    }
    c.imports.push_back({std::move(name), std::move(t)});
  }
  return {};
}

// An export or an inline instance export introduces a new index aliasing the item.
Result<void> Parser::add_item(Reader& r, Component& c, Scope& s, const SortIdx& item) {
  switch (item.sort) {
    case Sort::Func:
      WINK_TRY(push(r, c.funcs, FuncDef(c.funcs[item.index]), "func"));
      c.order.push_back({Sort::Func, CoreSort::Func, static_cast<uint32_t>(c.funcs.size() - 1)});
      return {};
    case Sort::Type:
      return push(r, s.types, TypeDefPtr(s.types[item.index]), "type");
    case Sort::Instance:
      WINK_TRY(push(r, s.instance_types, InstanceTypeDefPtr(s.instance_types[item.index]), "instance"));
      c.instances.push_back(InstanceDef(c.instances[item.index]));
      return {};
    case Sort::Component:
      return push(r, c.components, ComponentDef(c.components[item.index]), "component");
    case Sort::Value:
      return push(r, c.values, ValueDef(c.values[item.index]), "value");
    case Sort::Core:
      return push(r, c.core_modules, CoreModuleDef(c.core_modules[item.index]), "core module");
  }
  return {};
}

static size_t space_size(const Component& c, const Scope& s, const SortIdx& item) {
  switch (item.sort) {
    case Sort::Func: return c.funcs.size();
    case Sort::Value: return c.values.size();
    case Sort::Type: return s.types.size();
    case Sort::Component: return c.components.size();
    case Sort::Instance: return c.instances.size();
    case Sort::Core:
      switch (item.core_sort) {
        case CoreSort::Func: return c.core_funcs.size();
        case CoreSort::Table: return c.core_tables.size();
        case CoreSort::Memory: return c.core_memories.size();
        case CoreSort::Global: return c.core_globals.size();
        case CoreSort::Tag: return c.core_tags.size();
        case CoreSort::Type: return s.core_types.size();
        case CoreSort::Module: return c.core_modules.size();
        case CoreSort::Instance: return c.core_instances.size();
      }
  }
  return 0;
}

// The type of an item, as an instance type's export declaration sees it.
static ExternType item_type(const Component& c, const Scope& s, const SortIdx& item) {
  ExternType t;
  t.sort = item.sort;
  switch (item.sort) {
    case Sort::Func: {
      auto d = std::make_shared<TypeDef>();
      d->kind = TypeDef::Kind::Func;
      d->func = c.funcs[item.index].type;
      t.type = std::move(d);
      break;
    }
    case Sort::Type: t.type = s.types[item.index]; break;
    case Sort::Instance: {
      auto d = std::make_shared<TypeDef>();
      d->kind = TypeDef::Kind::Instance;
      d->instance = s.instance_types[item.index];
      t.type = std::move(d);
      break;
    }
    case Sort::Value: t.value = c.values[item.index].type; break;
    default: break;
  }
  return t;
}

Result<void> Parser::export_section(Reader& r, Component& c, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("export", 4));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t nat = r.offset();
    WINK_ASSIGN_OR_RETURN(ExternName name, read_name_attributes(r));
    if (c.find_export(name.text)) return r.error_at(nat, "export '" + name.text + "' appears twice");
    Export e;
    e.name = std::move(name);
    uint64_t sat = r.offset();
    WINK_ASSIGN_OR_RETURN(e.item, read_sortidx(r));
    if (e.item.sort == Sort::Core && e.item.core_sort != CoreSort::Module) {
      return r.error_at(sat, "export of core sort " + std::string(sort_name(Sort::Core, e.item.core_sort)) +
                                 " (only core modules can be exported)");
    }
    size_t bound = space_size(c, s, e.item);
    if (e.item.index >= bound) {
      return r.error_at(sat, std::string(sort_name(e.item.sort, e.item.core_sort)) + " index " +
                                 std::to_string(e.item.index) + " out of range (" + std::to_string(bound) +
                                 " defined)");
    }
    uint64_t oat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t has, r.byte());
    if (has == 0x01) {
      WINK_ASSIGN_OR_RETURN(ExternType t, read_externtype(r, s));
      if (t.sort != e.item.sort) return r.error_at(oat, "export type ascription has a different sort");
      e.ascribed = std::move(t);
    } else if (has != 0x00) {
      return r.error_at(oat, "expected 0x00 or 0x01 for an optional export type, found " + hex_byte(has));
    }
    // An exported resource seen with a `(sub resource)` ascription keeps its identity inside.
    WINK_TRY(add_item(r, c, s, e.item));
    c.exports.push_back(std::move(e));
  }
  return {};
}

Result<void> Parser::instance_section(Reader& r, Component& c, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("instance", 2));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t form, r.byte());
    InstanceDef d;
    auto it = std::make_shared<InstanceTypeDef>();
    if (form == 0x00) {
      d.kind = InstanceDef::Kind::Instantiate;
      WINK_ASSIGN_OR_RETURN(d.component, index(r, c.components.size(), "component"));
      WINK_ASSIGN_OR_RETURN(uint32_t na, r.count("instantiate argument", 3));
      for (uint32_t k = 0; k < na; ++k) {
        uint64_t nat = r.offset();
        WINK_ASSIGN_OR_RETURN(std::string name, r.name());
        uint64_t sat = r.offset();
        WINK_ASSIGN_OR_RETURN(SortIdx si, read_sortidx(r));
        size_t bound = space_size(c, s, si);
        if (si.index >= bound) {
          return r.error_at(sat, std::string(sort_name(si.sort, si.core_sort)) + " index " +
                                     std::to_string(si.index) + " out of range");
        }
        for (const auto& a : d.args) {
          if (a.first == name) return r.error_at(nat, "instantiate argument '" + name + "' given twice");
        }
        d.args.emplace_back(std::move(name), si);
      }
      // The instance's exports are the component's exports.
      const ComponentDef& cd = c.components[d.component];
      if (cd.nested) {
        for (const Export& e : cd.nested->exports) {
          ExternType t = e.ascribed ? *e.ascribed : ExternType{};
          if (!e.ascribed) {
            t.sort = e.item.sort;
            if (e.item.sort == Sort::Func) {
              auto fd = std::make_shared<TypeDef>();
              fd->kind = TypeDef::Kind::Func;
              fd->func = cd.nested->funcs[e.item.index].type;
              t.type = std::move(fd);
            } else if (e.item.sort == Sort::Type) {
              t.type = cd.nested->types[e.item.index];
            } else if (e.item.sort == Sort::Instance) {
              auto td = std::make_shared<TypeDef>();
              td->kind = TypeDef::Kind::Instance;
              td->instance = cd.nested->instances[e.item.index].type;
              t.type = std::move(td);
            }
          }
          it->exports.push_back({e.name, std::move(t)});
        }
        for (const Import& imp : cd.nested->imports) {
          bool found = std::any_of(d.args.begin(), d.args.end(), [&](auto& a) { return a.first == imp.name.text; });
          if (!found) return r.error_at(at, "instantiation gives no argument for import '" + imp.name.text + "'");
        }
      } else if (cd.type) {
        it->exports = cd.type->exports;
      }
    } else if (form == 0x01) {
      d.kind = InstanceDef::Kind::Exports;
      WINK_ASSIGN_OR_RETURN(uint32_t ne, r.count("inline export", 3));
      for (uint32_t k = 0; k < ne; ++k) {
        uint64_t nat = r.offset();
        WINK_ASSIGN_OR_RETURN(ExternName name, read_name_attributes(r));
        uint64_t sat = r.offset();
        WINK_ASSIGN_OR_RETURN(SortIdx si, read_sortidx(r));
        if (si.sort == Sort::Core && si.core_sort != CoreSort::Module) {
          return r.error_at(sat, "inline export of a core sort other than module");
        }
        if (si.index >= space_size(c, s, si)) {
          return r.error_at(sat, std::string(sort_name(si.sort, si.core_sort)) + " index " +
                                     std::to_string(si.index) + " out of range");
        }
        if (it->find(name.text)) return r.error_at(nat, "inline export '" + name.text + "' given twice");
        it->exports.push_back({name, item_type(c, s, si)});
        d.exports.emplace_back(std::move(name), si);
      }
    } else {
      return r.error_at(at, "unknown instance form " + hex_byte(form));
    }
    d.type = std::move(it);
    WINK_TRY(push(r, s.instance_types, d.type, "instance"));
    c.instances.push_back(std::move(d));
    c.order.push_back({Sort::Instance, CoreSort::Func, static_cast<uint32_t>(c.instances.size() - 1)});
  }
  return {};
}

Result<void> Parser::alias_instance_export(Reader& r, Component& c, Scope& s, Sort sort, CoreSort core,
                                           uint64_t at) {
  WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, c.instances.size(), "instance"));
  uint64_t nat = r.offset();
  WINK_ASSIGN_OR_RETURN(std::string name, r.name());
  const InstanceDef& inst = c.instances[i];
  // Inline-export instances resolve straight to the item they name.
  if (inst.kind == InstanceDef::Kind::Exports) {
    for (const auto& [ename, si] : inst.exports) {
      if (ename.text != name) continue;
      if (si.sort != sort || (sort == Sort::Core && si.core_sort != core)) {
        return r.error_at(nat, "export '" + name + "' of instance " + std::to_string(i) + " is a " +
                                   sort_name(si.sort, si.core_sort) + ", not a " + sort_name(sort, core));
      }
      return add_item(r, c, s, si);
    }
    return r.error_at(nat, "instance " + std::to_string(i) + " has no export '" + name + "'");
  }
  const ExternDecl* d = inst.type ? inst.type->find(name) : nullptr;
  if (!d) return r.error_at(nat, "instance " + std::to_string(i) + " has no export '" + name + "'");
  if (d->type.sort != sort) {
    return r.error_at(nat, "export '" + name + "' of instance " + std::to_string(i) + " is a " +
                               sort_name(d->type.sort) + ", not a " + sort_name(sort, core));
  }
  switch (sort) {
    case Sort::Func: {
      FuncDef f;
      f.kind = FuncDef::Kind::AliasExport;
      f.instance = i;
      f.name = name;
      f.type = d->type.type ? d->type.type->func : nullptr;
      WINK_TRY(push(r, c.funcs, std::move(f), "func"));
      c.order.push_back({Sort::Func, CoreSort::Func, static_cast<uint32_t>(c.funcs.size() - 1)});
      return {};
    }
    case Sort::Type:
      return push(r, s.types, d->type.type, "type");
    case Sort::Instance: {
      InstanceDef x;
      x.kind = InstanceDef::Kind::AliasExport;
      x.instance = i;
      x.name = name;
      x.type = d->type.type ? d->type.type->instance : nullptr;
      WINK_TRY(push(r, s.instance_types, x.type, "instance"));
      c.instances.push_back(std::move(x));
      c.order.push_back({Sort::Instance, CoreSort::Func, static_cast<uint32_t>(c.instances.size() - 1)});
      return {};
    }
    case Sort::Component: {
      ComponentDef x;
      x.kind = ComponentDef::Kind::Import;
      x.type = d->type.type ? d->type.type->component : nullptr;
      return push(r, c.components, std::move(x), "component");
    }
    case Sort::Value: {
      ValueDef v;
      v.kind = ValueDef::Kind::AliasExport;
      v.index = i;
      v.type = d->type.value;
      return push(r, c.values, std::move(v), "value");
    }
    case Sort::Core: {
      CoreModuleDef m;
      m.kind = CoreModuleDef::Kind::Import;
      if (d->type.core_module) {
        m.imports = d->type.core_module->imports;
        m.exports = d->type.core_module->exports;
        m.exports_known = true;
      }
      return push(r, c.core_modules, std::move(m), "core module");
    }
  }
  return r.error_at(at, "unsupported alias");
}

Result<void> Parser::alias_core_export(Reader& r, Component& c, CoreSort sort, uint64_t at) {
  if (sort > CoreSort::Tag) {
    return r.error_at(at, "core export alias of sort " + std::string(sort_name(Sort::Core, sort)));
  }
  WINK_ASSIGN_OR_RETURN(uint32_t i, index(r, c.core_instances.size(), "core instance"));
  uint64_t nat = r.offset();
  WINK_ASSIGN_OR_RETURN(std::string name, r.name());
  const CoreInstanceDef& inst = c.core_instances[i];
  auto space = [&](CoreSort s) -> std::vector<CoreItemDef>& {
    switch (s) {
      case CoreSort::Table: return c.core_tables;
      case CoreSort::Memory: return c.core_memories;
      case CoreSort::Global: return c.core_globals;
      case CoreSort::Tag: return c.core_tags;
      default: return c.core_funcs;
    }
  };
  auto mismatch = [&](CoreSort have) {
    return r.error_at(nat, "export '" + name + "' of core instance " + std::to_string(i) + " is a " +
                               sort_name(Sort::Core, have) + ", not a " + sort_name(Sort::Core, sort));
  };
  CoreItemDef item;
  if (inst.kind == CoreInstanceDef::Kind::Exports) {
    auto e = std::find_if(inst.exports.begin(), inst.exports.end(), [&](auto& x) { return x.name == name; });
    if (e == inst.exports.end()) return r.error_at(nat, "core instance " + std::to_string(i) + " has no export '" + name + "'");
    if (e->sort != sort) return mismatch(e->sort);
    item = space(sort)[e->index];  // resolved: the very definition
  } else {
    const CoreModuleDef& m = c.core_modules[inst.module];
    item.kind = CoreItemDef::Kind::AliasExport;
    item.instance = i;
    item.name = name;
    if (m.exports_known) {
      auto e = std::find_if(m.exports.begin(), m.exports.end(), [&](auto& x) { return x.name == name; });
      if (e == m.exports.end()) {
        return r.error_at(nat, "core instance " + std::to_string(i) + " has no export '" + name + "'");
      }
      if (e->kind != sort) return mismatch(e->kind);
      item.signature = e->func;
    }
  }
  auto& sp = space(sort);
  WINK_TRY(push(r, sp, std::move(item), sort_name(Sort::Core, sort)));
  c.order.push_back({Sort::Core, sort, static_cast<uint32_t>(sp.size() - 1)});
  return {};
}

Result<void> Parser::alias_outer(Reader& r, Component& c, Scope& s, Sort sort, CoreSort core, uint64_t at) {
  WINK_ASSIGN_OR_RETURN(uint32_t ct, r.u32());
  WINK_ASSIGN_OR_RETURN(Scope * target, outer_scope(r, s, ct, at));
  if (sort == Sort::Type) {
    WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->types.size(), "type"));
    const TypeDefPtr& t = target->types[idx];
    if (ct > 0 && t->kind == TypeDef::Kind::Resource) {
      return r.error_at(at, "outer alias of a resource type across a component boundary");
    }
    return push(r, s.types, t, "type");
  }
  if (sort == Sort::Core && core == CoreSort::Type) {
    WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->core_types.size(), "core type"));
    return push(r, s.core_types, target->core_types[idx], "core type");
  }
  if (!target->component) return r.error_at(at, "outer alias target is not a component");
  if (sort == Sort::Core && core == CoreSort::Module) {
    WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->component->core_modules.size(), "core module"));
    CoreModuleDef m = target->component->core_modules[idx];
    if (m.kind == CoreModuleDef::Kind::Defined) m.kind = CoreModuleDef::Kind::OuterAlias;
    return push(r, c.core_modules, std::move(m), "core module");
  }
  if (sort == Sort::Component) {
    WINK_ASSIGN_OR_RETURN(uint32_t idx, index(r, target->component->components.size(), "component"));
    ComponentDef d = target->component->components[idx];
    if (d.kind == ComponentDef::Kind::Nested) d.kind = ComponentDef::Kind::OuterAlias;
    return push(r, c.components, std::move(d), "component");
  }
  return r.error_at(at, "outer alias of sort " + std::string(sort_name(sort, core)) + " is not allowed");
}

Result<void> Parser::alias_section(Reader& r, Component& c, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("alias", 3));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    CoreSort core{};
    WINK_ASSIGN_OR_RETURN(Sort sort, read_sort(r, &core));
    uint64_t kat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t kind, r.byte());
    switch (kind) {
      case 0x00: WINK_TRY(alias_instance_export(r, c, s, sort, core, at)); break;
      case 0x01:
        if (sort != Sort::Core) return r.error_at(at, "core export alias of a component sort");
        WINK_TRY(alias_core_export(r, c, core, at));
        break;
      case 0x02: WINK_TRY(alias_outer(r, c, s, sort, core, at)); break;
      default: return r.error_at(kat, "unknown alias kind " + hex_byte(kind));
    }
  }
  return {};
}

Result<CanonOptions> Parser::read_canon_options(Reader& r, Component& c, bool lift) {
  CanonOptions o;
  bool have_encoding = false;
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("canonical option"));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t op, r.byte());
    auto twice = [&](const char* what) { return r.error_at(at, std::string("canonical option ") + what + " given twice"); };
    switch (op) {
      case 0x00: case 0x01: case 0x02:
        if (have_encoding) return twice("string-encoding");
        have_encoding = true;
        o.string_encoding = static_cast<StringEncoding>(op);
        break;
      case 0x03: {
        if (o.memory) return twice("memory");
        WINK_ASSIGN_OR_RETURN(o.memory, index(r, c.core_memories.size(), "core memory"));
        break;
      }
      case 0x04: {
        if (o.realloc) return twice("realloc");
        uint64_t fat = r.offset();
        WINK_ASSIGN_OR_RETURN(o.realloc, index(r, c.core_funcs.size(), "core func"));
        const auto& sig = c.core_funcs[*o.realloc].signature;
        CoreFuncSig want{{CoreValType::I32, CoreValType::I32, CoreValType::I32, CoreValType::I32}, {CoreValType::I32}};
        if (sig && !(*sig == want)) {
          return r.error_at(fat, "realloc has type " + to_string(*sig) + ", expected " + to_string(want));
        }
        break;
      }
      case 0x05: {
        if (!lift) return r.error_at(at, "post-return is only allowed on canon lift");
        if (o.post_return) return twice("post-return");
        WINK_ASSIGN_OR_RETURN(o.post_return, index(r, c.core_funcs.size(), "core func"));
        break;
      }
      case 0x06:
        if (o.async) return twice("async");
        o.async = true;
        break;
      case 0x07: {
        if (!lift) return r.error_at(at, "callback is only allowed on canon lift");
        if (o.callback) return twice("callback");
        WINK_ASSIGN_OR_RETURN(o.callback, index(r, c.core_funcs.size(), "core func"));
        break;
      }
      default:
        return r.error_at(at, "unknown canonical option " + hex_byte(op));
    }
  }
  if (o.realloc && !o.memory) return r.error("canonical option realloc requires memory");
  if (o.async && o.post_return) return r.error("canonical options async and post-return conflict");
  if (o.callback && !o.async) return r.error("canonical option callback requires async");
  return o;
}

static bool has_memory_values(const std::vector<ValTypePtr>& ts) {
  // A string or list anywhere in the types (strings are lists of code units).
  std::vector<const ValType*> stack;
  for (const auto& t : ts) stack.push_back(t.get());
  size_t visits = 0;
  while (!stack.empty() && visits++ < 100000) {
    const ValType* n = stack.back();
    stack.pop_back();
    if (n->kind == ValKind::String || n->kind == ValKind::List) return true;
    for (const Field& f : n->fields) stack.push_back(f.type.get());
    for (const Case& cs : n->cases) {
      if (cs.type) stack.push_back(cs.type.get());
    }
  }
  return !stack.empty();  // gave up: assume memory is needed
}

Result<void> Parser::check_canon_options(Reader& r, uint64_t at, const CanonOptions& o, const FuncType& ft, bool lift,
                                         Component& c) {
  if (o.async != ft.async && o.async) return r.error_at(at, "async option on a function type that is not async");
  if (o.async) return r.error_at(at, "async canon lift/lower is not supported");
  bool params_mem = has_memory_values(ft.param_types());
  bool results_mem = has_memory_values(ft.result_types());
  FlatSizes flat = flat_sizes(ft);
  // Lowering side needs memory; lifting lists/strings into the other side needs realloc.
  bool need_memory = params_mem || results_mem || flat.params > kMaxFlatParams || flat.results > kMaxFlatResults;
  bool need_realloc = lift ? (params_mem || flat.params > kMaxFlatParams) : results_mem;
  if (need_memory && !o.memory) return r.error_at(at, "function type " + to_string(ft) + " needs the memory option");
  if (need_realloc && !o.realloc) return r.error_at(at, "function type " + to_string(ft) + " needs the realloc option");
  return {};
}

Result<void> Parser::canon_section(Reader& r, Component& c, Scope& s) {
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("canon"));
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t op, r.byte());
    if (op == 0x00) {  // lift
      uint64_t zat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t z, r.byte());
      if (z != 0x00) return r.error_at(zat, "canon lift expects core func sort 0x00, found " + hex_byte(z));
      uint64_t fat = r.offset();
      FuncDef f;
      f.kind = FuncDef::Kind::CanonLift;
      WINK_ASSIGN_OR_RETURN(f.core_func, index(r, c.core_funcs.size(), "core func"));
      WINK_ASSIGN_OR_RETURN(f.options, read_canon_options(r, c, true));
      uint64_t tat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint32_t ti, index(r, s.types.size(), "type"));
      if (s.types[ti]->kind != TypeDef::Kind::Func) {
        return r.error_at(tat, "canon lift type " + std::to_string(ti) + " is not a function type");
      }
      f.type = s.types[ti]->func;
      WINK_TRY(check_canon_options(r, at, f.options, *f.type, true, c));
      CoreFuncSig want = flatten_functype(*f.type, FlattenContext::Lift);
      const auto& have = c.core_funcs[f.core_func].signature;
      if (have && !(*have == want)) {
        return r.error_at(fat, "canon lift of core func " + std::to_string(f.core_func) + " with type " +
                                   to_string(*have) + ", but " + to_string(*f.type) + " flattens to " +
                                   to_string(want));
      }
      if (f.options.post_return) {
        const auto& pr = c.core_funcs[*f.options.post_return].signature;
        CoreFuncSig pwant{want.results, {}};
        if (pr && !(*pr == pwant)) {
          return r.error_at(at, "post-return has type " + to_string(*pr) + ", expected " + to_string(pwant));
        }
      }
      WINK_TRY(push(r, c.funcs, std::move(f), "func"));
      c.order.push_back({Sort::Func, CoreSort::Func, static_cast<uint32_t>(c.funcs.size() - 1)});
    } else if (op == 0x01) {  // lower
      uint64_t zat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t z, r.byte());
      if (z != 0x00) return r.error_at(zat, "canon lower expects func sort 0x00, found " + hex_byte(z));
      CoreItemDef d;
      d.kind = CoreItemDef::Kind::CanonLower;
      uint64_t fat = r.offset();
      WINK_ASSIGN_OR_RETURN(d.func, index(r, c.funcs.size(), "func"));
      WINK_ASSIGN_OR_RETURN(d.options, read_canon_options(r, c, false));
      const FuncTypePtr& ft = c.funcs[d.func].type;
      if (!ft) return r.error_at(fat, "canon lower of func " + std::to_string(d.func) + " whose type is unknown");
      WINK_TRY(check_canon_options(r, at, d.options, *ft, false, c));
      d.signature = flatten_functype(*ft, FlattenContext::Lower);
      WINK_TRY(push(r, c.core_funcs, std::move(d), "core func"));
      c.order.push_back({Sort::Core, CoreSort::Func, static_cast<uint32_t>(c.core_funcs.size() - 1)});
    } else if (op >= 0x02 && op <= 0x04) {  // resource.new / drop / rep
      CoreItemDef d;
      uint64_t tat = r.offset();
      WINK_ASSIGN_OR_RETURN(uint32_t ti, index(r, s.types.size(), "type"));
      const TypeDefPtr& t = s.types[ti];
      if (t->kind != TypeDef::Kind::Resource) {
        return r.error_at(tat, "type " + std::to_string(ti) + " is not a resource type");
      }
      if (op != 0x03 && !t->resource.defined) {
        return r.error_at(tat, std::string(op == 0x02 ? "resource.new" : "resource.rep") +
                                   " of a resource type this component does not define");
      }
      d.resource = t;
      if (op == 0x02) {
        d.kind = CoreItemDef::Kind::ResourceNew;
        d.signature = CoreFuncSig{{CoreValType::I32}, {CoreValType::I32}};
      } else if (op == 0x03) {
        d.kind = CoreItemDef::Kind::ResourceDrop;
        d.signature = CoreFuncSig{{CoreValType::I32}, {}};
      } else {
        d.kind = CoreItemDef::Kind::ResourceRep;
        d.signature = CoreFuncSig{{CoreValType::I32}, {CoreValType::I32}};
      }
      WINK_TRY(push(r, c.core_funcs, std::move(d), "core func"));
      c.order.push_back({Sort::Core, CoreSort::Func, static_cast<uint32_t>(c.core_funcs.size() - 1)});
    } else {
      const char* name = canon_builtin_name(op);
      if (name) return r.error_at(at, std::string("canonical built-in ") + name + " (async/threads) is not supported");
      return r.error_at(at, "unknown canonical definition " + hex_byte(op));
    }
  }
  return {};
}

Result<void> Parser::start_section(Reader& r, Component& c) {
  Start st;
  WINK_ASSIGN_OR_RETURN(st.func, index(r, c.funcs.size(), "func"));
  WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("start argument"));
  for (uint32_t i = 0; i < n; ++i) {
    WINK_ASSIGN_OR_RETURN(uint32_t v, index(r, c.values.size(), "value"));
    st.args.push_back(v);
  }
  WINK_ASSIGN_OR_RETURN(st.results, r.u32());
  if (c.start) return r.error("a second start function");
  c.start = std::move(st);
  return {};
}

Result<Component> Parser::component(Reader& r, uint32_t depth, Scope* parent) {
  Component c;
  c.offset = r.offset();
  c.size = r.remaining();
  c.depth = depth;
  WINK_ASSIGN_OR_RETURN(auto head, r.bytes(8));
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
  if (!std::equal(magic, magic + 4, head.begin())) return r.error_at(c.offset, "not a WebAssembly binary (bad magic)");
  if (head[6] == 0x00 && head[7] == 0x00) {
    return r.error_at(c.offset + 6, "this is a core module, not a component");
  }
  if (head[6] != 0x01 || head[7] != 0x00) {
    return r.error_at(c.offset + 6, "unknown layer " + hex_byte(head[6]) + " " + hex_byte(head[7]));
  }
  if (head[4] != kComponentVersion || head[5] != 0x00) {
    return r.error_at(c.offset + 4, "component binary version " + hex_byte(head[4]) + " " + hex_byte(head[5]) +
                                        " is not supported (expected " + hex_byte(kComponentVersion) + " 0x00)");
  }
  Scope s;
  s.kind = Scope::Kind::Component;
  s.component = &c;
  s.parent = parent;
  while (!r.at_end()) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t id, r.byte());
    if (id > 12) return r.error_at(at, "unknown section id " + std::to_string(id));
    const char* name = section_name(id);
    uint64_t sat = r.offset();
    WINK_ASSIGN_OR_RETURN(uint32_t size, r.u32());
    if (size > r.remaining()) {
      return Reader({}, 0, name).error_at(sat, "section size " + std::to_string(size) + " exceeds the " +
                                                   std::to_string(r.remaining()) + " bytes that remain");
    }
    WINK_ASSIGN_OR_RETURN(Reader sr, r.sub(size, name));
    switch (id) {
      case 0: {
        WINK_TRY(sr.name());  // custom sections (names, producers) are skipped
        continue;
      }
      case 1: WINK_TRY(core_module_section(sr, c)); break;
      case 2: WINK_TRY(core_instance_section(sr, c)); break;
      case 3: WINK_TRY(core_type_section(sr, s)); break;
      case 4: {
        if (depth + 1 >= limits_.max_component_depth) {
          return sr.error_at(sr.offset(), "nested components exceed the depth limit of " +
                                              std::to_string(limits_.max_component_depth));
        }
        WINK_ASSIGN_OR_RETURN(Component nested, component(sr, depth + 1, &s));
        ComponentDef d;
        d.kind = ComponentDef::Kind::Nested;
        d.nested = std::make_shared<const Component>(std::move(nested));
        WINK_TRY(push(sr, c.components, std::move(d), "component"));
        c.order.push_back({Sort::Component, CoreSort::Func, static_cast<uint32_t>(c.components.size() - 1)});
        break;
      }
      case 5: WINK_TRY(instance_section(sr, c, s)); break;
      case 6: WINK_TRY(alias_section(sr, c, s)); break;
      case 7: WINK_TRY(type_section(sr, s)); break;
      case 8: WINK_TRY(canon_section(sr, c, s)); break;
      case 9: WINK_TRY(start_section(sr, c)); break;
      case 10: WINK_TRY(import_section(sr, c, s)); break;
      case 11: WINK_TRY(export_section(sr, c, s)); break;
      case 12: return sr.error_at(at, "value definitions (gated feature) are not supported");
    }
    WINK_TRY(sr.expect_end());
  }
  c.types = std::move(s.types);
  c.core_types = std::move(s.core_types);
  for (size_t i = 0; i < c.instances.size() && i < s.instance_types.size(); ++i) c.instances[i].type = s.instance_types[i];
  return c;
}

}  // namespace detail

Result<Component> parse_component(std::span<const uint8_t> bytes, const ParseLimits& limits) {
  if (bytes.size() > limits.max_input_bytes) {
    return make_error("component of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                      std::to_string(limits.max_input_bytes));
  }
  Reader r(bytes, 0, "preamble");
  detail::Parser p(bytes, limits);
  return p.component(r, 0, nullptr);
}

}  // namespace wink::component
