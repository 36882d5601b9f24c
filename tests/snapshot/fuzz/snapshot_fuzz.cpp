// libFuzzer target for the snapshot file loader (Snapshot::load) and the
// restore of what it accepts (Snapshot::instantiate). A snapshot file is
// checksummed, so mutated bytes would almost never get past the header: the
// target reseals each input first. It copies in this module's identity
// (engine version, module hash, init options key) and recomputes the header
// and metadata checksums; the section offsets and sizes, the metadata and
// the memory data (and its checksum) are the fuzzer's. The loader must then
// refuse or accept without crashing, reading outside the file or allocating
// without bound, and an accepted snapshot must restore or be refused.
//
// The artifact id is NOT copied in: function references in a snapshot are
// offsets into the artifact it was taken on, and only a file made on this
// very artifact may hold them. A seed made by another build (another C
// compiler, the sanitized build) is refused as stale, as it must be; so that
// the fuzzer still gets deep, the initializer writes a snapshot of this
// build's artifact as a seed (this-build.snap in WINK_SNAPSHOT_FUZZ_SEED_DIR,
// a corpus directory of the build tree that ctest and scripts/fuzz.sh pass).
//
// The header layout mirrors src/engine/snapshot.cpp (FileHeader); the
// initializer checks it against a file the engine wrote and aborts when they
// disagree, so a format change shows up at once instead of a fuzzer that
// quietly stops getting past the header.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/hash.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "host/reactor.h"
#include "wasi/wasi.h"

namespace {

namespace fs = std::filesystem;
using namespace wink;

struct FileHeader {  // as in snapshot.cpp
  char magic[8];
  uint32_t format_version;
  uint32_t header_bytes;
  char engine_version[48];
  char module_hash[72];
  char artifact_id[96];
  char spec_key[72];
  uint64_t meta_offset, meta_bytes;
  uint64_t data_offset, data_bytes;
  uint8_t meta_sha256[32];
  uint8_t data_sha256[32];
  uint8_t header_sha256[32];
};
constexpr size_t kHeaderBytes = 4096;

struct Fixture {
  std::shared_ptr<engine::Module> module;
  engine::InitSpec spec;
  FileHeader identity{};
  std::shared_ptr<const wasi::Prepared> wasi;
  fs::path file;
};
Fixture* fixture = nullptr;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "snapshot_fuzz: %s\n", why.c_str());
  std::abort();
}

void sha256_raw(const uint8_t* data, size_t size, uint8_t out[32]) {
  std::string hex = Sha256().update(std::span<const uint8_t>(data, size)).hex();
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
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
  config.compile.opt_level = 1;
  static engine::Engine engine(config);
  auto module = engine.load_file(fs::path(WINK_GUEST_DIR) / "snap_funcref_global.wasm");
  if (!module.ok()) die(module.error().message);
  fixture->module = *module;
  auto snap = engine::Snapshot::create(fixture->module, fixture->spec);
  if (!snap.ok()) die(snap.error().message);
  fixture->file = fs::temp_directory_path() / ("wink-snapshot-fuzz-" + std::to_string(::getpid()) + ".snap");
  if (auto w = (*snap)->write(fixture->file); !w.ok()) die(w.error().message);
  // Each (forked) fuzzing process has its own file: it goes when the process does.
  std::atexit([] {
    std::error_code ignored;
    fs::remove(fixture->file, ignored);
  });
  std::vector<uint8_t> real = read_all(fixture->file);
  if (real.size() < kHeaderBytes) die("the engine wrote a snapshot without a header");
  std::memcpy(&fixture->identity, real.data(), sizeof(FileHeader));
  // The mirror must describe what the engine writes.
  FileHeader& h = fixture->identity;
  if (std::memcmp(h.magic, "WINKSNAP", 8) != 0 || h.meta_offset != kHeaderBytes ||
      h.data_offset + h.data_bytes != real.size()) {
    die("FileHeader here no longer matches src/engine/snapshot.cpp");
  }
  if (h.artifact_id[0] == 0) die("the engine wrote a snapshot without an artifact id");
  // The seed must get past every check of the loader, or the fuzzer stays shallow.
  if (auto back = engine::Snapshot::load(fixture->file, fixture->module, fixture->spec); !back.ok()) {
    die("this build's own snapshot does not load: " + back.error().message);
  }
  // This build's seed (see the top), written whole or not at all: forked
  // fuzzer processes each write it while others may read the directory.
  const char* seed_dir = std::getenv("WINK_SNAPSHOT_FUZZ_SEED_DIR");
  const fs::path seeds = seed_dir ? seed_dir : WINK_SNAPSHOT_FUZZ_SEED_DIR;
  std::error_code ec;
  fs::create_directories(seeds, ec);
  const fs::path tmp = seeds / ("this-build.snap.tmp." + std::to_string(::getpid()));
  fs::copy_file(fixture->file, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, seeds / "this-build.snap", ec);
  if (ec) die("cannot write the seed in " + seeds.string() + ": " + ec.message());
  fixture->wasi = *wasi::Prepared::create({});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> file(data, data + size);
  if (file.size() >= sizeof(FileHeader)) {
    FileHeader h;
    std::memcpy(&h, file.data(), sizeof h);
    std::memcpy(h.engine_version, fixture->identity.engine_version, sizeof h.engine_version);
    std::memcpy(h.module_hash, fixture->identity.module_hash, sizeof h.module_hash);
    std::memcpy(h.spec_key, fixture->identity.spec_key, sizeof h.spec_key);
    if (h.meta_offset <= file.size() && h.meta_bytes <= file.size() - h.meta_offset) {
      sha256_raw(file.data() + h.meta_offset, h.meta_bytes, h.meta_sha256);
    }
    std::memset(h.header_sha256, 0, sizeof h.header_sha256);
    sha256_raw(reinterpret_cast<const uint8_t*>(&h), sizeof h, h.header_sha256);
    std::memcpy(file.data(), &h, sizeof h);
  }
  {
    std::ofstream out(fixture->file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  auto snap = engine::Snapshot::load(fixture->file, fixture->module, fixture->spec);
  if (!snap.ok()) return 0;
  std::string out;
  wasi::Stdio so{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
  wasi::Context ctx(fixture->wasi, nullptr, &so, nullptr);
  host::ReactorContext reactor;
  runtime::HostModule* hosts[] = {&ctx, &reactor};
  engine::InstanceLimits limits;
  limits.max_memory_pages = 256;
  auto inst = (*snap)->instantiate(hosts, limits);
  if (inst.ok()) (void)(*inst)->run_start();
  return 0;
}
