// A snapshot never treats an instance field it does not know as plain data:
// an artifact whose descriptor lists a field the compiler could not classify
// (WINK_FIELD_UNKNOWN) or a kind this engine does not know is refused when
// the snapshot is created or loaded, with the field's C declaration in the
// message. The artifacts here are hand-written descriptors built with the
// system C compiler, since wink's own compiler never emits such fields today.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
  std::string abi_dir = (fs::path(WINK_TEST_DATA_DIR).parent_path().parent_path() / "src/engine").string();
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

}  // namespace
}  // namespace wink::test
