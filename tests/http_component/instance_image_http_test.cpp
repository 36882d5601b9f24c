// Per-request component instances restored from the component's image
// (linker::capture_image, docs/components.md "Per-request instances") over
// real HTTP: nothing one request writes (a global, a data string, the heap,
// memory.grow) reaches the next; two apps that differ only in data each see
// their own; traps and deadlines answer 500 and 504 from restored instances
// as they did from fresh ones. The guests are tests/http_component/state_app.c
// built twice by the test build (clang, wasm-tools embed, jco new).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "support/wink_up.h"
#include "support/http_client.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef WINK_STATE_APPS
constexpr const char* kStateApps = WINK_STATE_APPS;
#else
constexpr const char* kStateApps = "";
#endif

// Two components, one per app data variant, routed under /one and /two.
class RestoredInstances : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!*kStateApps) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
    // A component this small holds less than kRestoreMinStoredBytes, so
    // wink would instantiate it: make it restore (what is tested).
    ::setenv("WINK_COMPONENT_RESTORE", "1", 1);
    dir_ = scratch_dir("instance-image");
    for (const char* name : {"state-one.wasm", "state-two.wasm"}) {
      fs::copy_file(fs::path(kStateApps) / name, dir_ / name, fs::copy_options::overwrite_existing);
    }
  }
  void TearDown() override { ::unsetenv("WINK_COMPONENT_RESTORE"); }
  std::string manifest(const std::string& extra = "") const {
    return "manifest_version = 1\n[app]\nname = \"state\"\n"
           "[component.one]\nsource = \"state-one.wasm\"\n" + extra +
           "[component.two]\nsource = \"state-two.wasm\"\n" + extra +
           "[[route]]\npath = \"/one/...\"\ncomponent = \"one\"\n"
           "[[route]]\npath = \"/two/...\"\ncomponent = \"two\"\n";
  }
  fs::path dir_;
};

int field(const std::string& body, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex(name + "=(\\d+)"))) return -1;
  return std::atoi(m[1].str().c_str());
}

TEST_F(RestoredInstances, NothingARequestWritesReachesTheNextOne) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest())) << up.output();
  EXPECT_TRUE(up.wait_for_output("\"mode\":\"restore\"", 5s)) << up.output();
  auto first = up.get("/one/");
  ASSERT_EQ(first.status, 200) << up.output();
  EXPECT_EQ(first.content().rfind("greeting=one counter=1000 ", 0), 0u) << first.content();
  EXPECT_NE(first.content().find("heap=fresh"), std::string::npos) << first.content();
  const int pages = field(first.content(), "pages");
  ASSERT_GT(pages, 0);
  for (int i = 0; i < 5; ++i) {  // each one wrote the counter, the string and the heap
    auto again = up.get("/one/");
    EXPECT_EQ(again.content(), first.content()) << "request " << i;
  }
  // memory.grow in one request: the next starts at the captured size.
  auto grown = up.get("/one/grow");
  EXPECT_EQ(field(grown.content(), "pages"), pages + 16) << grown.content();
  EXPECT_EQ(up.get("/one/").content(), first.content());
  up.stop();
}

TEST_F(RestoredInstances, AppsThatDifferOnlyInDataSeeTheirOwnState) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest())) << up.output();
  // Interleaved: neither image nor any restored page is shared between them.
  for (int i = 0; i < 3; ++i) {
    auto one = up.get("/one/");
    auto two = up.get("/two/");
    EXPECT_EQ(one.content().rfind("greeting=one counter=1000 ", 0), 0u) << one.content();
    EXPECT_EQ(two.content().rfind("greeting=two counter=1000 ", 0), 0u) << two.content();
  }
  up.stop();
}

TEST_F(RestoredInstances, TrapIs500AndDeadlineIs504AndTheNextRequestIsClean) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("deadline = \"1s\"\n"))) << up.output();
  auto clean = up.get("/one/");
  ASSERT_EQ(clean.status, 200) << up.output();
  EXPECT_EQ(up.get("/one/trap").status, 500);
  EXPECT_EQ(up.get("/one/").content(), clean.content());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(up.get("/one/loop").status, 504);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(up.get("/one/").content(), clean.content());
  up.stop();
}

TEST_F(RestoredInstances, MemoryLimitBelowTheImageIs500) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("memory_limit = \"64KiB\"\n"))) << up.output();
  EXPECT_EQ(up.get("/one/").status, 500);
  EXPECT_TRUE(up.wait_for_output("\"cause\":\"instantiate\"", 5s)) << up.output();
  up.stop();
}

TEST_F(RestoredInstances, SwitchedOffEveryRequestInstantiatesAndAnswersTheSame) {
  WinkUp on;
  ASSERT_TRUE(on.start(dir_, manifest())) << on.output();
  auto restored = on.get("/one/");
  on.stop();
  ::setenv("WINK_COMPONENT_RESTORE", "0", 1);
  WinkUp off;
  bool started = off.start(dir_, manifest());
  ASSERT_TRUE(started) << off.output();
  EXPECT_TRUE(off.wait_for_output("\"reason\":\"WINK_COMPONENT_RESTORE=0\"", 5s)) << off.output();
  EXPECT_EQ(off.get("/one/").content(), restored.content());
  off.stop();
}

}  // namespace
}  // namespace wink::test
