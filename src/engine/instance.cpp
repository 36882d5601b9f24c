#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/engine.h"
#include "engine/snapshot.h"

namespace wink::engine {
namespace {

struct InstantiateArgs {
  const wink_artifact_t* abi;
  void* storage;
  void* const* imports;
};

void do_instantiate(void* p) {
  auto* a = static_cast<InstantiateArgs*>(p);
  a->abi->instantiate(a->storage, a->imports);
}

struct StartArgs {
  void (*start)(void* instance);
  void* storage;
};

void do_start(void* p) {
  auto* a = static_cast<StartArgs*>(p);
  a->start(a->storage);
}

struct CallArgs {
  wink_trampoline_t fn;
  void* storage;
  const uint64_t* args;
  uint64_t* results;
};

void do_call(void* p) {
  auto* a = static_cast<CallArgs*>(p);
  a->fn(a->storage, a->args, a->results);
}

struct FreeArgs {
  const wink_artifact_t* abi;
  void* storage;
};

void do_free(void* p) {
  auto* a = static_cast<FreeArgs*>(p);
  a->abi->free_instance(a->storage);
}

constexpr size_t kMaxImportModules = 16;

}  // namespace

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<Module> module,
                                                   std::span<runtime::HostModule* const> hosts,
                                                   const InstanceLimits& limits) {
  const wink_artifact_t& abi = module->abi();
  // Before the import check: a linked module's imports are not host modules.
  if (abi.linked) return make_error("module was compiled for linking into a component");
  if (abi.num_import_modules > kMaxImportModules) {
    return make_error("module imports from too many modules");
  }
  void* imports[kMaxImportModules] = {};
  for (uint32_t i = 0; i < abi.num_import_modules; ++i) {
    std::string_view wanted = abi.import_modules[i];
    for (runtime::HostModule* host : hosts) {
      if (host->module_name() == wanted) imports[i] = host->import_instance();
    }
    if (imports[i] == nullptr) {
      return make_error("module imports from \"" + std::string(wanted) +
                        "\", which this instance was not given");
    }
  }

  WINK_ASSIGN_OR_RETURN(auto inst, instantiate(std::move(module), imports, limits));
  wasm_rt_memory_t* memory = inst->memory();
  for (runtime::HostModule* host : hosts) host->attach_memory(memory);
  WINK_TRY(inst->run_start_function());  // its host calls see the memory
  return inst;
}

Result<std::unique_ptr<Instance>> Instance::create_linked(std::shared_ptr<Module> module,
                                                          std::span<wink_link_slot_t> links,
                                                          const InstanceLimits& limits) {
  const wink_artifact_t& abi = module->abi();
  if (!abi.linked) return make_error("module was not compiled for linking");
  if (links.size() != uint64_t{abi.num_imports} + 1)
    return make_error("internal error: " + std::to_string(links.size()) + " link slots for " +
                      std::to_string(abi.num_imports) + " imports");
  links[0] = {links.data(), nullptr, nullptr};
  // Every import module's instance pointer is the link table.
  std::vector<void*> imports(std::max<uint32_t>(abi.num_import_modules, 1), links.data());
  return create_raw(std::move(module), imports.data(), limits);
}

Result<std::unique_ptr<Instance>> Instance::create_raw(std::shared_ptr<Module> module, void* const* imports,
                                                       const InstanceLimits& limits) {
  WINK_ASSIGN_OR_RETURN(auto inst, instantiate(std::move(module), imports, limits));
  WINK_TRY(inst->run_start_function());
  return inst;
}

