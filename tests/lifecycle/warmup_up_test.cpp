// Warm-up requests (manifest `warmup`) through `wink up` and real HTTP: the
// requests are served to the instance after init and before the start
// snapshot, so the first real request (and every instance started later,
// after a standby too) finds what they built. The guest says so itself:
// "served=3 built_by=1 seen= / /search?q=x /hello".
#include <gtest/gtest.h>

#include <thread>

#include "support/wink_up.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string manifest(const std::string& extra, const std::string& executor = "reactor") {
  return R"([app]
name = "warm"

[[route]]
path = "/..."
component = "w"

[component.w]
source = ")" + guest_wasm("life_warm").string() + R"("
executor = ")" + executor + R"("
init = "_initialize"
idle_timeout = "20ms"
stateful = false
)" + extra;
}

TEST(WarmupUp, FirstRequestIsServedFromWarmedState) {
  auto dir = scratch_dir("warmup-up");
  const std::string data_dir = (dir / "data").string();
  {
    SCOPED_TRACE("without warmup: the first real request builds the cache");
    WinkUp up;
    ASSERT_TRUE(up.start(dir / "cold", manifest(""), {"--data-dir", data_dir})) << up.output();
    HttpResponse r = up.get("/hello");
    ASSERT_EQ(r.status, 200) << up.output();
    EXPECT_NE(r.body.find("served=1 built_by=1 "), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("seen= /hello\n"), std::string::npos) << r.body;
    EXPECT_EQ(up.stop(), 0) << up.output();
  }
  for (const char* how : {"snapshot built", "snapshot loaded from the data directory"}) {
    SCOPED_TRACE(how);
    WinkUp up;
    ASSERT_TRUE(up.start(dir / "warm", manifest("warmup = [\"/\", \"/search?q=x\"]\n"), {"--data-dir", data_dir}))
        << up.output();
    HttpResponse r = up.get("/hello");
    ASSERT_EQ(r.status, 200) << up.output();
    // Two warm-up requests came first, with their own path and query; the
    // first of them built the cache.
    EXPECT_NE(r.body.find("served=3 built_by=1 "), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("seen= / /search?q=x /hello\n"), std::string::npos) << r.body;
    // Stateless: after a standby the next instance starts from the warmed
    // snapshot again, not from the first real request's state.
    bool woken = false;
    for (int i = 0; i < 50 && !woken; ++i) {
      std::this_thread::sleep_for(milliseconds(100));
      r = up.get("/again");
      const std::string timing = r.header("Server-Timing");
      const size_t at = timing.find("wake;dur=");
      woken = at != std::string::npos && std::atof(timing.c_str() + at + 9) > 0;
      if (woken) {
        EXPECT_NE(r.body.find("served=3 built_by=1 "), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("seen= / /search?q=x /again\n"), std::string::npos) << r.body;
      }
    }
    EXPECT_TRUE(woken) << "no request after an idle pause was served by a new instance";
    EXPECT_EQ(up.stop(), 0) << up.output();
  }
  fs::remove_all(dir);
}

TEST(WarmupUp, AWarmupRequestThatTrapsStopsTheDeployWithItsTarget) {
  auto dir = scratch_dir("warmup-trap");
  WinkUp up;
  EXPECT_FALSE(up.start(dir / "app", manifest("warmup = [\"/ok\", \"/trap\"]\n"),
                        {"--data-dir", (dir / "data").string()}));
  EXPECT_TRUE(up.exited());
  EXPECT_NE(up.output().find("warm-up request 2 `/trap` trapped"), std::string::npos) << up.output();
  fs::remove_all(dir);
}

TEST(WarmupUp, ManifestErrorsNameTheEntryAndItsPosition) {
  auto dir = scratch_dir("warmup-bad");
  struct Case {
    std::string extra, executor, expect;
  };
  const std::vector<Case> cases = {
      {"warmup = [\"search\"]\n", "reactor", "wink.toml:14:11: component.w.warmup: \"search\" must start with '/'"},
      {"warmup = [\"/a b\"]\n", "reactor", "wink.toml:14:11: component.w.warmup: \"/a b\" must be visible ASCII"},
      {"warmup = [\"/x#frag\"]\n", "reactor", "must not contain '#'"},
      {"warmup = [\"/\", 3]\n", "reactor", "wink.toml:14:16: component.w.warmup: expected a request target string, got integer"},
      {"warmup = \"/\"\n", "reactor", "wink.toml:14:10: component.w.warmup: expected an array of request targets"},
      {"warmup = [\"/\"]\n", "wagi", "warm-up requests need a long-lived instance (executor = \"reactor\")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.extra);
    WinkUp up;
    EXPECT_FALSE(up.start(dir / "app", manifest(c.extra, c.executor), {"--data-dir", (dir / "data").string()}));
    EXPECT_NE(up.output().find(c.expect), std::string::npos) << up.output();
  }
  // A target routed to another component (or to none) is refused with its position.
  std::string two = manifest("warmup = [\"/other/x\", \"/w/y\"]\n");
  two.replace(two.find("path = \"/...\""), 13, "path = \"/w/...\"");
  two += "\n[[route]]\npath = \"/other/...\"\ncomponent = \"o\"\n\n[component.o]\nsource = \"" +
         guest_wasm("life_warm").string() + "\"\nexecutor = \"reactor\"\n";
  {
    WinkUp up;
    EXPECT_FALSE(up.start(dir / "app2", two, {"--data-dir", (dir / "data").string()}));
    EXPECT_NE(up.output().find("wink.toml:14:11: component.w.warmup: \"/other/x\" is routed to component \"o\", not to \"w\""),
              std::string::npos)
        << up.output();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
