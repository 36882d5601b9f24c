// What load_component decides once and every instantiation carries out: the
// compiled core modules, for each core instance the source of each of its
// imports, the lowered host functions, resource built-ins and lifted
// exports. Private to the linker.
#pragma once

#include <map>
#include <optional>

#include "component/abi.h"
#include "component/host.h"
#include "engine/snapshot.h"
#include "linker/linker.h"

namespace wink::linker {

// Where a core function, memory, table or global comes from.
struct Source {
  enum class Kind : uint8_t { Export, Lowered, Builtin } kind = Kind::Export;
  uint32_t instance = 0;      // Export: core instance
  uint32_t export_index = 0;  // Export: index into that module's exports
  uint32_t index = 0;         // Lowered / Builtin: index into Plan::lowered / builtins
  std::string params, results;  // signature (artifact_abi.h notation); globals: type and "m"; tables: elem type
};

// A canon lower of a host import.
struct Lowered {
  std::string name;  // for messages: `wasi:io/streams@0.2.3 "[method]output-stream.write"`
  component::ExternName iface;
  std::string item;
  component::FuncTypePtr type;
  component::FuncLayout layout;  // layout.lower: the core signature the guest calls
  component::CanonOptions options;
  std::optional<Source> memory, realloc;
  component::HostFunction fn;
};

// canon resource.new / rep / drop.
struct Builtin {
  component::CoreItemDef::Kind kind = component::CoreItemDef::Kind::ResourceNew;
  component::ResourceId resource = 0;
  std::optional<Source> dtor;                 // defined resource with a destructor
  component::HostResourceDrop host_drop;      // imported (host) resource
};

// A canon lift the component exports.
struct Lifted {
  component::FuncTypePtr type;
  component::FuncLayout layout;
  component::CanonOptions options;
  Source core;
  std::optional<Source> memory, realloc, post_return;
};

struct CoreInstancePlan {
  bool instantiate = false;  // false: an inline-export instance (nothing to run)
  uint32_t module = 0;
  std::vector<Source> links;  // one per import of the module, in order
};

struct LoadedComponent::Impl {
  std::shared_ptr<const component::Component> model;
  component::HostProvider* host = nullptr;
  uint32_t max_core_instances = 0;
  std::vector<std::shared_ptr<engine::Module>> modules;
  std::vector<CoreInstancePlan> core_instances;
  std::vector<Lowered> lowered;
  std::vector<Builtin> builtins;
  std::vector<Lifted> lifted;          // parallel to exports
  std::vector<ExportedFunc> exports;
  std::vector<component::ResourceId> implemented;
};
using Plan = LoadedComponent::Impl;

class InstanceImage {
 public:
  const LoadedComponent* component = nullptr;  // the one it was captured from (or loaded for)
  std::vector<std::shared_ptr<engine::Snapshot>> core;  // per core instance; null: inline exports
  // The handles the instance held (own, lent to nobody) and the host
  // resources behind them (stdio streams), remade at the same indices and
  // reps so guest memory that names them stays true.
  component::HandleTable handles;
  std::shared_ptr<const component::HostResourcesImage> host_resources;
  // An own_copy(): the image it copies, kept alive so that the instances
  // restored from it (their core snapshots) are still recognised.
  std::shared_ptr<const InstanceImage> copy_of;
};

// Restores `image` once and checks that every pointer a core instance holds
// to another (its link table, imported memories, tables and globals) is the
// one the component's links give: an image read from a file must not point
// one instance at another's fields (image_file.cpp).
Result<void> check_image_links(std::shared_ptr<const LoadedComponent> component,
                               std::shared_ptr<const InstanceImage> image);

}  // namespace wink::linker
