// What a snapshot will not take on trust. (1) An instance field it does not
// know is never treated as plain data: an artifact whose descriptor lists a
// field the compiler could not classify (WINK_FIELD_UNKNOWN) or a kind this
// engine does not know is refused when the snapshot is created or loaded,
// with the field's C declaration in the message (hand-written descriptors
// built with the system C compiler, since wink's own compiler never emits
// such fields today). (2) A function reference to a host function resolves
// only through wink's own import table and the module's imports: a snapshot
// file (checksums recomputed, as anyone able to write the file could) naming
// a libc function or a wink import the module does not use is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <span>
#include <filesystem>
#include <fstream>

#include "common/hash.h"
#include "common/version.h"
#include "engine/engine.h"
#include "engine/snapshot.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;

// Builds a shared object with a wink_artifact descriptor listing one field
// of `kind` declared as `decl`; the instance has a `wizer.initialize` export.
fs::path build_artifact(const fs::path& dir, uint32_t kind, const std::string& decl) {
  std::string c = R"(#include <stddef.h>
#include "artifact_abi.h"
static void init_module(void) {}
static void instantiate(void* instance, void* const* imports) { (void)instance; (void)imports; }
static void free_instance(void* instance) { (void)instance; }
static wasm_rt_memory_t* memory(void* instance) { (void)instance; return NULL; }
static void init(void* instance, const uint64_t* a, uint64_t* r) { (void)instance; (void)a; (void)r; }
static const wink_export_t exports[] = {{"wizer.initialize", WINK_EXTERN_FUNC, "", "", init, NULL}};
static const wink_instance_field_t fields[] = {{)" + std::to_string(kind) + R"(, 0, 8, ")" + decl + R"("}};
static uint32_t type_ids[1];
__attribute__((visibility("default"))) const wink_artifact_t wink_artifact = {
  WINK_ARTIFACT_ABI, ")" + std::string(kEngineVersion) + R"(", "0000", "-O0", 64,
  init_module, instantiate, free_instance, memory, 0, NULL, 1, exports, 1, fields, 0, type_ids, 0, NULL};
)";
  fs::path src = dir / ("fields" + std::to_string(kind) + ".c");
  fs::path out = dir / ("fields" + std::to_string(kind) + ".so");
  std::ofstream(src) << c;
  std::string abi_dir = (fs::path(WINK_TEST_DATA_DIR).parent_path().parent_path() / "src/runtime").string();
  std::string cmd = "cc -shared -fPIC -fvisibility=hidden -I'" + abi_dir + "' '" + src.string() + "' -o '" +
                    out.string() + "' 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return out;
}

TEST(SnapshotFieldKinds, FieldsNotOnTheListAreRefusedWithTheirDeclaration) {
  fs::path dir = fs::temp_directory_path() / ("wink-field-kinds-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Case {
    uint32_t kind;
    std::string decl, expect;
  } cases[] = {
      {WINK_FIELD_UNKNOWN, "struct mystery w2c_x;", "cannot capture"},
      {99, "future_t w2c_y;", "unknown to this wink"},
      {WINK_FIELD_IMPORTED_OBJECT, "u32* w2c_imported;", "only function imports"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.decl);
    auto module = engine::Module::load(build_artifact(dir, c.kind, c.decl));
    ASSERT_TRUE(module.ok()) << module.error().message;
    engine::InitSpec spec;
    auto made = engine::Snapshot::create(*module, spec);
    ASSERT_FALSE(made.ok());
    EXPECT_NE(made.error().message.find(c.decl), std::string::npos) << made.error().message;
    EXPECT_NE(made.error().message.find(c.expect), std::string::npos) << made.error().message;
    // Loading a file is refused for the same reason, before the file is read.
    auto loaded = engine::Snapshot::load(dir / "none.snap", *module, spec);
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.error().message.find(c.decl), std::string::npos) << loaded.error().message;
  }
  fs::remove_all(dir);
}

// The snapshot file header (docs/snapshots.md, "File format"): where the
// metadata checksum and the header's own checksum live.
// Format 3 (artifact id after the module hash).
constexpr size_t kMetaOffsetAt = 304, kMetaBytesAt = 312, kMetaShaAt = 336, kHeaderShaAt = 400,
                 kHeaderStructBytes = 432;

void put_sha256(std::span<const uint8_t> bytes, uint8_t* out) {
  std::string hex = Sha256().update(bytes).hex();
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
}

// Replaces `from` by `to` (same length) in the metadata and fixes the checksums.
bool tamper(const fs::path& file, const std::string& from, const std::string& to) {
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), {});
  uint64_t meta_off, meta_len;
  std::memcpy(&meta_off, b.data() + kMetaOffsetAt, 8);
  std::memcpy(&meta_len, b.data() + kMetaBytesAt, 8);
  auto begin = b.begin() + static_cast<long>(meta_off), end = begin + static_cast<long>(meta_len);
  auto hit = std::search(begin, end, from.begin(), from.end());
  if (hit == end || from.size() != to.size()) return false;
  std::copy(to.begin(), to.end(), hit);
  put_sha256(std::span<const uint8_t>(b.data() + meta_off, meta_len), b.data() + kMetaShaAt);
  std::memset(b.data() + kHeaderShaAt, 0, 32);
  uint8_t sum[32];
  put_sha256(std::span<const uint8_t>(b.data(), kHeaderStructBytes), sum);
  std::memcpy(b.data() + kHeaderShaAt, sum, 32);
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(b.data()),
                                                                 static_cast<std::streamsize>(b.size()));
  return true;
}

TEST(SnapshotHostFunctions, OnlyWinksOwnImportsTheModuleUsesAreResolved) {
  fs::path dir = fs::temp_directory_path() / ("wink-host-funcs-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  engine::EngineConfig config;
  config.data_dir = fs::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data";
  engine::Engine engine(config);
  // Its init stores a reference to the imported fd_write in a global.
  auto module = engine.load_file(fs::path(WINK_GUEST_DIR) / "snap_funcref_global.wasm");
  ASSERT_TRUE(module.ok()) << module.error().message;
  engine::InitSpec spec;
  auto snap = engine::Snapshot::create(*module, spec);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  const fs::path file = dir / "s.snap";
  ASSERT_TRUE((*snap)->write(file).ok());
  auto good = engine::Snapshot::load(file, *module, spec);
  ASSERT_TRUE(good.ok()) << good.error().message;

  // A libc function, which a lookup in the whole process would find.
  ASSERT_TRUE(fs::copy_file(file, dir / "libc.snap"));
  ASSERT_TRUE(tamper(dir / "libc.snap", "fd_write", "snprintf"));
  auto libc = engine::Snapshot::load(dir / "libc.snap", *module, spec);
  ASSERT_FALSE(libc.ok());
  EXPECT_NE(libc.error().message.find("snprintf, which wink does not provide"), std::string::npos)
      << libc.error().message;

  // A wink import the module does not import.
  ASSERT_TRUE(fs::copy_file(file, dir / "other.snap"));
  ASSERT_TRUE(tamper(dir / "other.snap", "fd_write", "fd_close"));
  auto other = engine::Snapshot::load(dir / "other.snap", *module, spec);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("fd_close, which the module does not import"), std::string::npos)
      << other.error().message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
