// Components as running instances: load a component binary (parse, compile
// each core module through the engine's pipeline and artifact cache, resolve
// every import against a HostProvider, check every link), instantiate it
// (core instances in the component's definition order, each linked to the
// others and to the host through per-instance link tables), call its
// exports through the Canonical ABI.
//
//   auto loaded = linker::load_component(engine, bytes, provider);
//   auto inst = linker::instantiate(*loaded, {.deadline = 1s});
//   auto out = (*inst)->call("wasi:http/incoming-handler@0.2.3", "handle", args);
//
// What is supported and what is refused: docs/components.md ("Linker").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "component/handles.h"
#include "component/host.h"
#include "component/model.h"
#include "component/parser.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/engine.h"
#include "runtime/runtime.h"

namespace wink::linker {

struct LoadOptions {
  component::ParseLimits parse;
  // Most core instances a component may create per instantiation.
  uint32_t max_core_instances = 10'000;
  // Whether large core modules may be served from the quick tier while their
  // optimized artifacts are built (engine::Tiering; docs/compile.md).
  engine::Tiering tiering = engine::Tiering::kOptimized;
};

// Figures of one load (benchmarks, `wink run -v`).
struct LoadReport {
  double parse_seconds = 0;
  double compile_seconds = 0;  // compile or cache lookup of every core module
  double link_seconds = 0;     // import resolution and link checks
  uint32_t core_modules = 0;
  uint64_t compiles = 0;       // core modules compiled (not found in the cache)
};

class LoadedComponent;
class ComponentInstance;

// Parses `bytes` (a component binary), compiles or finds in the cache every
// core module (each its own artifact, keyed by its bytes), resolves every
// import through `host` (which must outlive the result) and checks every
// link between core instances. Refusals name the item and the reason (and
// the byte offset for binary errors).
Result<std::shared_ptr<const LoadedComponent>> load_component(engine::Engine& engine,
                                                              std::span<const uint8_t> bytes,
                                                              component::HostProvider& host,
                                                              const LoadOptions& options = {},
                                                              LoadReport* report = nullptr);

// An export function of a loaded component: `instance` is the exported
// instance's name ("wasi:http/incoming-handler@0.2.3"), empty for a
// function exported at the top level.
struct ExportedFunc {
  std::string instance;
  std::string name;
  component::FuncTypePtr type;
};

class LoadedComponent {
 public:
  ~LoadedComponent();
  const component::Component& model() const;
  // Every function the component exports (at the top level or in exported instances).
  const std::vector<ExportedFunc>& exported_funcs() const;
  // nullptr when there is no such export.
  const ExportedFunc* find_export(std::string_view instance, std::string_view func) const;
  // Finds an exported instance by its unversioned name ("wasi:http/incoming-handler")
  // whatever 0.2.x minor the component exports; returns the full name or "".
  std::string find_instance(std::string_view unversioned) const;
  // The background builds of the optimized artifacts of its core modules
  // loaded from the quick tier (LoadOptions::tiering); empty when every core
  // module runs optimized code. Load the component again once all are ready.
  std::vector<std::shared_future<Result<std::filesystem::path>>> optimized_builds() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  friend Result<std::shared_ptr<const LoadedComponent>> load_component(engine::Engine&, std::span<const uint8_t>,
                                                                       component::HostProvider&,
                                                                       const LoadOptions&, LoadReport*);
  LoadedComponent();
  std::unique_ptr<Impl> impl_;
};

// Limits of one component instance: per-memory page limit and per-call
// deadline (each call() from the host, including realloc and post-return).
using InstanceLimits = engine::InstanceLimits;

// Instantiates every core instance in definition order, with a fresh
// HostState from the provider. A trap during instantiation is an error.
Result<std::unique_ptr<ComponentInstance>> instantiate(std::shared_ptr<const LoadedComponent> component,
                                                       const InstanceLimits& limits = {});

// A component instance's state right after instantiation (every core
// instance: memories, globals, tables, function references across core
// instances), captured once so later instances are restored from it
// copy-on-write instead of re-running data segments and start functions
// (engine::Snapshot::capture_linked). Belongs to one LoadedComponent: never
// shared between components (each load captures its own).
class InstanceImage;

// Captures `instance` between calls (right after instantiation, or a
// long-lived one going to standby). Its handles and stdio streams are
// remade in each restored instance. Refused, with the reason, when its state
// cannot be rebound to another instance: other host resources alive (a
// request, a body stream, a field list: they belong to this instance's host
// state), a borrow outstanding, externrefs, pointers the linker does not know.
// `stop`: as engine::Snapshot::capture's (a standby that a request interrupts).
Result<std::shared_ptr<const InstanceImage>> capture_image(const ComponentInstance& fresh,
                                                           const std::atomic<bool>* stop = nullptr);

// A long-lived instance going to standby: as capture_image, but the image is
// the instance's own (not shared with other instances), so its next standby
// can update it in place. `onto`, when given, is the image the instance was
// restored from and made by its previous standby, or an own_copy() of the
// image it was restored from: only the pages the instance
// changed since are written into it (engine::Snapshot::capture_linked_onto),
// and the result takes its memory images over. `onto` is then consumed,
// whatever the outcome: restore nothing more from it (on failure it is
// half-written; the instance is untouched).
Result<std::shared_ptr<const InstanceImage>> capture_standby_image(const ComponentInstance& instance,
                                                                   const InstanceImage* onto,
                                                                   const std::atomic<bool>* stop = nullptr);
// A long-lived instance restored from a shared image (or a delta over one)
// going to standby: each core instance's state as a delta over that shared
// image's core snapshot (engine::Snapshot::capture_linked_delta: only the
// pages changed since it mapped it, at most kMaxDeltaPages each), so the
// saved state is what changed and no own_copy() is needed first. Refused
// when a core instance changed more, or was restored from anything else; the
// instance is untouched either way. capture_standby_image onto an own_copy()
// of the shared image then takes the state over.
Result<std::shared_ptr<const InstanceImage>> capture_standby_delta(const ComponentInstance& instance,
                                                                   const std::atomic<bool>* stop = nullptr);
// Whether `image` is made of deltas (capture_standby_delta).
bool is_delta(const InstanceImage& image);
// A copy of `image` whose memory images are its own (copied in the kernel,
// engine::Snapshot::own_copy), made ahead of the first standby of an
// instance restored from `image`: capture_standby_image onto the copy then
// writes only the pages that instance changed since its start, as onto the
// instance's own previous image, instead of its whole state.
Result<std::shared_ptr<InstanceImage>> own_copy(std::shared_ptr<const InstanceImage> image);

// After capture_standby_image(instance, onto = the image it was restored
// from) returned `image`: the instance's memory slots, still mapping
// image's memories, are kept for the next restore from `image`
// (engine::Snapshot::park_slot): a wake maps nothing and faults in nothing it
// had read. Call right before destroying the instance.
void park_slots(const InstanceImage& image, ComponentInstance& instance);

// What an image holds (log lines, benchmarks).
struct InstanceImageStats {
  uint64_t memory_bytes = 0;  // every defined memory's size
  uint64_t stored_bytes = 0;  // its non-zero pages, shared by every restored instance
  double capture_ms = 0;
  uint64_t written_bytes = 0;  // pages this capture wrote (capture_standby_image onto an image: the changed ones)
  bool incremental = false;    // some core memory was updated in place, or saved as a delta
  bool delta = false;          // made by capture_standby_delta
};
InstanceImageStats image_stats(const InstanceImage& image);

// For an image whose instances live for one call or request each: keeps up
// to `count` memory slots of released instances, reset to the image in place,
// for the next restores (engine::Snapshot::set_recycled_slots, per core
// instance with a memory of its own): no mmap per restore, and no page fault
// on the pages the previous instance only read. Not for long-lived
// instances (their memory goes back at standby). Call before `image` is
// shared between threads.
void set_recycled_slots(const InstanceImage& image, size_t count);

// A new instance of `component` in `image`'s state, with a fresh HostState;
// no guest code runs. `image` must come from an instance of `component`.
Result<std::unique_ptr<ComponentInstance>> restore(std::shared_ptr<const LoadedComponent> component,
                                                   std::shared_ptr<const InstanceImage> image,
                                                   const InstanceLimits& limits = {});

// ---- Instance images in files (image_file.cpp; docs/components.md, "init") ----
//
// An image written to a file is used only with the same component binary,
// the same code (every core module's artifact: quick and optimized tiers
// each have their own), the same wink, and the same `spec`: the embedder's
// hash of everything init could observe. Anything else, a damaged or
// truncated file, or one whose pointers do not fit the component's links,
// is refused with the reason; every byte of the file is checked as hostile.
struct ImageFileKey {
  std::string component;  // hex sha256 of the component binary
  std::string spec;       // hex sha256 of what the state depends on besides the code
};
// <data_dir>/snapshots/<component>-<code>-<spec>.cimg (each part shortened).
Result<std::filesystem::path> image_path_for(const LoadedComponent& component, const ImageFileKey& key,
                                             const std::filesystem::path& data_dir);
// Writes `image` (captured from an instance of `component`) to `file`: a
// temporary file renamed over it, so a reader never sees half of one.
Result<void> save_image(const LoadedComponent& component, const InstanceImage& image,
                        const std::filesystem::path& file, const ImageFileKey& key);
// Reads an image save_image wrote for this component, code and key.
Result<std::shared_ptr<const InstanceImage>> load_image(std::shared_ptr<const LoadedComponent> component,
                                                        const std::filesystem::path& file,
                                                        const ImageFileKey& key);

class ComponentInstance {
 public:
  ~ComponentInstance();
  ComponentInstance(const ComponentInstance&) = delete;
  ComponentInstance& operator=(const ComponentInstance&) = delete;

