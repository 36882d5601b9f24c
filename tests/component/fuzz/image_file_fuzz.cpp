// libFuzzer target for component image files (linker::load_image over
// engine::Snapshot::read_linked_file, the handle table and host resources
// readers) and the restore of what it accepts. Like snapshot_fuzz, each
// input is resealed first: the identity of this build's image (engine
// version, component hash, key) and the checksums are copied in, so mutated
// bytes get past the header to the structural checks. The code id is NOT
// copied in: function references are offsets into the code an image was
// taken on, and only a file made on this very code may hold them. So that
// the fuzzer gets deep, the initializer writes an image of this build as a
// seed (this-build.cimg in WINK_IMAGE_FUZZ_SEED_DIR). The loader must refuse
// or accept without crashing, reading outside the file or allocating
// without bound; an accepted image is restored and its memory and globals
// read (no function reference is called: a function offset inside the
// artifact is trusted as far as a module snapshot's is, docs/snapshots.md).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "component/image_file_format.h"
#include "component/state_component.h"
#include "component/test_host.h"
#include "linker/linker.h"

namespace {

namespace fs = std::filesystem;
using namespace wink;

struct Fixture {
  std::unique_ptr<engine::Engine> engine;
  component::testing::TestHost host;
  std::shared_ptr<const linker::LoadedComponent> component;
  linker::ImageFileKey key{std::string(64, 'a'), std::string(64, 'b')};
  test::ImageFileHeader identity{};
  fs::path file;
};
Fixture* fixture = nullptr;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "image_file_fuzz: %s\n", why.c_str());
  std::abort();
}

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture;
  engine::EngineConfig config;
  config.data_dir = WINK_TEST_CACHE_DIR;
  fixture->engine = std::make_unique<engine::Engine>(config);
  auto c = linker::load_component(*fixture->engine, component::testing::state_component(), fixture->host);
  if (!c.ok()) die(c.error().message);
  fixture->component = *c;
  auto inst = linker::instantiate(fixture->component);
  if (!inst.ok()) die(inst.error().message);
  auto image = linker::capture_image(**inst);
  if (!image.ok()) die(image.error().message);
  fixture->file = fs::temp_directory_path() / ("wink-image-fuzz-" + std::to_string(::getpid()) + ".cimg");
  if (auto w = linker::save_image(*fixture->component, **image, fixture->file, fixture->key); !w.ok()) {
    die(w.error().message);
  }
  // Each (forked) fuzzing process has its own file: it goes when the process does.
  std::atexit([] {
    std::error_code ignored;
    fs::remove(fixture->file, ignored);
  });
  std::vector<uint8_t> real = read_all(fixture->file);
  if (real.size() < 4096) die("the linker wrote an image without a header");
  std::memcpy(&fixture->identity, real.data(), sizeof(test::ImageFileHeader));
  if (std::memcmp(fixture->identity.magic, "WINKCIMG", 8) != 0 || fixture->identity.meta_offset != 4096 ||
      fixture->identity.data_offset + fixture->identity.data_bytes != real.size()) {
    die("ImageFileHeader no longer matches src/engine/snapshot.cpp");
  }
  if (auto back = linker::load_image(fixture->component, fixture->file, fixture->key); !back.ok()) {
    die("this build's own image does not load: " + back.error().message);
  }
  const char* seed_dir = std::getenv("WINK_IMAGE_FUZZ_SEED_DIR");
  const fs::path seeds = seed_dir ? seed_dir : WINK_IMAGE_FUZZ_SEED_DIR;
  std::error_code ec;
  fs::create_directories(seeds, ec);
  const fs::path tmp = seeds / ("this-build.cimg.tmp." + std::to_string(::getpid()));
  fs::copy_file(fixture->file, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, seeds / "this-build.cimg", ec);
  if (ec) die("cannot write the seed in " + seeds.string() + ": " + ec.message());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> file(data, data + size);
  if (file.size() >= sizeof(test::ImageFileHeader)) {
    test::ImageFileHeader h;
    std::memcpy(&h, file.data(), sizeof h);
    std::memcpy(h.engine_version, fixture->identity.engine_version, sizeof h.engine_version);
    std::memcpy(h.module_hash, fixture->identity.module_hash, sizeof h.module_hash);
    std::memcpy(h.spec_key, fixture->identity.spec_key, sizeof h.spec_key);
    std::memcpy(file.data(), &h, sizeof h);
    test::reseal_image_file(file);
  }
  {
    std::ofstream out(fixture->file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  auto image = linker::load_image(fixture->component, fixture->file, fixture->key);
  if (!image.ok()) return 0;
  engine::InstanceLimits limits;
  limits.max_memory_pages = 256;
  auto inst = linker::restore(fixture->component, *image, limits);
  if (!inst.ok()) return 0;
  (void)(*inst)->call("", "get-g", {});
  (void)(*inst)->call("", "peek", {component::Value::s(100)});
  (void)(*inst)->call("", "pages", {});
  return 0;
}
