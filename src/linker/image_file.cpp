// Instance images in files: the core instances' linked snapshots through
// engine::Snapshot::write_linked_file / read_linked_file (one framing and
// one set of checks with module snapshots), plus what the linker keeps of
// an instance besides them: its handle table and its host resources.
#include <dlfcn.h>

#include "common/hash.h"
#include "engine/artifact_id.h"
#include "linker/linker.h"
#include "linker/plan.h"

namespace wink::linker {

namespace fs = std::filesystem;

namespace {

// The code an image points into: every core module's artifact, in order.
Result<engine::Snapshot::LinkedFileKey> file_key(const Plan& plan, const ImageFileKey& key) {
  Sha256 code;
  for (const auto& m : plan.modules) {
    const std::string id = engine::artifact_id(*m);
    if (id.empty()) return make_error("cannot identify the artifact of a core module (" + m->path().string() + ")");
    code.update(id).update("\n");
  }
  if (key.component.size() != 64 || key.spec.size() != 64) return make_error("internal error: image file key");
  return engine::Snapshot::LinkedFileKey{key.component, code.hex(), key.spec};
}

}  // namespace

Result<fs::path> image_path_for(const LoadedComponent& component, const ImageFileKey& key,
                                const fs::path& data_dir) {
  WINK_ASSIGN_OR_RETURN(auto k, file_key(component.impl(), key));
  return data_dir / "snapshots" /
         (k.component.substr(0, 32) + "-" + k.code.substr(0, 16) + "-" + k.spec.substr(0, 32) + ".cimg");
}

Result<void> save_image(const LoadedComponent& component, const InstanceImage& image, const fs::path& file,
                        const ImageFileKey& key) {
  if (image.component != &component) return make_error("internal error: the instance image is another component's");
  const Plan& plan = component.impl();
  WINK_ASSIGN_OR_RETURN(auto k, file_key(plan, key));
  ByteWriter extra;
  image.handles.save(extra);
  extra.u8(image.host_resources ? 1 : 0);
  if (image.host_resources) image.host_resources->save(extra);
  return engine::Snapshot::write_linked_file(file, k, image.core, plan.modules, extra.out);
}

Result<std::shared_ptr<const InstanceImage>> load_image(std::shared_ptr<const LoadedComponent> component,
                                                        const fs::path& file, const ImageFileKey& key) {
  const Plan& plan = component->impl();
  WINK_ASSIGN_OR_RETURN(auto k, file_key(plan, key));
  engine::Snapshot::LinkedLayout layout;
  for (const CoreInstancePlan& ip : plan.core_instances) {
    if (!ip.instantiate) {
      layout.core_module.push_back(-1);
      layout.range_sizes.insert(layout.range_sizes.end(), {0, 0});
      continue;
    }
    layout.core_module.push_back(ip.module);
    layout.range_sizes.push_back(plan.modules[ip.module]->abi().instance_size);
    layout.range_sizes.push_back((ip.links.size() + 1) * sizeof(wink_link_slot_t));
  }
  std::vector<uint8_t> extra;
  WINK_ASSIGN_OR_RETURN(auto core, engine::Snapshot::read_linked_file(file, k, plan.modules, layout, &extra));
  auto image = std::make_shared<InstanceImage>();
  image->component = component.get();
  image->core = std::move(core);
  ByteReader r{extra};
  auto handles = component::HandleTable::read(r);
  if (!handles.ok()) return make_error("damaged component image (" + handles.error().message + ")");
  image->handles = std::move(*handles);
  if (r.u8()) {
    auto resources = plan.host->read_resources(r);
    if (!resources.ok()) return make_error("damaged component image (" + resources.error().message + ")");
    image->host_resources = std::move(*resources);
  }
  if (!r.done()) return make_error("damaged component image (the linker's part does not parse)");
  std::shared_ptr<const InstanceImage> loaded = std::move(image);
  if (auto links = check_image_links(component, loaded); !links.ok()) {
    return make_error("unusable component image: " + links.error().message);
  }
  return loaded;
}

}  // namespace wink::linker