  // Calls an exported function with lifted arguments (per its FuncType) and
  // returns the lifted results: lowers arguments (realloc), calls the core
  // function under the deadline, lifts results, runs post-return. A trap
  // (guest or host) is an error starting with "trap: "; `outcome` then says
  // which (deadline, out of bounds, ...). After a trap the instance is
  // poisoned: every later call is refused (start a fresh instance).
  Result<std::vector<component::Value>> call(std::string_view instance, std::string_view func,
                                             const std::vector<component::Value>& args,
                                             runtime::Outcome* outcome = nullptr);
  // The export's type, or nullptr.
  const component::FuncType* export_type(std::string_view instance, std::string_view func) const;

  component::HostState& host_state();
  // Handle tables (own/borrow handles the host holds for this instance).
  component::InstanceState& abi_state();
  const LoadedComponent& component() const;
  bool poisoned() const;
  // The bytes of core instance `core_instance`'s memory (its first, own or
  // imported), empty when it has none (tests, benchmarks).
  std::span<const uint8_t> core_memory(size_t core_instance) const;
  // The size of every memory of the instance, each counted once (core
  // instances that import a memory share it).
  uint64_t memory_bytes() const;

  struct Impl;

 private:
  friend Result<std::unique_ptr<ComponentInstance>> instantiate(std::shared_ptr<const LoadedComponent>,
                                                                const InstanceLimits&);
  friend Result<std::shared_ptr<const InstanceImage>> capture_image(const ComponentInstance&, const std::atomic<bool>*);
  friend Result<std::shared_ptr<const InstanceImage>> capture_standby_delta(const ComponentInstance&,
                                                                           const std::atomic<bool>*);
  friend Result<std::shared_ptr<const InstanceImage>> capture_standby_image(const ComponentInstance&,
                                                                           const InstanceImage*,
                                                                           const std::atomic<bool>*);
  friend void park_slots(const InstanceImage&, ComponentInstance&);
  friend Result<std::unique_ptr<ComponentInstance>> restore(std::shared_ptr<const LoadedComponent>,
                                                            std::shared_ptr<const InstanceImage>,
                                                            const InstanceLimits&);
  friend Result<void> check_image_links(std::shared_ptr<const LoadedComponent>, std::shared_ptr<const InstanceImage>);
  ComponentInstance();
  std::unique_ptr<Impl> impl_;
};

}  // namespace wink::linker
