// Function references kept in globals across a snapshot, through `wink up`
// and real HTTP: a WAGI component whose init stores funcrefs (to its own
// function and to an imported host function) in globals, with the snapshot
// built in-process and then loaded from disk; and a stateful reactor whose
// funcref global changes between requests, across standby and wake. Each
// reference must come back bound to the new instance (and the new request's
// WASI context), never to the instance it was captured from.
#include <gtest/gtest.h>

#include <thread>

#include "support/wink_up.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(FuncrefGlobalUp, WagiSnapshotBuiltInProcessThenLoadedFromDisk) {
  auto dir = scratch_dir("funcref-wagi");
  const std::string manifest = R"([app]
name = "funcref"

[[route]]
path = "/..."
component = "fg"

[component.fg]
source = ")" + guest_wasm("snap_funcref_global").string() + R"("
init = "wizer.initialize"
)";
  const std::string data_dir = (dir / "data").string();
  for (const char* how : {"snapshot built", "snapshot loaded"}) {
    SCOPED_TRACE(how);
    WinkUp up;
    ASSERT_TRUE(up.start(dir / "app", manifest, {"--data-dir", data_dir})) << up.output();
    EXPECT_NE(up.output().find(how), std::string::npos) << up.output();
    for (int i = 0; i < 3; ++i) {
      HttpResponse r = up.get("/x");
      ASSERT_EQ(r.status, 200) << "server: " << (up.exited() ? up.status() : "running") << "\n" << up.output();
      EXPECT_EQ(r.body, "v=42\n");
    }
    EXPECT_EQ(up.stop(), 0) << up.output();
  }
  fs::remove_all(dir);
}

TEST(FuncrefGlobalUp, ReactorStandbyAndWakeRebindFuncrefGlobals) {
  auto dir = scratch_dir("funcref-reactor");
  const std::string manifest = R"([app]
name = "funcref"

[[route]]
path = "/..."
component = "fr"

[component.fr]
source = ")" + guest_wasm("life_funcref_global").string() + R"("
executor = "reactor"
idle_timeout = "20ms"
stateful = true
)";
  const std::string data_dir = (dir / "data").string();
  for (int run = 0; run < 2; ++run) {  // start snapshot built, then loaded from disk
    SCOPED_TRACE(run == 0 ? "start snapshot built" : "start snapshot loaded");
    WinkUp up;
    ASSERT_TRUE(up.start(dir / "app", manifest, {"--data-dir", data_dir})) << up.output();
    HttpResponse r = up.get("/");
    ASSERT_EQ(r.status, 200) << "server: " << (up.exited() ? up.status() : "running") << "\n" << up.output();
    EXPECT_EQ(r.body, "v=42 count=1\n");
    // Idle well past idle_timeout: standby captures the instance ($g now
    // $second); the wake shows in Server-Timing.
    std::this_thread::sleep_for(milliseconds(600));
    r = up.get("/");
    ASSERT_EQ(r.status, 200) << "server: " << (up.exited() ? up.status() : "running") << "\n" << up.output();
    EXPECT_EQ(r.body, "v=07 count=2\n") << "woken from standby";
    EXPECT_NE(r.header("Server-Timing").find("wake"), std::string::npos) << r.header("Server-Timing");
    EXPECT_EQ(up.stop(), 0) << up.output();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
