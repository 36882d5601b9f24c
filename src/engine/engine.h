// Loading artifacts and running instances: the engine's public face.
//
//   Engine engine({.data_dir = ...});
//   auto module = engine.load_file("app.wasm");        // compiled or from cache
//   wasi::Context wasi(prepared);
//   auto inst = Instance::create(*module, {&wasi}, limits);
//   runtime::Outcome out = inst->run_start();          // _start; trap/exit as values
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "compiler/compiler.h"
#include "compiler/data_split.h"
#include "runtime/artifact_abi.h"
#include "runtime/host_module.h"
#include "runtime/runtime.h"

namespace wink::engine {

// A loaded artifact (dlopen'ed shared object). Shared by all its instances.
class Module {
 public:
  // Loads an artifact file; refuses one built by another engine version/ABI.
  static Result<std::shared_ptr<Module>> load(const std::filesystem::path& artifact);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const wink_artifact_t& abi() const { return *abi_; }
  const wink_export_t* find_export(std::string_view name) const;
  // find_export("_start"), looked up once at load (a WAGI request runs it).
  const wink_export_t* start_export() const { return start_; }
  const std::filesystem::path& path() const { return path_; }
  // The data segments every instance gets written at instantiation, when the
  // artifact was compiled from the module's code alone (shared by modules
  // that differ only in data: compiler/data_split.h); nullptr otherwise.
  const compiler::DataImage* data() const { return data_.get(); }
  // What an instance of this module starts from, for snapshot keys: the
  // artifact's module_hash, combined with the data's hash when the data is
  // written at instantiation (two modules sharing code never share a snapshot).
  const std::string& identity() const { return identity_; }
  // True when this is the quick (-O0) artifact of a large module whose
  // optimized artifact was not cached when it was loaded (see Tiering).
  bool quick_tier() const { return quick_tier_; }
  // Loaded with Tiering::kQuickThenOptimized from the quick tier: the
  // background build of the optimized artifact (its path, or the compiler's
  // error). Not valid() otherwise. Load the module again once it is ready.
  const std::shared_future<Result<std::filesystem::path>>& optimized() const { return optimized_; }

