// A running component: its core instances, linked through per-instance link
// tables (artifact_abi.h, wink_link_slot_t), the trampoline every lowered
// host import and resource built-in enters through, and calls of lifted
// exports through the Canonical ABI.
//
// Guest code only ever runs inside runtime::guarded_call: the export itself,
// realloc, post-return and destructors each get their own guarded call, so a
// trap never jumps over a C++ frame of the linker or the ABI. A host import
// runs inside runtime::host_call; a failure there requests a trap, taken
// after the host frames are gone.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include "component/abi.h"
#include "linker/core_link.h"
#include "linker/linker.h"
#include "linker/plan.h"
#include "engine/snapshot.h"
#include "runtime/host_call.h"

namespace wink::linker {

using namespace component;

namespace {

using Clock = std::chrono::steady_clock;

CoreValType core_type(char c) {
  switch (c) {
    case 'I': return CoreValType::I64;
    case 'f': return CoreValType::F32;
    case 'F': return CoreValType::F64;
    default: return CoreValType::I32;
  }
}

struct GuestCall {
  wink_trampoline_t fn;
  void* storage;
  const uint64_t* args;
  uint64_t* results;
};

void run_guest(void* p) {
  auto* a = static_cast<GuestCall*>(p);
  a->fn(a->storage, a->args, a->results);
}

std::string trap_text(const runtime::Outcome& out) {
  return "trap: " + runtime::outcome_message(out);
}

}  // namespace

// The context of one link slot that enters the host: a lowered import or a
// resource built-in of one component instance.
struct HostEntry {
  ComponentInstance::Impl* owner = nullptr;
  bool builtin = false;
  uint32_t index = 0;
};

struct ComponentInstance::Impl {
  std::shared_ptr<const LoadedComponent> loaded;
  const Plan* plan = nullptr;
  InstanceLimits limits;
  std::unique_ptr<HostState> host_state;
  InstanceState abi;
  std::vector<std::vector<wink_link_slot_t>> links;  // per core instance; stable once built
  std::vector<HostEntry> lowered_entries, builtin_entries;
  std::vector<std::unique_ptr<engine::Instance>> core;  // per core instance (null: inline exports)
  bool poisoned = false;
  bool in_call = false;
  int host_depth = 0;               // > 0 while a host import runs (guest code below us)
  Clock::time_point call_end = Clock::time_point::max();
  runtime::Outcome last_trap;       // the guest trap behind the last error

  const wink_export_t& export_of(const Source& s) const {
    return plan->modules[plan->core_instances[s.instance].module]->abi().exports[s.export_index];
  }

  // Time the next guest entry may run: what is left of the host's call, or
  // of the guest call a host import runs in.
  Result<std::chrono::nanoseconds> time_left() const {
    if (host_depth > 0) {
      auto left = runtime::call_time_left();
      if (left == std::chrono::nanoseconds::max()) return std::chrono::nanoseconds(0);
      if (left.count() <= 0) return make_error("trap: the call ran past its deadline");
      return left;
    }
    if (call_end == Clock::time_point::max()) return std::chrono::nanoseconds(0);
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(call_end - Clock::now());
    if (left.count() <= 0) return make_error("trap: the call ran past its deadline");
    return left;
  }

  // Runs a guest function (an export of a core instance) with core values.
  Result<std::vector<CoreValue>> call_guest(const Source& s, const std::vector<CoreValue>& args) {
    const wink_export_t& x = export_of(s);
    size_t np = std::strlen(x.params), nr = std::strlen(x.results);
    if (args.size() != np) return make_error("internal error: wrong number of core arguments");
    // On the stack for the usual few values (realloc has 4): a guest call per
    // string or list the host lowers.
    constexpr size_t kInline = 20;
    uint64_t in_inline[kInline + 1], out_inline[kInline + 1];
    std::vector<uint64_t> in_heap, out_heap;
    uint64_t* in = in_inline;
    uint64_t* out = out_inline;
    if (np > kInline) in = (in_heap.resize(np + 1), in_heap.data());
    if (nr > kInline) out = (out_heap.resize(nr + 1), out_heap.data());
    for (size_t i = 0; i < np; ++i) {
      if (args[i].type != core_type(x.params[i])) return make_error("internal error: core argument type");
      in[i] = args[i].bits;
    }
    auto left = time_left();
    if (!left.ok()) {
      last_trap.trap = runtime::Trap::kDeadline;
      return std::move(left).error();
    }
    GuestCall call{x.call, core[s.instance]->raw(), in, out};
    runtime::Outcome o;
    {
      runtime::MemoryPolicyScope policy({limits.max_memory_pages});
      o = runtime::guarded_call(run_guest, &call, {*left});
    }
    if (!o.ok()) {
      last_trap = o;
      return make_error(trap_text(o));
    }
    std::vector<CoreValue> results;
    results.reserve(nr);
    for (size_t i = 0; i < nr; ++i) {
      CoreValType t = core_type(x.results[i]);
      uint64_t bits = out[i];
      if (t == CoreValType::I32 || t == CoreValType::F32) bits &= 0xffffffffu;
      results.push_back({t, bits});
    }
    return results;
  }

