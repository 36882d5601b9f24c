// kill -9 during deploys: a child process (this test binary, re-executed)
// deploys two versions of one app back to back, forever; the test kills it at
// many moments, then restarts the node on the same data dir each time: one of
// the two versions serves, complete, and nothing half-written is left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "node_test_util.h"
#include "support/wink_process.h"

namespace wink::node::test {
namespace {

constexpr const char* kChildEnv = "WINK_NODE_CRASH_CHILD";

// The child's body: deploys "a" and "b" in turn until killed.
TEST(NodeCrash, ChildDeployLoop) {
  const char* dir = std::getenv(kChildEnv);
  if (!dir) GTEST_SKIP() << "runs only as the child of KillNineDuringDeploy";
  auto reg = Registry::open(quiet_config(dir));
  if (!reg.ok()) ::_exit(2);
  std::printf("ready\n");
  std::fflush(stdout);
  for (uint64_t n = 0;; ++n) (void)(*reg)->deploy(app_bundle("app", n % 2 ? "a" : "b"), {}, {});
}

TEST(NodeCrash, KillNineDuringDeployLeavesOldOrNewServing) {
  auto data = data_dir_with_shared_cache("crash");
  const Bundle a = app_bundle("app", "a"), b = app_bundle("app", "b");
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->deploy(a, {}, {}).ok());
  }
  uint64_t last_version = 1;
  int switched = 0;
  for (int round = 0; round < 16; ++round) {
    auto child = wink::test::Process::spawn({"/proc/self/exe", "--gtest_filter=NodeCrash.ChildDeployLoop"},
                                            {.env = {std::string(kChildEnv) + "=" + data.string()}});
    ASSERT_TRUE(child);
    ASSERT_TRUE(child->wait_for_output("ready\n", std::chrono::seconds(60))) << "child did not start: " << child->out();
    // Kill at a different moment of the deploy loop each round (a deploy takes ~10 ms).
    std::this_thread::sleep_for(std::chrono::microseconds(2300 * round + 137 * (round % 5)));
    ::kill(child->pid(), SIGKILL);
    ASSERT_LT(child->wait(), 0) << "round " << round << ": not killed by the signal";

    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    auto info = (*reg)->get("app");
    ASSERT_TRUE(info.ok()) << "round " << round << ": the app is gone";
    EXPECT_EQ(info->state, "serving") << info->last_error;
    EXPECT_GE(info->version, last_version);
    switched += info->version > last_version;
    last_version = info->version;
    Ingress in(**reg);
    auto r = in.get("app.localhost");
    ASSERT_EQ(r.status, 200) << "round " << round;
    EXPECT_TRUE(r.body == "version=a\n" || r.body == "version=b\n") << r.body;
    // The serving files are complete: the bundle it says, byte for byte.
    const Bundle& expect = r.body == "version=a\n" ? a : b;
    EXPECT_EQ(info->digest, bundle_digest(expect));
    const fs::path dir = data / "apps" / "app" / info->digest;
    for (const auto& f : expect.files) {
      auto got = read_text_file(dir / f.path);
      ASSERT_TRUE(got.ok()) << f.path;
      EXPECT_EQ(*got, f.bytes) << f.path;
    }
    // Nothing else left: no staging, no other version.
    size_t dirs = 0;
    for (auto& d : fs::directory_iterator(data / "apps" / "app")) dirs += d.is_directory();
    EXPECT_EQ(dirs, 1u);
    EXPECT_TRUE(!fs::exists(data / "apps" / ".staging") || fs::is_empty(data / "apps" / ".staging"));
  }
  EXPECT_GE(switched, 3) << "the kills should land after some switches too";
  std::printf("%d of 16 restarts found a newer version\n", switched);
  fs::remove_all(data);
}

}  // namespace
}  // namespace wink::node::test