 private:
  friend class Engine;
  Module() = default;
  void* handle_ = nullptr;
  const wink_artifact_t* abi_ = nullptr;
  const wink_export_t* start_ = nullptr;
  std::filesystem::path path_;
  std::shared_ptr<const compiler::DataImage> data_;
  std::string identity_;
  bool quick_tier_ = false;
  std::shared_future<Result<std::filesystem::path>> optimized_;
};

struct InstanceLimits {
  uint32_t max_memory_pages = 65535;            // per memory; 64 KiB pages
  std::chrono::nanoseconds deadline{0};         // per call; 0 = none
};

// A typed Wasm value for invoke(): type char as in artifact_abi.h, raw bits.
struct Value {
  char type = 'i';
  uint64_t bits = 0;
  // Parses "42", "-1", "1.5", "nan", "inf" for the given type char.
  static Result<Value> parse(char type, std::string_view text);
  // Prints like `wasmtime run --invoke`: integers signed decimal, floats shortest.
  std::string to_string() const;
};

class Snapshot;

// A memory slot reset in place by Snapshot::recycle_slot, with what that
// reset knows of it: the 4 KiB page runs the slot holds privately and the
// process's page-fault count when the reset ended.
struct RecycledSlot {
  uint8_t* base = nullptr;
  std::vector<std::pair<uint32_t, uint32_t>> private_runs;
  uint64_t faults = 0;
};

class Instance {
 public:
  // Instantiates (globals, memory, tables, data and element segments, start
  // function) with `hosts` satisfying the module's imports by module name.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<Module> module,
                                                  std::span<runtime::HostModule* const> hosts,
                                                  const InstanceLimits& limits = {});
  // Instantiates with `imports[i]` as the instance pointer of import module i.
  static Result<std::unique_ptr<Instance>> create_raw(std::shared_ptr<Module> module, void* const* imports,
                                                      const InstanceLimits& limits);
  // Instantiates a module compiled for linking (abi().linked): `links` has
  // a header slot (filled here) and then one slot per import (abi().imports,
  // in order) filled by the caller; it must stay alive and unchanged as long
  // as the instance.
  static Result<std::unique_ptr<Instance>> create_linked(std::shared_ptr<Module> module,
                                                         std::span<wink_link_slot_t> links,
                                                         const InstanceLimits& limits = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Calls an exported function with raw slots (see wink_trampoline_t).
  // `started`: the caller's read of the steady clock just before, which the
  // deadline counts from (unset: read here).
  runtime::Outcome call(const wink_export_t& fn, const uint64_t* args, uint64_t* results,
                        std::chrono::steady_clock::time_point started = {});
  // Runs the WASI command entry `_start`. proc_exit(n) gives Outcome{kExit, n};
  // returning normally gives Outcome{kNone}.
  runtime::Outcome run_start(std::chrono::steady_clock::time_point started = {});
  // Calls an export by name with typed arguments (checked against its signature).
  Result<std::vector<Value>> invoke(std::string_view name, std::span<const Value> args,
                                    runtime::Outcome* outcome = nullptr);

  wasm_rt_memory_t* memory() const;
  Module& module() const { return *module_; }
  void* raw() const { return storage_; }
  // The snapshot this instance was restored from, or nullptr.
  const Snapshot* snapshot() const { return snapshot_.get(); }

 private:
  friend class Snapshot;
  Instance() = default;
  // Everything of instantiation but the start function the compiler
  // separated (abi().start), which run_start_function then runs: create()
  // gives the hosts the memory in between.
  static Result<std::unique_ptr<Instance>> instantiate(std::shared_ptr<Module> module, void* const* imports,
                                                       const InstanceLimits& limits);
  Result<void> run_start_function();
  void notify_release();  // snapshot.cpp: lets the snapshot learn hot pages
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<Module> module_;
  void* storage_ = nullptr;
  InstanceLimits limits_;
  bool instantiated_ = false;
  RecycledSlot recycled_slot_;  // when memory 0 came from the snapshot's recycled slots
};

// Modules with at least this much code are worth a quick tier (`wink run`'s
// and the node's default threshold; docs/compile.md, "Tiering").
constexpr uint64_t kQuickTierCodeBytes = 512 * 1024;

// May a load serve a large module from its quick (-O0) artifact while the
// optimized one is not cached? (Modules under EngineConfig::quick_tier_threshold
// bytes of code, or with the threshold 0, always get the optimized one.)
enum class Tiering {
  kOptimized,           // no: wait for the optimized artifact
  kQuick,               // yes, the optimized one is someone else's business (`wink run`)
  // yes, and the optimized one is built in the background at low priority
  // (Module::optimized()); the caller swaps it in. Only for callers whose
  // instances hold nothing artifact-specific beyond a request (a snapshot
  // holds function offsets into the artifact it was taken from).
  kQuickThenOptimized,
};

struct EngineConfig {
  std::filesystem::path data_dir;   // artifact cache lives in data_dir/artifacts
  compiler::Options compile;        // host_imports filled in by the engine
  // Modules with at least this much code (bytes) whose optimized artifact is
  // not cached yet may be loaded from a quick -O0 build instead (seconds
  // rather than minutes for multi-MB modules), when the load's Tiering
  // allows it; 0 = always wait for the optimized one.
  uint64_t quick_tier_threshold = 0;
};

// Compiles (or finds in the cache) and loads modules; keeps loaded modules
// by artifact path so apps sharing a module share its code.
class Engine {
 public:
  explicit Engine(EngineConfig config);
  // A .wasm file is compiled through the cache; an artifact file (ELF shared
  // object made by `wink compile`) is loaded as is.
  Result<std::shared_ptr<Module>> load_file(const std::filesystem::path& path,
                                            Tiering tiering = Tiering::kOptimized);
  // Modules that differ only in data share one artifact: see compiler/data_split.h.
  Result<std::shared_ptr<Module>> load_bytes(std::span<const uint8_t> wasm, Tiering tiering = Tiering::kOptimized);
  // A component's core module, compiled for linking (every import bound per
  // instance, see Instance::create_linked); cached like any module and split
  // like load_bytes (modules that differ only in data share one artifact).
  Result<std::shared_ptr<Module>> load_linked(std::span<const uint8_t> wasm, Tiering tiering = Tiering::kOptimized);
  // All host imports wink provides (WASI and wink's own host API).
  static std::vector<runtime::HostImport> host_imports();
  const std::filesystem::path& data_dir() const { return config_.data_dir; }
  // True when a module was loaded from the quick tier: its optimized
  // artifact still has to be built (see `wink compile --into-cache`).
  bool loaded_quick_tier() const { return loaded_quick_tier_; }
  // Modules this engine compiled (not found in the artifact cache).
  uint64_t compile_count() const { return cache_.compile_count(); }

 private:
  // Compiles the code module alone when the data splits off (data_split.h).
  Result<std::shared_ptr<Module>> load_shared(std::span<const uint8_t> wasm, const compiler::Options& wanted,
                                              Tiering tiering);
  Result<std::shared_ptr<Module>> load_with(std::span<const uint8_t> wasm, const compiler::Options& wanted,
                                            Tiering tiering = Tiering::kOptimized);
  EngineConfig config_;
  compiler::ArtifactCache cache_;
  std::atomic<bool> loaded_quick_tier_{false};
};

}  // namespace wink::engine