  wasm_rt_memory_t* memory_of(const Source& s) {
    const wink_export_t& x = export_of(s);
    return static_cast<wasm_rt_memory_t*>(x.get(core[s.instance]->raw()));
  }

  static void refresh(GuestMemory& g, const wasm_rt_memory_t* m) {
    g.base = m->data;
    g.size = uint64_t{m->pages} * 65536;
  }

  // AbiOptions for a lift or lower with `memory`/`realloc`; `g` backs opts.memory.
  AbiOptions options(const CanonOptions& o, const std::optional<Source>& memory, const std::optional<Source>& realloc,
                     GuestMemory& g) {
    AbiOptions opts;
    opts.string_encoding = o.string_encoding;
    if (memory) {
      wasm_rt_memory_t* m = memory_of(*memory);
      refresh(g, m);
      opts.memory = &g;
      if (realloc) {
        Source r = *realloc;
        opts.realloc = [this, r, m, &g](uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                       uint32_t new_size) -> Result<uint32_t> {
          WINK_ASSIGN_OR_RETURN(auto out, call_guest(r, {CoreValue::i32(old_ptr), CoreValue::i32(old_size),
                                                         CoreValue::i32(align), CoreValue::i32(new_size)}));
          refresh(g, m);  // realloc may have grown the memory
          return out.at(0).as_i32();
        };
      }
    }
    return opts;
  }

  // A lowered import or resource built-in, called by the guest.
  Result<void> enter(const HostEntry& e, const uint64_t* args, uint64_t* results) {
    if (e.builtin) return run_builtin(plan->builtins[e.index], args, results);
    const Lowered& l = plan->lowered[e.index];
    GuestMemory g;
    AbiOptions opts = options(l.options, l.memory, l.realloc, g);
    const std::vector<CoreValType>& params = l.layout.lower.params;
    CoreValue flat[kMaxFlatParams + 1];  // + the return area pointer
    if (params.size() > std::size(flat)) return make_error("internal error: lowered parameter count");
    for (size_t i = 0; i < params.size(); ++i) {
      CoreValType t = params[i];
      uint64_t bits = args[i];
      if (t == CoreValType::I32 || t == CoreValType::F32) bits &= 0xffffffffu;
      flat[i] = {t, bits};
    }
    HostCall hc{*host_state, abi};
    auto out = call_lowered(l.layout, opts, abi,
                            [&](std::vector<Value>& a) -> Result<std::vector<Value>> { return l.fn(hc, a); },
                            std::span<const CoreValue>(flat, params.size()));
    if (!out.ok()) return std::move(out).error().with_context(l.name);
    if (out->size() != l.layout.lower.results.size()) return make_error("internal error: lowered result count");
    if (!out->empty()) results[0] = (*out)[0].bits;
    return {};
  }

