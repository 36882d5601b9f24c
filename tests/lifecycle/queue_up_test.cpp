// A reactor component's request queue through `wink up` over real HTTP: with
// its one instance busy and its one queue place taken, the next request is
// refused at once with 429 and Retry-After; the queued one gives up after
// queue_timeout with 503 and Retry-After (docs/operations.md, "Waking").
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "support/wink_up.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(LifecycleQueueUp, FullQueueIs429AndTimedOutWaitIs503BothWithRetryAfter) {
  const fs::path dir = fs::temp_directory_path() / ("wink-queue-up-" + std::to_string(::getpid()));
  test::WinkUp up;
  ASSERT_TRUE(up.start(dir, "[app]\nname = \"queue\"\n"
                            "[[route]]\npath = \"/...\"\ncomponent = \"c\"\n"
                            "[component.c]\nsource = \"" +
                                (fs::path(WINK_GUEST_DIR) / "life_state.wasm").string() +
                                "\"\nexecutor = \"reactor\"\nmax_instances = 1\nqueue = 1\n"
                                "queue_timeout = \"400ms\"\nidle_timeout = \"2s\"\n"))
      << up.output();
  ASSERT_EQ(up.get("/").status, 200);  // the instance exists and is idle

  // The instance is busy for 900 ms; the next request takes the queue place.
  auto busy = std::async(std::launch::async, [port = up.port()] { return test::http_request(port, "GET", "/?sleep=900"); });
  std::this_thread::sleep_for(milliseconds(150));
  auto queued = std::async(std::launch::async, [port = up.port()] { return test::http_request(port, "GET", "/"); });
  std::this_thread::sleep_for(milliseconds(100));

  test::HttpResponse full = up.get("/");
  EXPECT_EQ(full.status, 429) << full.body;
  // Retry-After is the idle timeout in seconds (at least 1): when a place
  // is likely to be free again.
  EXPECT_EQ(full.header("Retry-After"), "2");

  test::HttpResponse timed_out = queued.get();
  EXPECT_EQ(timed_out.status, 503) << timed_out.body;
  EXPECT_EQ(timed_out.header("Retry-After"), "2");
  EXPECT_EQ(busy.get().status, 200);
  // Refusals do not break the component: it serves again once free.
  EXPECT_EQ(up.get("/").status, 200);
  EXPECT_EQ(up.stop(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::lifecycle