Result<std::unique_ptr<Instance>> Instance::instantiate(std::shared_ptr<Module> module, void* const* imports,
                                                        const InstanceLimits& limits) {
  const wink_artifact_t& abi = module->abi();
  auto inst = std::unique_ptr<Instance>(new Instance());
  inst->module_ = std::move(module);
  inst->limits_ = limits;
  // The generated instance struct: plain data, zeroed so free() is safe on
  // a half-done instantiation.
  inst->storage_ = std::calloc(1, abi.instance_size ? abi.instance_size : 1);
  if (inst->storage_ == nullptr) return make_error("out of memory for instance");

  InstantiateArgs args{&abi, inst->storage_, imports};
  runtime::Outcome out;
  {
    runtime::MemoryPolicyScope policy({limits.max_memory_pages});
    // Unless it runs the start function itself, no guest code runs here
    // (segments are copied, tables filled): nothing for a deadline to stop,
    // no clock to read.
    const bool runs_guest_code = abi.has_start && abi.start == nullptr;
    out = runtime::guarded_call(do_instantiate, &args, {runs_guest_code ? limits.deadline : std::chrono::nanoseconds(0)});
  }
  inst->instantiated_ = true;  // even on failure: free what was allocated
  if (!out.ok()) return make_error("instantiation failed: " + runtime::outcome_message(out));
  if (const compiler::DataImage* data = inst->module_->data()) {
    // Compiled without its data (shared code): write it now, as the
    // module's own instantiation would have (no start function runs first).
    wasm_rt_memory_t* memory = inst->memory();
    if (memory == nullptr) return make_error("instantiation failed: the module has data but no memory");
    if (auto written = compiler::apply_data(*data, memory->data, uint64_t(memory->pages) * 65536); !written.ok()) {
      return make_error("instantiation failed: " + written.error().message);
    }
  }
  return inst;
}

Result<void> Instance::run_start_function() {
  const wink_artifact_t& abi = module_->abi();
  if (abi.start == nullptr) return {};
  StartArgs args{abi.start, storage_};
  runtime::Outcome out = runtime::guarded_call(do_start, &args, {limits_.deadline});
  if (!out.ok()) return make_error("instantiation failed: " + runtime::outcome_message(out));
  return {};
}

Instance::~Instance() {
  if (storage_ == nullptr) return;
  if (snapshot_) {
    notify_release();
    snapshot_->recycle_slot(*this);  // keeps the memory slot, reset, when it can
  }
  if (instantiated_) {
    FreeArgs args{&module_->abi(), storage_};
    (void)runtime::guarded_call(do_free, &args, {});
  }
  std::free(storage_);
}

runtime::Outcome Instance::call(const wink_export_t& fn, const uint64_t* args, uint64_t* results,
                                std::chrono::steady_clock::time_point started) {
  CallArgs call{fn.call, storage_, args, results};
  return runtime::guarded_call(do_call, &call, {limits_.deadline, started});
}

runtime::Outcome Instance::run_start(std::chrono::steady_clock::time_point started) {
  const wink_export_t* start = module_->start_export();
  if (start == nullptr || start->kind != WINK_EXTERN_FUNC || start->params[0] || start->results[0]) {
    runtime::Outcome out;
    out.trap = runtime::Trap::kHost;
    out.detail = "module has no `_start` function () -> () (is it a WASI command?)";
    return out;
  }
  return call(*start, nullptr, nullptr, started);
}

Result<std::vector<Value>> Instance::invoke(std::string_view name, std::span<const Value> args,
                                            runtime::Outcome* outcome) {
  const wink_export_t* fn = module_->find_export(name);
  if (fn == nullptr) return make_error("no export named `" + std::string(name) + "`");
  if (fn->kind != WINK_EXTERN_FUNC) return make_error("export `" + std::string(name) + "` is not a function");
  size_t nparams = std::strlen(fn->params), nresults = std::strlen(fn->results);
  if (args.size() != nparams) {
    return make_error("function `" + std::string(name) + "` takes " + std::to_string(nparams) +
                      " argument(s), got " + std::to_string(args.size()));
  }
  std::vector<uint64_t> in(nparams + 1), out(nresults + 1);
  for (size_t i = 0; i < nparams; ++i) {
    if (args[i].type != fn->params[i]) return make_error("argument " + std::to_string(i + 1) + " has the wrong type");
    in[i] = args[i].bits;
  }
  runtime::Outcome result = call(*fn, in.data(), out.data());
  if (outcome) *outcome = result;
  if (!result.ok()) return make_error(runtime::outcome_message(result));
  std::vector<Value> values;
  for (size_t i = 0; i < nresults; ++i) values.push_back({fn->results[i], out[i]});
  return values;
}

wasm_rt_memory_t* Instance::memory() const {
  const wink_artifact_t& abi = module_->abi();
  return abi.memory ? abi.memory(storage_) : nullptr;
}

}  // namespace wink::engine