  Result<void> run_builtin(const Builtin& b, const uint64_t* args, uint64_t* results) {
    uint32_t a = static_cast<uint32_t>(args[0]);
    switch (b.kind) {
      case CoreItemDef::Kind::ResourceNew: {
        WINK_ASSIGN_OR_RETURN(uint32_t h, resource_new(abi, b.resource, a));
        results[0] = h;
        return {};
      }
      case CoreItemDef::Kind::ResourceRep: {
        WINK_ASSIGN_OR_RETURN(uint32_t rep, resource_rep(abi, b.resource, a));
        results[0] = rep;
        return {};
      }
      default: break;
    }
    std::function<Result<void>(uint32_t)> dtor;
    if (b.dtor) {
      dtor = [this, &b](uint32_t rep) -> Result<void> {
        WINK_TRY(call_guest(*b.dtor, {CoreValue::i32(rep)}));
        return {};
      };
    } else if (b.host_drop) {
      dtor = [this, &b](uint32_t rep) -> Result<void> { return b.host_drop(*host_state, rep); };
    }
    return resource_drop(abi, b.resource, a, dtor);
  }
};

namespace {

// The one entry from generated code into the host (wink_link_slot_t::host).
void host_entry(void* context, const uint64_t* args, uint64_t* results) {
  auto* e = static_cast<HostEntry*>(context);
  runtime::host_call(
      [&] {
        ComponentInstance::Impl& self = *e->owner;
        struct Depth {
          int& d;
          explicit Depth(int& x) : d(x) { ++d; }
          ~Depth() { --d; }
        } depth(self.host_depth);
        self.last_trap = {};
        auto r = self.enter(*e, args, results);
        if (!r.ok()) {
          runtime::Trap kind = self.last_trap.ok() ? runtime::Trap::kHost : self.last_trap.trap;
          runtime::request_trap(kind, r.error().message.c_str());
        }
      },
      [](runtime::HostFailure, const char*) {});
}

}  // namespace

ComponentInstance::ComponentInstance() : impl_(std::make_unique<Impl>()) {}

ComponentInstance::~ComponentInstance() {
  if (!impl_) return;
  // Core instances go in reverse order: later ones may point into earlier ones.
  while (!impl_->core.empty()) impl_->core.pop_back();
}

namespace {

// What every instance of `component` starts with: its host state, the host
// entries its link tables point to, one (empty) link table per core instance.
Result<void> begin_instance(ComponentInstance::Impl& self, std::shared_ptr<const LoadedComponent> component,
                            const InstanceLimits& limits) {
  if (!component) return make_error("no component");
  self.loaded = component;
  self.plan = &component->impl();
  self.limits = limits;
  const Plan& plan = *self.plan;
  self.host_state = plan.host->create_state();
  if (!self.host_state) return make_error("the host gave no state for the instance");
  self.abi.implemented = plan.implemented;
  self.lowered_entries.resize(plan.lowered.size());
  for (uint32_t i = 0; i < plan.lowered.size(); ++i) self.lowered_entries[i] = {&self, false, i};
  self.builtin_entries.resize(plan.builtins.size());
  for (uint32_t i = 0; i < plan.builtins.size(); ++i) self.builtin_entries[i] = {&self, true, i};
  self.links.resize(plan.core_instances.size());
  self.core.resize(plan.core_instances.size());
  for (uint32_t i = 0; i < plan.core_instances.size(); ++i) {
    const CoreInstancePlan& ip = plan.core_instances[i];
    if (ip.instantiate) self.links[i].resize(ip.links.size() + 1);  // slot 0: the header
  }
  return {};
}

// Fills core instance i's link table: every source is an earlier core
// instance (alive by now) or this instance's host entries.
Result<void> fill_links(ComponentInstance::Impl& self, uint32_t i) {
  const Plan& plan = *self.plan;
  const CoreInstancePlan& ip = plan.core_instances[i];
  const wink_artifact_t& abi = plan.modules[ip.module]->abi();
  std::vector<wink_link_slot_t>& slots = self.links[i];
  for (size_t k = 0; k < ip.links.size(); ++k) {
    const Source& s = ip.links[k];
    const wink_import_t& imp = abi.imports[k];
    wink_link_slot_t& slot = slots[k + 1];
    if (s.kind == Source::Kind::Lowered || s.kind == Source::Kind::Builtin) {
      HostEntry& e = s.kind == Source::Kind::Lowered ? self.lowered_entries[s.index] : self.builtin_entries[s.index];
      slot = {nullptr, &e, host_entry};
      continue;
    }
    const wink_export_t& x = self.export_of(s);
    if (imp.kind == WINK_EXTERN_FUNC && !x.native) return make_error("internal error: export without a native entry");
    slot = export_slot(x, self.core[s.instance]->raw());
    // Limits of memories and tables are checked against the live object.
    std::string mismatch = limits_mismatch(imp, slot.target);
    if (!mismatch.empty())
      return make_error("core instance " + std::to_string(i) + " import \"" + imp.module + "\" \"" + imp.name +
                        "\": " + mismatch);
  }
  return {};
}

std::string core_instance_name(const Plan& plan, uint32_t i) {
  return "core instance " + std::to_string(i) + " (core module " + std::to_string(plan.core_instances[i].module) + ")";
}

}  // namespace

Result<std::unique_ptr<ComponentInstance>> instantiate(std::shared_ptr<const LoadedComponent> component,
                                                       const InstanceLimits& limits) {
  auto inst = std::unique_ptr<ComponentInstance>(new ComponentInstance());
  ComponentInstance::Impl& self = *inst->impl_;
  WINK_TRY(begin_instance(self, std::move(component), limits));
  const Plan& plan = *self.plan;
  for (uint32_t i = 0; i < plan.core_instances.size(); ++i) {
    const CoreInstancePlan& ip = plan.core_instances[i];
    if (!ip.instantiate) continue;
    WINK_TRY(fill_links(self, i));
    auto core = engine::Instance::create_linked(plan.modules[ip.module], self.links[i], limits);
    if (!core.ok()) return std::move(core).error().with_context(core_instance_name(plan, i));
    self.core[i] = std::move(*core);
  }
  return inst;
}

// ---- Instance images: capture once, restore per instance ----

namespace {

// The address ranges a core instance's pointers may land in: for core
// instance i, its struct (2i) and its link table (2i + 1). The same order
// at capture and at restore (engine::Snapshot::capture_linked).
std::vector<engine::Snapshot::Range> instance_ranges(const ComponentInstance::Impl& self) {
  std::vector<engine::Snapshot::Range> ranges(self.core.size() * 2);
  for (size_t i = 0; i < self.core.size(); ++i) {
    if (!self.core[i]) continue;
    ranges[2 * i] = {self.core[i]->raw(), self.core[i]->module().abi().instance_size};
    ranges[2 * i + 1] = {self.links[i].data(), self.links[i].size() * sizeof(wink_link_slot_t)};
  }
  return ranges;
}

}  // namespace

namespace {

// capture_image and capture_standby_image: onto, when given, is the image the
// instance was restored from, its core snapshots updated in place.
// delta: capture_standby_delta (then onto is null).
Result<std::shared_ptr<const InstanceImage>> capture_instance(const ComponentInstance::Impl& self, bool for_standby,
                                                              const InstanceImage* onto,
                                                              const std::atomic<bool>* stop, bool delta = false) {
  if (self.poisoned) return make_error("the instance trapped; an image needs a healthy instance");
  if (!self.abi.handles.at_rest())
    return make_error("a borrowed or lent resource handle is outstanding (an image is taken between calls)");
  auto host_resources = self.host_state->capture_resources();
  if (!host_resources.ok())
    return make_error(host_resources.error().message +
                      " (only stdio streams can be remade in another instance; a request, a stream of one, a "
                      "field list or a file cannot)");
  const Plan& plan = *self.plan;
  auto ranges = instance_ranges(self);
  std::vector<const void*> artifacts;
  for (const auto& m : plan.modules) {
    Dl_info info{};
    if (!dladdr(&m->abi(), &info) || info.dli_fbase == nullptr)
      return make_error("internal error: cannot find an artifact's load address");
    artifacts.push_back(info.dli_fbase);
  }
  auto image = std::make_shared<InstanceImage>();
  image->component = self.loaded.get();
  image->handles = self.abi.handles;
  image->host_resources = std::move(*host_resources);
  image->core.resize(self.core.size());
  for (uint32_t i = 0; i < self.core.size(); ++i) {
    if (!self.core[i]) continue;
    // Onto the core snapshot this core instance was restored from, when it
    // is this instance's own (made by its previous standby), or onto an own
    // copy of the one it was restored from.
    const engine::Snapshot* from = self.core[i]->snapshot();
    // (Restored from a delta, it maps the shared image under it.)
    const engine::Snapshot* mapped = from ? &from->origin() : nullptr;
    const bool copies_from = onto && onto->copy_of && i < onto->copy_of->core.size() &&
                             onto->copy_of->core[i].get() == mapped;
    const std::shared_ptr<engine::Snapshot> base =
        onto && i < onto->core.size() && onto->core[i] && onto->core[i]->exclusive() &&
                (from == onto->core[i].get() || copies_from)
            ? onto->core[i]
            : nullptr;
    auto snap = delta  ? engine::Snapshot::capture_linked_delta(*self.core[i], ranges, artifacts, stop)
                : base ? engine::Snapshot::capture_linked_onto(*self.core[i], base, ranges, artifacts, stop)
                       : engine::Snapshot::capture_linked(*self.core[i], ranges, artifacts, stop, for_standby);
    if (!snap.ok()) return std::move(snap).error().with_context(core_instance_name(plan, i));
    image->core[i] = std::move(*snap);
  }
  return std::shared_ptr<const InstanceImage>(std::move(image));
}

}  // namespace

Result<std::shared_ptr<const InstanceImage>> capture_image(const ComponentInstance& fresh, const std::atomic<bool>* stop) {
  return capture_instance(*fresh.impl_, /*for_standby=*/false, nullptr, stop);
}

Result<std::shared_ptr<const InstanceImage>> capture_standby_image(const ComponentInstance& instance,
                                                                   const InstanceImage* onto,
                                                                   const std::atomic<bool>* stop) {
  if (onto && onto->component != instance.impl_->loaded.get())
    return make_error("internal error: the instance image is another component's");
  return capture_instance(*instance.impl_, /*for_standby=*/true, onto, stop);
}

Result<std::shared_ptr<const InstanceImage>> capture_standby_delta(const ComponentInstance& instance,
                                                                   const std::atomic<bool>* stop) {
  return capture_instance(*instance.impl_, /*for_standby=*/true, nullptr, stop, /*delta=*/true);
}

bool is_delta(const InstanceImage& image) {
  for (const auto& snap : image.core) {
    if (snap && snap->delta()) return true;
  }
  return false;
}

Result<std::shared_ptr<InstanceImage>> own_copy(std::shared_ptr<const InstanceImage> image) {
  auto copy = std::make_shared<InstanceImage>();
  copy->component = image->component;
  copy->handles = image->handles;
  copy->host_resources = image->host_resources;
  copy->core.resize(image->core.size());
  for (size_t i = 0; i < image->core.size(); ++i) {
    if (!image->core[i]) continue;
    WINK_ASSIGN_OR_RETURN(copy->core[i], image->core[i]->own_copy());
  }
  copy->copy_of = std::move(image);
  return copy;
}

void park_slots(const InstanceImage& image, ComponentInstance& instance) {
  ComponentInstance::Impl& self = *instance.impl_;
  for (size_t i = 0; i < self.core.size() && i < image.core.size(); ++i) {
    if (self.core[i] && image.core[i]) image.core[i]->park_slot(*self.core[i]);
  }
}

InstanceImageStats image_stats(const InstanceImage& image) {
  InstanceImageStats st;
  for (const auto& snap : image.core) {
    if (!snap) continue;
    st.memory_bytes += snap->stats().memory_bytes;
    st.stored_bytes += snap->stats().nonzero_bytes;
    st.capture_ms += snap->stats().capture_ms;
    st.written_bytes += snap->stats().written_bytes;
    st.incremental = st.incremental || snap->stats().incremental;
    st.delta = st.delta || snap->delta();
  }
  return st;
}

void set_recycled_slots(const InstanceImage& image, size_t count) {
  for (const auto& snap : image.core) {
    if (snap) snap->set_recycled_slots(count);  // no effect on a core instance without a memory of its own
  }
}

Result<std::unique_ptr<ComponentInstance>> restore(std::shared_ptr<const LoadedComponent> component,
                                                   std::shared_ptr<const InstanceImage> image,
                                                   const InstanceLimits& limits) {
  if (!image || image->component != component.get())
    return make_error("internal error: the instance image is another component's");
  auto inst = std::unique_ptr<ComponentInstance>(new ComponentInstance());
  ComponentInstance::Impl& self = *inst->impl_;
  WINK_TRY(begin_instance(self, std::move(component), limits));
  const Plan& plan = *self.plan;
  if (image->core.size() != self.core.size()) return make_error("internal error: instance image size");
  // Every struct first: a function reference may point into a later core
  // instance (a table filled by a later instance's element segment).
  for (uint32_t i = 0; i < self.core.size(); ++i) {
    if (!plan.core_instances[i].instantiate) continue;
    if (!image->core[i]) return make_error("internal error: instance image lacks " + core_instance_name(plan, i));
    WINK_ASSIGN_OR_RETURN(self.core[i], image->core[i]->allocate_linked());
  }
  std::vector<uint8_t*> bases(self.core.size() * 2, nullptr);
  for (size_t i = 0; i < self.core.size(); ++i) {
    if (!self.core[i]) continue;
    bases[2 * i] = static_cast<uint8_t*>(self.core[i]->raw());
    bases[2 * i + 1] = reinterpret_cast<uint8_t*>(self.links[i].data());
  }
  for (uint32_t i = 0; i < self.core.size(); ++i) {
    if (!self.core[i]) continue;
    WINK_TRY(fill_links(self, i));
    auto restored = image->core[i]->restore_linked(*self.core[i], self.links[i], bases, limits);
    if (!restored.ok()) return std::move(restored).error().with_context(core_instance_name(plan, i));
  }
  self.abi.handles = image->handles;
  if (image->host_resources) WINK_TRY(self.host_state->restore_resources(*image->host_resources));
  return inst;
}

namespace {

// Whether an imported-object field (by its C declaration, "wasm_rt_memory_t
// *w2c_..." or "u32* w2c_...") may point at import `imp`'s object: the same
// kind of object of the same type, so guest code never reads one as another.
bool pointee_fits(std::string_view decl, const wink_import_t& imp) {
  const std::string_view params = imp.params ? imp.params : "";
  auto is = [&](std::string_view type) {
    if (!decl.starts_with(type)) return false;
    std::string_view rest = decl.substr(type.size());
    while (rest.starts_with(" ")) rest.remove_prefix(1);
    return rest.starts_with("*");
  };
  if (is("wasm_rt_memory_t")) return imp.kind == WINK_EXTERN_MEMORY;
  if (is("wasm_rt_funcref_table_t")) return imp.kind == WINK_EXTERN_TABLE && params == "r";
  if (is("wasm_rt_externref_table_t")) return imp.kind == WINK_EXTERN_TABLE && params == "e";
  if (imp.kind != WINK_EXTERN_GLOBAL) return false;
  if (is("u32")) return params == "i";
  if (is("u64")) return params == "I";
  if (is("f32")) return params == "f";
  if (is("f64")) return params == "F";
  if (is("wasm_rt_funcref_t")) return params == "r";
  if (is("wasm_rt_externref_t")) return params == "e";
  if (is("v128")) return params != "i" && params != "I" && params != "f" && params != "F" && params != "r" && params != "e";
  return false;
}

}  // namespace

Result<void> check_image_links(std::shared_ptr<const LoadedComponent> component,
                               std::shared_ptr<const InstanceImage> image) {
  InstanceLimits limits;
  limits.max_memory_pages = UINT32_MAX;  // the image's own sizes; each request's limit is checked at its restore
  WINK_ASSIGN_OR_RETURN(auto inst, restore(std::move(component), std::move(image), limits));
  const ComponentInstance::Impl& self = *inst->impl_;
  for (uint32_t i = 0; i < self.core.size(); ++i) {
    if (!self.core[i]) continue;
    const wink_artifact_t& abi = self.core[i]->module().abi();
    const auto* storage = static_cast<const uint8_t*>(self.core[i]->raw());
    const std::vector<wink_link_slot_t>& links = self.links[i];
    for (uint32_t k = 0; k < abi.num_instance_fields; ++k) {
      const wink_instance_field_t& f = abi.instance_fields[k];
      if (f.kind != WINK_FIELD_IMPORT_INSTANCE && f.kind != WINK_FIELD_IMPORTED_OBJECT) continue;
      void* p = nullptr;
      std::memcpy(&p, storage + f.offset, sizeof p);
      bool ok = false;
      if (f.kind == WINK_FIELD_IMPORT_INSTANCE) {
        ok = p == links.data();
      } else {
        for (uint32_t m = 0; m < abi.num_imports && !ok; ++m) {
          ok = links[m + 1].target == p && pointee_fits(f.decl ? f.decl : "", abi.imports[m]);
        }
      }
      if (!ok) {
        return make_error(core_instance_name(*self.plan, i) + ": field " + (f.decl ? f.decl : "?") +
                          " does not point where the component's links do");
      }
    }
  }
  return {};
}

Result<std::vector<Value>> ComponentInstance::call(std::string_view instance, std::string_view func,
                                                   const std::vector<Value>& args, runtime::Outcome* outcome) {
  Impl& self = *impl_;
  if (outcome) *outcome = {};
  // Built only for a message: not per call.
  auto name = [&] {
    return instance.empty() ? std::string(func) : std::string(instance) + " \"" + std::string(func) + "\"";
  };
  if (self.poisoned) return make_error("the instance trapped earlier; call a fresh instance (calling " + name() + ")");
  if (self.in_call) return make_error("the instance is already in a call (calling " + name() + ")");
  const Plan& plan = *self.plan;
  const Lifted* lifted = nullptr;
  for (size_t i = 0; i < plan.exports.size(); ++i)
    if (plan.exports[i].instance == instance && plan.exports[i].name == func) lifted = &plan.lifted[i];
  if (!lifted) return make_error("the component exports no function " + name());
  if (args.size() != lifted->type->params.size())
    return make_error(name() + " takes " + std::to_string(lifted->type->params.size()) + " argument(s), got " +
                      std::to_string(args.size()));

  struct InCall {  // cleared however the call ends (an exception from the host included)
    ComponentInstance::Impl& s;
    explicit InCall(ComponentInstance::Impl& x) : s(x) { s.in_call = true; }
    ~InCall() {
      s.in_call = false;
      s.call_end = Clock::time_point::max();
    }
  } in_call(self);
  self.last_trap = {};
  self.call_end = self.limits.deadline.count() > 0 ? Clock::now() + self.limits.deadline : Clock::time_point::max();
  GuestMemory g;
  AbiOptions opts = self.options(lifted->options, lifted->memory, lifted->realloc, g);
  auto callee = [&](const std::vector<CoreValue>& flat) { return self.call_guest(lifted->core, flat); };
  PostReturn post;
  if (lifted->post_return) {
    post = [&](const std::vector<CoreValue>& results) -> Result<void> {
      WINK_TRY(self.call_guest(*lifted->post_return, results));
      return {};
    };
  }
  auto out = call_lifted(lifted->layout, opts, self.abi, callee, args, post);
  if (out.ok()) return out;
  // A trap (the guest's, or the ABI's on the guest's values) ends the instance.
  bool guest_trap = !self.last_trap.ok();
  bool abi_trap = out.error().message.rfind("trap:", 0) == 0 || out.error().message.find("trap:") != std::string::npos;
  if (guest_trap || abi_trap) {
    self.poisoned = true;
    if (outcome) {
      *outcome = guest_trap ? self.last_trap : runtime::Outcome{runtime::Trap::kHost, 0, out.error().message};
    }
    std::string msg = out.error().message;
    if (msg.rfind("trap:", 0) != 0) msg = "trap: " + msg;
    return make_error(msg + " (in " + name() + ")");
  }
  return std::move(out).error().with_context(name());
}

const FuncType* ComponentInstance::export_type(std::string_view instance, std::string_view func) const {
  const ExportedFunc* e = impl_->loaded->find_export(instance, func);
  return e ? e->type.get() : nullptr;
}

HostState& ComponentInstance::host_state() { return *impl_->host_state; }
InstanceState& ComponentInstance::abi_state() { return impl_->abi; }
const LoadedComponent& ComponentInstance::component() const { return *impl_->loaded; }
bool ComponentInstance::poisoned() const { return impl_->poisoned; }

std::span<const uint8_t> ComponentInstance::core_memory(size_t core_instance) const {
  if (core_instance >= impl_->core.size() || !impl_->core[core_instance]) return {};
  const wasm_rt_memory_t* mem = impl_->core[core_instance]->memory();
  if (mem == nullptr || mem->data == nullptr) return {};
  return {mem->data, uint64_t{mem->pages} * 65536};
}

uint64_t ComponentInstance::memory_bytes() const {
  std::vector<const wasm_rt_memory_t*> seen;
  uint64_t total = 0;
  for (const auto& core : impl_->core) {
    const wasm_rt_memory_t* mem = core ? core->memory() : nullptr;
    if (mem == nullptr || std::find(seen.begin(), seen.end(), mem) != seen.end()) continue;
    seen.push_back(mem);
    total += uint64_t{mem->pages} * 65536;
  }
  return total;
}

}  // namespace wink::linker
