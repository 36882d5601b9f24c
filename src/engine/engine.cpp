#include "engine/engine.h"

#include <cstring>

#include "common/files.h"
#include "common/hash.h"
#include "host/host.h"
#include "host/reactor.h"
#include "wasi/wasi.h"

namespace wink::engine {

Engine::Engine(EngineConfig config)
    : config_(std::move(config)), cache_(config_.data_dir / "artifacts") {
  config_.compile.host_imports = host_imports();
}

std::vector<runtime::HostImport> Engine::host_imports() {
  std::vector<runtime::HostImport> all;
  for (const auto& h : wasi::host_imports()) all.push_back(h);
  for (const auto& h : host::host_imports()) all.push_back(h);
  for (const auto& h : host::reactor_imports()) all.push_back(h);  // long-lived guests
  return all;
}

Result<std::shared_ptr<Module>> Engine::load_file(const std::filesystem::path& path, Tiering tiering) {
  WINK_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  static constexpr uint8_t kElf[4] = {0x7f, 'E', 'L', 'F'};
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), kElf, 4) == 0) {
    return Module::load(std::filesystem::absolute(path));
  }
  auto module = load_bytes(bytes, tiering);
  if (!module.ok()) return std::move(module).error().with_context(path.string());
  return module;
}

Result<std::shared_ptr<Module>> Engine::load_linked(std::span<const uint8_t> wasm, Tiering tiering) {
  compiler::Options linked = config_.compile;
  linked.link_imports = true;
  linked.host_imports.clear();  // imports are bound by the linker, not by name
  // Split like load_bytes: every componentize-js app of one world is the
  // same engine code with another Wizer heap, so they share one artifact.
  // Instance::create_raw writes the data right after the core instance's
  // generated instantiate (its own point in the component's order).
  return load_shared(wasm, linked, tiering);
}

Result<std::shared_ptr<Module>> Engine::load_bytes(std::span<const uint8_t> wasm, Tiering tiering) {
  return load_shared(wasm, config_.compile, tiering);
}

Result<std::shared_ptr<Module>> Engine::load_shared(std::span<const uint8_t> wasm, const compiler::Options& wanted,
                                                    Tiering tiering) {
  if (auto split = compiler::split_data(wasm)) {
    auto module = load_with(split->code, wanted, tiering);
    if (module.ok()) {
      (*module)->identity_ = Sha256().update((*module)->identity_).update(split->data->hash).hex();
      (*module)->data_ = std::move(split->data);
      return module;
    }
    // The code alone can be invalid where the whole module is not
    // (memory.init and data.drop need the data count section): then compile
    // the module whole. Any other failure is the module's own.
    if (compiler::check_module(split->code, wanted).ok()) return module;
  }
  return load_with(wasm, wanted, tiering);
}

Result<std::shared_ptr<Module>> Engine::load_with(std::span<const uint8_t> wasm, const compiler::Options& wanted,
                                                  Tiering tiering) {
  if (tiering != Tiering::kOptimized && config_.quick_tier_threshold && wanted.opt_level > 0 &&
      compiler::code_bytes(wasm) >= config_.quick_tier_threshold && !cache_.contains(wasm, wanted)) {
    if (tiering == Tiering::kQuickThenOptimized) {
      WINK_ASSIGN_OR_RETURN(auto tiered, cache_.get_tiered(wasm, wanted, config_.quick_tier_threshold));
      WINK_ASSIGN_OR_RETURN(auto module, Module::load(tiered.ready));
      if (!tiered.ready_is_optimized) {
        module->quick_tier_ = true;
        module->optimized_ = std::move(tiered.optimized);
        loaded_quick_tier_ = true;
      }
      return module;
    }
    compiler::Options quick = wanted;
    quick.opt_level = 0;
    WINK_ASSIGN_OR_RETURN(auto artifact, cache_.get(wasm, quick));
    loaded_quick_tier_ = true;
    WINK_ASSIGN_OR_RETURN(auto module, Module::load(artifact));
    module->quick_tier_ = true;
    return module;
  }
  WINK_ASSIGN_OR_RETURN(auto artifact, cache_.get(wasm, wanted));
  return Module::load(artifact);
}

}  // namespace wink::engine
