// load_component: parse, compile every core module, resolve every core
// function/memory/table/global a core instance imports to its source (an
// export of an earlier core instance, a lowered host function, a resource
// built-in), check each link's type, resolve host imports through the
// HostProvider, and describe the lifted exports. Everything a hostile
// component could get wrong is refused here, by name, before any code runs.
#include <chrono>
#include <cstring>
#include <deque>

#include "component/abi.h"
#include "linker/core_link.h"
#include "linker/linker.h"
#include "linker/plan.h"

namespace wink::linker {

using namespace component;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string sig_string(const std::vector<CoreValType>& types) {
  std::string s;
  for (CoreValType t : types) {
    switch (t) {
      case CoreValType::I32: s += 'i'; break;
      case CoreValType::I64: s += 'I'; break;
      case CoreValType::F32: s += 'f'; break;
      case CoreValType::F64: s += 'F'; break;
    }
  }
  return s;
}

uint32_t extern_kind(CoreSort s) {
  switch (s) {
    case CoreSort::Table: return WINK_EXTERN_TABLE;
    case CoreSort::Memory: return WINK_EXTERN_MEMORY;
    case CoreSort::Global: return WINK_EXTERN_GLOBAL;
    default: return WINK_EXTERN_FUNC;
  }
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

class Loader {
 public:
  Loader(engine::Engine& engine, std::span<const uint8_t> bytes, HostProvider& host, Plan& plan)
      : engine_(engine), bytes_(bytes), host_(host), p_(plan), c_(*plan.model) {}

  Result<void> check_supported() {
    // Nested components are linked statically (see "Nested components"
    // below): each must be a shell of imports, types, aliases, instances and
    // exports that binds the outer component's functions and types to its
    // own export names, as wit-component emits for exports using imported
    // resources. Core code inside a nested component is refused.
    WINK_TRY(check_nested(c_, "component", 0));
    if (c_.start) return make_error("the component start function is not supported yet");
    for (const Import& imp : c_.imports) {
      if (imp.type.sort == Sort::Core || imp.type.sort == Sort::Component || imp.type.sort == Sort::Value)
        return make_error("import " + in_quotes(imp.name.text) + " is a " + sort_name(imp.type.sort, CoreSort::Module) +
                          ", which the linker cannot supply");
    }
    if (c_.core_instances.size() > p_.max_core_instances)
      return make_error("component creates " + std::to_string(c_.core_instances.size()) +
                        " core instances, more than the limit of " + std::to_string(p_.max_core_instances));
    return {};
  }

  Result<void> compile(LoadReport& report, engine::Tiering tiering) {
    auto t = Clock::now();
    uint64_t before = engine_.compile_count();
    p_.modules.resize(c_.core_modules.size());
    for (size_t i = 0; i < c_.core_modules.size(); ++i) {
      const CoreModuleDef& m = c_.core_modules[i];
      if (m.kind != CoreModuleDef::Kind::Defined)
        return make_error("core module " + std::to_string(i) + " is imported or aliased from outside, which the linker cannot supply");
      if (m.offset > bytes_.size() || m.size > bytes_.size() - m.offset)
        return make_error("internal error: core module " + std::to_string(i) + " lies outside the file");
      auto module = engine_.load_linked(bytes_.subspan(m.offset, m.size), tiering);
      if (!module.ok())
        return std::move(module).error().with_context("core module " + std::to_string(i) + " at byte offset " +
                                                       std::to_string(m.offset));
      p_.modules[i] = std::move(*module);
    }
    report.core_modules = static_cast<uint32_t>(c_.core_modules.size());
    report.compiles = engine_.compile_count() - before;
    report.compile_seconds = seconds_since(t);
    return {};
  }

  // Host resources: every resource type an imported instance exports (or a
  // top-level resource import), by id.
  void collect_imported_resources() {
    for (const Import& imp : c_.imports) {
      if (imp.type.sort == Sort::Type && imp.type.type && imp.type.type->kind == TypeDef::Kind::Resource) {
        imported_resources_[imp.type.type->resource.id] = {imp.name, imp.name.text};
      }
      if (imp.type.sort != Sort::Instance || !imp.type.type || !imp.type.type->instance) continue;
      for (const ExternDecl& d : imp.type.type->instance->exports) {
        if (d.type.sort == Sort::Type && d.type.type && d.type.type->kind == TypeDef::Kind::Resource)
          imported_resources_[d.type.type->resource.id] = {imp.name, d.name.text};
      }
    }
    for (const TypeDefPtr& t : c_.types) {
      if (t && t->kind == TypeDef::Kind::Resource && t->resource.defined) {
        if (std::find(p_.implemented.begin(), p_.implemented.end(), t->resource.id) == p_.implemented.end())
          p_.implemented.push_back(t->resource.id);
      }
    }
  }

  Result<void> resolve_instances() {
    p_.core_instances.resize(c_.core_instances.size());
    for (uint32_t i = 0; i < c_.core_instances.size(); ++i) {
      const CoreInstanceDef& d = c_.core_instances[i];
      CoreInstancePlan& ip = p_.core_instances[i];
      if (d.kind == CoreInstanceDef::Kind::Exports) continue;
      ip.instantiate = true;
      ip.module = d.module;
      const wink_artifact_t& abi = p_.modules[d.module]->abi();
      std::string who = "core instance " + std::to_string(i) + " (core module " + std::to_string(d.module) + ")";
      for (uint32_t k = 0; k < abi.num_imports; ++k) {
        const wink_import_t& imp = abi.imports[k];
        std::string what = who + " import " + in_quotes(imp.module) + " " + in_quotes(imp.name);
        auto arg = std::find_if(d.args.begin(), d.args.end(), [&](auto& a) { return a.first == imp.module; });
        if (arg == d.args.end()) return make_error(what + ": no instance is given for " + in_quotes(imp.module));
        if (arg->second >= i) return make_error(what + ": instance " + std::to_string(arg->second) + " is not defined yet");
        WINK_ASSIGN_OR_RETURN(Source src, export_of(arg->second, imp.name, imp.kind, what));
        WINK_TRY(check_link(src, imp, what));
        ip.links.push_back(src);
      }
    }
    return {};
  }

  Result<void> resolve_exports() {
    frames_.push_back(Frame{&c_, {}});
    const Frame* root = &frames_.front();
    for (const Export& e : c_.exports) {
      std::string what = "export " + in_quotes(e.name.text);
      if (e.item.sort == Sort::Func) {
        WINK_ASSIGN_OR_RETURN(uint32_t lift, root_lift(Ref{root, e.item}, 0, what));
        WINK_TRY(add_lifted("", e.name.text, lift));
      } else if (e.item.sort == Sort::Instance) {
        WINK_ASSIGN_OR_RETURN(auto members, instance_members(Ref{root, e.item}, 0, what));
        for (const auto& [name, ref] : members) {
          if (ref.item.sort != Sort::Func) continue;  // types carry no code; nested instances are not exported funcs
          WINK_ASSIGN_OR_RETURN(uint32_t lift, root_lift(ref, 0, what + " " + in_quotes(name)));
          WINK_TRY(add_lifted(e.name.text, name, lift));
        }
      }
      // Types and other sorts carry no code.
    }
    return {};
  }

 private:
  // ---- Nested components ----
  // A nested component instance is resolved statically: every function the
  // outer component exports is followed through instantiations (`with`
  // arguments), instance exports and aliases to the `canon lift` of the
  // outermost component that defines it. Types were bound when parsing, so a
  // resource the outer component imports and passes in keeps its
  // ResourceId, and the export's type is the lift's own type.
  struct Frame;
  struct Ref {
    const Frame* frame = nullptr;
    SortIdx item;
  };
  struct Frame {
    const Component* c = nullptr;
    std::vector<std::pair<std::string, Ref>> args;  // import name -> what the instantiation gave
  };
  static constexpr uint32_t kMaxResolveDepth = 100;
  static constexpr uint32_t kMaxFrames = 10'000;

  Result<void> check_nested(const Component& c, const std::string& where, uint32_t depth) {
    if (depth > 16) return make_error(where + ": nested components exceed the depth limit of 16");
    for (size_t i = 0; i < c.components.size(); ++i) {
      const ComponentDef& d = c.components[i];
      if (d.kind != ComponentDef::Kind::Nested || !d.nested) continue;  // aliases are checked where defined
      const Component& n = *d.nested;
      std::string here = where + " > nested component " + std::to_string(i) + " (byte offset " +
                         std::to_string(n.offset) + ")";
      if (!n.core_modules.empty() || !n.core_instances.empty() || !n.core_funcs.empty())
        return make_error(here + ": defines core modules, core instances or core functions, which the linker "
                                 "does not support inside nested components yet");
      if (n.start) return make_error(here + ": has a start function, which is not supported yet");
      for (const FuncDef& f : n.funcs)
        if (f.kind == FuncDef::Kind::CanonLift)
          return make_error(here + ": lifts a core function, which is not supported inside nested components yet");
      WINK_TRY(check_nested(n, here, depth + 1));
    }
    return {};
  }

  Result<Ref> arg_of(const Frame* f, uint32_t import, Sort want, uint32_t depth, const std::string& what) {
    if (f == &frames_.front())
      return make_error(what + ": re-exports the import " +
                        (import < c_.imports.size() ? in_quotes(c_.imports[import].name.text) : std::string("?")) +
                        ", which is not supported");
    if (import >= f->c->imports.size()) return make_error(what + ": import index out of range in a nested component");
    const std::string& name = f->c->imports[import].name.text;
    auto a = std::find_if(f->args.begin(), f->args.end(), [&](auto& x) { return x.first == name; });
    if (a == f->args.end()) return make_error(what + ": nested instantiation gives no argument for " + in_quotes(name));
    if (a->second.item.sort != want)
      return make_error(what + ": nested instantiation argument " + in_quotes(name) + " is a " +
                        sort_name(a->second.item.sort, a->second.item.core_sort) + ", the import wants a " +
                        sort_name(want, CoreSort::Func));
    (void)depth;
    return a->second;
  }

  // The frame of instance `index` of `f` (an instantiation), made once.
  Result<const Frame*> instantiate_frame(const Frame* f, uint32_t index, const InstanceDef& d, const std::string& what) {
    auto key = std::make_pair(f, index);
    if (auto it = instantiated_.find(key); it != instantiated_.end()) return it->second;
    if (d.component >= f->c->components.size()) return make_error(what + ": component index out of range");
    const ComponentDef& cd = f->c->components[d.component];
    if (!cd.nested) return make_error(what + ": instantiates an imported component, which the linker cannot supply");
    if (frames_.size() >= kMaxFrames)
      return make_error(what + ": more than " + std::to_string(kMaxFrames) + " nested component instances");
    Frame n{cd.nested.get(), {}};
    for (const auto& [name, si] : d.args) n.args.push_back({name, Ref{f, si}});
    frames_.push_back(std::move(n));
    const Frame* made = &frames_.back();
    instantiated_.emplace(key, made);
    return made;
  }

  // The named members of a component instance.
  Result<std::vector<std::pair<std::string, Ref>>> instance_members(Ref inst, uint32_t depth, const std::string& what) {
    if (depth > kMaxResolveDepth)
      return make_error(what + ": instance aliases nest deeper than " + std::to_string(kMaxResolveDepth));
    const Frame* f = inst.frame;
    if (inst.item.sort != Sort::Instance || inst.item.index >= f->c->instances.size())
      return make_error(what + ": instance index " + std::to_string(inst.item.index) + " out of range");
    const InstanceDef& d = f->c->instances[inst.item.index];
    std::vector<std::pair<std::string, Ref>> out;
    switch (d.kind) {
      case InstanceDef::Kind::Exports:
        for (const auto& [name, si] : d.exports) out.push_back({name.text, Ref{f, si}});
        return out;
      case InstanceDef::Kind::Instantiate: {
        WINK_ASSIGN_OR_RETURN(const Frame* n, instantiate_frame(f, inst.item.index, d, what));
        for (const Export& e : n->c->exports) out.push_back({e.name.text, Ref{n, e.item}});
        return out;
      }
      case InstanceDef::Kind::AliasExport: {
        WINK_ASSIGN_OR_RETURN(Ref outer, instance_member(Ref{f, {Sort::Instance, CoreSort::Func, d.instance}}, d.name,
                                                         depth + 1, what));
        if (outer.item.sort != Sort::Instance)
          return make_error(what + ": " + in_quotes(d.name) + " is not an instance");
        return instance_members(outer, depth + 1, what);
      }
      case InstanceDef::Kind::Import: {
        WINK_ASSIGN_OR_RETURN(Ref given, arg_of(f, d.import, Sort::Instance, depth, what));
        return instance_members(given, depth + 1, what);
      }
    }
    return make_error(what + ": unsupported instance");
  }

  Result<Ref> instance_member(Ref inst, const std::string& name, uint32_t depth, const std::string& what) {
    WINK_ASSIGN_OR_RETURN(auto members, instance_members(inst, depth, what));
    for (auto& [n, ref] : members)
      if (n == name) return ref;
    return make_error(what + ": the instance has no export " + in_quotes(name));
  }

  // The outermost component's func index of the `canon lift` that `func` is.
  Result<uint32_t> root_lift(Ref func, uint32_t depth, const std::string& what) {
    if (depth > kMaxResolveDepth)
      return make_error(what + ": function aliases nest deeper than " + std::to_string(kMaxResolveDepth));
    const Frame* f = func.frame;
    if (func.item.sort != Sort::Func || func.item.index >= f->c->funcs.size())
      return make_error(what + ": func index " + std::to_string(func.item.index) + " out of range");
    const FuncDef& fd = f->c->funcs[func.item.index];
    switch (fd.kind) {
      case FuncDef::Kind::CanonLift:
        if (f != &frames_.front())
          return make_error(what + ": lifted inside a nested component, which is not supported yet");
        return func.item.index;
      case FuncDef::Kind::Import: {
        WINK_ASSIGN_OR_RETURN(Ref given, arg_of(f, fd.import, Sort::Func, depth, what));
        return root_lift(given, depth + 1, what);
      }
      case FuncDef::Kind::AliasExport: {
        if (f == &frames_.front() && fd.instance < c_.instances.size() &&
            c_.instances[fd.instance].kind == InstanceDef::Kind::Import)
          return make_error(what + ": re-exports a function of the imported instance " +
                            in_quotes(c_.imports[c_.instances[fd.instance].import].name.text) + ", which is not supported");
        WINK_ASSIGN_OR_RETURN(Ref m, instance_member(Ref{f, {Sort::Instance, CoreSort::Func, fd.instance}}, fd.name,
                                                     depth + 1, what));
        return root_lift(m, depth + 1, what);
      }
    }
    return make_error(what + ": unsupported function");
  }

  std::deque<Frame> frames_;  // deque: frames keep their address
  std::map<std::pair<const Frame*, uint32_t>, const Frame*> instantiated_;

 private:
  Result<Source> func_source(uint32_t core_func, const std::string& what) {
    if (core_func >= c_.core_funcs.size()) return make_error(what + ": core func " + std::to_string(core_func) + " out of range");
    const CoreItemDef& f = c_.core_funcs[core_func];
    Source s;
    switch (f.kind) {
      case CoreItemDef::Kind::AliasExport:
        return export_of(f.instance, f.name, WINK_EXTERN_FUNC, what);
      case CoreItemDef::Kind::CanonLower: {
        auto it = lowered_index_.find(core_func);
        if (it == lowered_index_.end()) {
          WINK_ASSIGN_OR_RETURN(Lowered l, lower(f, what));
          p_.lowered.push_back(std::move(l));
          it = lowered_index_.emplace(core_func, static_cast<uint32_t>(p_.lowered.size() - 1)).first;
        }
        s.kind = Source::Kind::Lowered;
        s.index = it->second;
        s.params = sig_string(p_.lowered[it->second].layout.lower.params);
        s.results = sig_string(p_.lowered[it->second].layout.lower.results);
        return s;
      }
      case CoreItemDef::Kind::ResourceNew:
      case CoreItemDef::Kind::ResourceRep:
      case CoreItemDef::Kind::ResourceDrop: {
        if (!f.resource || f.resource->kind != TypeDef::Kind::Resource)
          return make_error(what + ": resource built-in of a type that is not a resource");
        auto it = builtin_index_.find(core_func);
        if (it == builtin_index_.end()) {
          WINK_ASSIGN_OR_RETURN(Builtin b, builtin(f, what));
          p_.builtins.push_back(std::move(b));
          it = builtin_index_.emplace(core_func, static_cast<uint32_t>(p_.builtins.size() - 1)).first;
        }
        s.kind = Source::Kind::Builtin;
        s.index = it->second;
        s.params = "i";
        s.results = f.kind == CoreItemDef::Kind::ResourceDrop ? "" : "i";
        return s;
      }
    }
    return make_error(what + ": unsupported core function");
  }

  // Export `name` of kind `kind` of core instance `inst`.
  Result<Source> export_of(uint32_t inst, const std::string& name, uint32_t kind, const std::string& what) {
    const CoreInstanceDef& d = c_.core_instances[inst];
    if (d.kind == CoreInstanceDef::Kind::Exports) {
      auto e = std::find_if(d.exports.begin(), d.exports.end(), [&](auto& x) { return x.name == name; });
      if (e == d.exports.end())
        return make_error(what + ": core instance " + std::to_string(inst) + " has no export " + in_quotes(name));
      if (extern_kind(e->sort) != kind || e->sort == CoreSort::Tag)
        return make_error(what + ": wants a " + extern_kind_name(kind) + ", core instance " + std::to_string(inst) +
                          " exports " + in_quotes(name) + " as a " + sort_name(Sort::Core, e->sort));
      if (kind == WINK_EXTERN_FUNC) return func_source(e->index, what);
      const std::vector<CoreItemDef>& space =
          kind == WINK_EXTERN_MEMORY ? c_.core_memories : kind == WINK_EXTERN_TABLE ? c_.core_tables : c_.core_globals;
      if (e->index >= space.size()) return make_error(what + ": index out of range");
      const CoreItemDef& item = space[e->index];
      if (item.kind != CoreItemDef::Kind::AliasExport) return make_error(what + ": unsupported definition");
      return export_of(item.instance, item.name, kind, what);
    }
    const wink_artifact_t& abi = p_.modules[d.module]->abi();
    for (uint32_t k = 0; k < abi.num_exports; ++k) {
      const wink_export_t& x = abi.exports[k];
      if (name != x.name) continue;
      if (x.kind != kind)
        return make_error(what + ": wants a " + extern_kind_name(kind) + ", core instance " + std::to_string(inst) +
                          " exports " + in_quotes(name) + " as a " + extern_kind_name(x.kind));
      Source s;
      s.kind = Source::Kind::Export;
      s.instance = inst;
      s.export_index = k;
      s.params = x.params;
      s.results = x.results;
      return s;
    }
    return make_error(what + ": core instance " + std::to_string(inst) + " has no export " + in_quotes(name));
  }

  Result<void> check_link(const Source& src, const wink_import_t& imp, const std::string& what) {
    std::string mismatch = type_mismatch(imp, imp.kind, src.params, src.results);
    if (!mismatch.empty()) return make_error(what + ": " + mismatch);
    return {};
  }

  Result<Lowered> lower(const CoreItemDef& f, const std::string& what) {
    if (f.func >= c_.funcs.size()) return make_error(what + ": func index out of range");
    const FuncDef& fd = c_.funcs[f.func];
    Lowered l;
    l.options = f.options;
    if (fd.kind == FuncDef::Kind::Import) {
      l.iface = c_.imports[fd.import].name;
    } else if (fd.kind == FuncDef::Kind::AliasExport && c_.instances[fd.instance].kind == InstanceDef::Kind::Import) {
      l.iface = c_.imports[c_.instances[fd.instance].import].name;
      l.item = fd.name;
    } else {
      return make_error(what + ": lowering func " + std::to_string(f.func) +
                        ", which is not a host import (lowering the component's own lifted functions is not supported yet)");
    }
    if (!fd.type) return make_error(what + ": the type of " + in_quotes(l.iface.text) + " " + in_quotes(l.item) + " is unknown");
    if (fd.type->async || l.options.async) return make_error(what + ": async functions are not supported");
    l.type = fd.type;
    WINK_ASSIGN_OR_RETURN(l.layout, func_layout(*fd.type));
    std::string name = l.iface.text + (l.item.empty() ? "" : " " + in_quotes(l.item));
    auto fn = host_.function(l.iface, l.item, *fd.type);
    if (!fn.ok()) return make_error("import " + name + " is not supported: " + fn.error().message);
    l.fn = std::move(*fn);
    if (!l.fn) return make_error("import " + name + " is not supported by the host");
    l.name = name;
    WINK_TRY(resolve_options(l.options, l.memory, l.realloc, nullptr, "import " + name));
    return l;
  }

  Result<Builtin> builtin(const CoreItemDef& f, const std::string& what) {
    Builtin b;
    b.kind = f.kind;
    b.resource = f.resource->resource.id;
    if (f.kind != CoreItemDef::Kind::ResourceDrop) return b;
    if (f.resource->resource.defined) {
      if (f.resource->resource.dtor) {
        WINK_ASSIGN_OR_RETURN(Source d, func_source(*f.resource->resource.dtor, what + " (destructor)"));
        if (d.kind != Source::Kind::Export || d.params != "i" || !d.results.empty())
          return make_error(what + ": a resource destructor must be a guest function (i32) -> ()");
        b.dtor = d;
      }
      return b;
    }
    auto it = imported_resources_.find(b.resource);
    if (it == imported_resources_.end())
      return make_error(what + ": resource.drop of a resource type that is neither defined nor imported");
    auto drop = host_.resource(it->second.first, it->second.second);
    if (!drop.ok())
      return make_error("resource " + in_quotes(it->second.second) + " of " + it->second.first.text +
                        " is not supported: " + drop.error().message);
    b.host_drop = std::move(*drop);
    return b;
  }

  Result<void> resolve_options(const CanonOptions& o, std::optional<Source>& memory, std::optional<Source>& realloc,
                               std::optional<Source>* post_return, const std::string& what) {
    if (o.memory) {
      if (*o.memory >= c_.core_memories.size()) return make_error(what + ": memory index out of range");
      const CoreItemDef& m = c_.core_memories[*o.memory];
      if (m.kind != CoreItemDef::Kind::AliasExport) return make_error(what + ": unsupported memory");
      WINK_ASSIGN_OR_RETURN(memory, export_of(m.instance, m.name, WINK_EXTERN_MEMORY, what + " (memory)"));
    }
    if (o.realloc) {
      WINK_ASSIGN_OR_RETURN(realloc, func_source(*o.realloc, what + " (realloc)"));
      if (realloc->kind != Source::Kind::Export || realloc->params != "iiii" || realloc->results != "i")
        return make_error(what + ": realloc must be a guest function (i32, i32, i32, i32) -> (i32)");
    }
    if (post_return && o.post_return) {
      WINK_ASSIGN_OR_RETURN(*post_return, func_source(*o.post_return, what + " (post-return)"));
      if ((*post_return)->kind != Source::Kind::Export)
        return make_error(what + ": post-return must be a guest function");
    }
    return {};
  }

  Result<void> add_lifted(const std::string& instance, const std::string& name, uint32_t func) {
    std::string what = "export " + (instance.empty() ? in_quotes(name) : instance + " " + in_quotes(name));
    const FuncDef& fd = c_.funcs[func];
    if (fd.kind != FuncDef::Kind::CanonLift) return make_error(what + ": internal error: not a lifted function");
    if (!fd.type) return make_error(what + ": unknown type");
    if (fd.type->async || fd.options.async) return make_error(what + ": async functions are not supported");
    Lifted l;
    l.type = fd.type;
    l.options = fd.options;
    WINK_ASSIGN_OR_RETURN(l.core, func_source(fd.core_func, what));
    if (l.core.kind != Source::Kind::Export)
      return make_error(what + ": lifts a core function that is not a guest function");
    WINK_ASSIGN_OR_RETURN(l.layout, func_layout(*fd.type));
    const CoreFuncSig& want = l.layout.lift;
    if (l.core.params != sig_string(want.params) || l.core.results != sig_string(want.results))
      return make_error(what + ": the core function is " + describe(l.core.params, l.core.results) +
                        ", the lifted type " + to_string(*fd.type) + " needs " +
                        describe(sig_string(want.params), sig_string(want.results)));
    WINK_TRY(resolve_options(fd.options, l.memory, l.realloc, &l.post_return, what));
    if (l.post_return && (l.post_return->params != l.core.results || !l.post_return->results.empty()))
      return make_error(what + ": post-return must take the function's core results and return nothing");
    p_.lifted.push_back(std::move(l));
    p_.exports.push_back({instance, name, fd.type});
    return {};
  }

  engine::Engine& engine_;
  std::span<const uint8_t> bytes_;
  HostProvider& host_;
  Plan& p_;
  const Component& c_;
  std::map<uint32_t, uint32_t> lowered_index_, builtin_index_;
  std::map<ResourceId, std::pair<ExternName, std::string>> imported_resources_;
};

}  // namespace

LoadedComponent::LoadedComponent() : impl_(std::make_unique<Impl>()) {}
LoadedComponent::~LoadedComponent() = default;
const Component& LoadedComponent::model() const { return *impl_->model; }
const std::vector<ExportedFunc>& LoadedComponent::exported_funcs() const { return impl_->exports; }

const ExportedFunc* LoadedComponent::find_export(std::string_view instance, std::string_view func) const {
  for (const ExportedFunc& e : impl_->exports)
    if (e.instance == instance && e.name == func) return &e;
  return nullptr;
}

std::vector<std::shared_future<Result<std::filesystem::path>>> LoadedComponent::optimized_builds() const {
  std::vector<std::shared_future<Result<std::filesystem::path>>> out;
  for (const auto& m : impl_->modules) {
    if (m && m->quick_tier() && m->optimized().valid()) out.push_back(m->optimized());
  }
  return out;
}

std::string LoadedComponent::find_instance(std::string_view unversioned) const {
  for (const ExportedFunc& e : impl_->exports) {
    if (e.instance.empty()) continue;
    auto name = parse_extern_name(e.instance);
    if (name.ok() && name->unversioned() == unversioned) return e.instance;
  }
  return "";
}

Result<std::shared_ptr<const LoadedComponent>> load_component(engine::Engine& engine, std::span<const uint8_t> bytes,
                                                              HostProvider& host, const LoadOptions& options,
                                                              LoadReport* report) {
  LoadReport local;
  LoadReport& r = report ? *report : local;
  auto t = Clock::now();
  if (detect_layer(bytes) != BinaryLayer::Component) {
    return make_error(detect_layer(bytes) == BinaryLayer::CoreModule
                          ? "not a component: this is a core WebAssembly module"
                          : "not a component: bad header at byte offset 0");
  }
  auto model = parse_component(bytes, options.parse);
  if (!model.ok()) return std::move(model).error();
  r.parse_seconds = seconds_since(t);
  auto loaded = std::shared_ptr<LoadedComponent>(new LoadedComponent());
  Plan& plan = *loaded->impl_;
  plan.model = std::make_shared<const Component>(std::move(*model));
  plan.host = &host;
  plan.max_core_instances = options.max_core_instances;
  Loader loader(engine, bytes, host, plan);
  WINK_TRY(loader.check_supported());
  WINK_TRY(loader.compile(r, options.tiering));
  auto tl = Clock::now();
  loader.collect_imported_resources();
  WINK_TRY(loader.resolve_instances());
  WINK_TRY(loader.resolve_exports());
  r.link_seconds = seconds_since(tl);
  return std::shared_ptr<const LoadedComponent>(std::move(loaded));
}

}  // namespace wink::linker
