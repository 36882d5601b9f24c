// A burst over real HTTP onto a reactor component at 0 instances, through
// `wink up`: 64 concurrent requests, each holding its instance, are all
// answered 200 by 64 newly started instances, each starting from the
// component's start state (no instance sees another's counter), with one
// "instance wake" log line per start; the next burst reuses those 64
// instances without starting any (docs/operations.md, "Waking").
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/wink_up.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
constexpr int kBurst = 64;

// kBurst requests sent at once (a new connection each); their responses.
std::vector<test::HttpResponse> burst(uint16_t port, const std::string& target) {
  std::vector<test::HttpResponse> out(kBurst);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int k = 0; k < kBurst; ++k) {
    threads.emplace_back([&, k] {
      while (!go.load()) std::this_thread::yield();
      out[k] = test::http_request(port, "GET", target);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  return out;
}

// The instance names of the "instance wake" lines in wink's log.
std::vector<std::string> woken(const std::string& log) {
  std::vector<std::string> names;
  for (size_t at = log.find("\"msg\":\"instance wake\""); at != std::string::npos;
       at = log.find("\"msg\":\"instance wake\"", at + 1)) {
    const std::string key = "\"instance\":\"";
    size_t from = log.find(key, at);
    if (from == std::string::npos) break;
    from += key.size();
    names.push_back(log.substr(from, log.find('"', from) - from));
  }
  return names;
}

TEST(LifecycleBurstUp, BurstOntoZeroInstancesStartsOneIsolatedInstancePerRequest) {
  const fs::path dir = fs::temp_directory_path() / ("wink-burst-up-" + std::to_string(::getpid()));
  test::WinkUp up;
  ASSERT_TRUE(up.start(dir, "[app]\nname = \"burst\"\n"
                            "[[route]]\npath = \"/...\"\ncomponent = \"c\"\n"
                            "[component.c]\nsource = \"" +
                                (fs::path(WINK_GUEST_DIR) / "life_state.wasm").string() +
                                "\"\nexecutor = \"reactor\"\nmin_instances = 0\nmax_instances = " +
                                std::to_string(kBurst) + "\nqueue = " + std::to_string(2 * kBurst) +
                                "\nqueue_timeout = \"30s\"\nidle_timeout = \"60s\"\nmemory_limit = \"8MiB\"\n",
                       {"--executors", std::to_string(kBurst), "--executors-per-component", std::to_string(kBurst)}))
      << up.output();
  ASSERT_TRUE(woken(up.output()).empty()) << up.output();

  // Each request holds its instance 600 ms, so the burst needs 64 instances.
  for (const auto& r : burst(up.port(), "/?sleep=600")) {
    ASSERT_EQ(r.status, 200) << r.body;
    // A new instance's counter starts from the start state: 1, never another instance's.
    EXPECT_EQ(r.header("X-Count"), "1") << r.body;
  }
  const std::vector<std::string> first = woken(up.output());
  EXPECT_EQ(first.size(), static_cast<size_t>(kBurst)) << up.output();
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), static_cast<size_t>(kBurst));

  // The same burst again: the 64 running instances serve it, each its second request.
  for (const auto& r : burst(up.port(), "/?sleep=600")) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("X-Count"), "2") << r.body;
  }
  EXPECT_EQ(woken(up.output()).size(), static_cast<size_t>(kBurst)) << "no instance started for the second burst";
  EXPECT_EQ(up.stop(), 0) << up.output();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::lifecycle
