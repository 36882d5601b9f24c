#include <dlfcn.h>

#include <cstring>
#include <mutex>

#include "common/version.h"
#include "engine/engine.h"

namespace wink::engine {

Result<std::shared_ptr<Module>> Module::load(const std::filesystem::path& artifact) {
  // RTLD_NOW: a missing host import fails here, not in the middle of a request.
  void* handle = dlopen(artifact.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return make_error("cannot load artifact " + artifact.string() + ": " + (why ? why : "unknown"));
  }
  auto* abi = static_cast<const wink_artifact_t*>(dlsym(handle, "wink_artifact"));
  if (abi == nullptr) {
    dlclose(handle);
    return make_error(artifact.string() + " is not a wink artifact (no wink_artifact descriptor)");
  }
  if (abi->abi != WINK_ARTIFACT_ABI || abi->engine_version == nullptr ||
      std::strcmp(abi->engine_version, kEngineVersion) != 0) {
    std::string built = abi->engine_version ? abi->engine_version : "?";
    dlclose(handle);
    return make_error(artifact.string() + " was built by engine " + built + ", this wink is " +
                      kEngineVersion + ": recompile it with `wink compile`");
  }
  // init_module registers function types in the runtime's global registry;
  // the registry locks, and the generated code keeps the ids in statics of
  // this shared object, so once per load is right.
  abi->init_module();
  auto module = std::shared_ptr<Module>(new Module());
  module->handle_ = handle;
  module->abi_ = abi;
  module->path_ = artifact;
  module->identity_ = abi->module_hash ? abi->module_hash : "";
  module->start_ = module->find_export("_start");
  return module;
}

Module::~Module() {
  if (handle_) dlclose(handle_);
}

const wink_export_t* Module::find_export(std::string_view name) const {
  for (uint32_t i = 0; i < abi_->num_exports; ++i) {
    if (name == abi_->exports[i].name) return &abi_->exports[i];
  }
  return nullptr;
}

}  // namespace wink::engine
