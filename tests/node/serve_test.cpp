// `wink serve` as an operator runs it: a node over a data dir that already
// holds apps serves each at its host after a restart, unknown hosts get 404,
// /metrics labels by app, SIGTERM stops it cleanly.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "node_test_util.h"
#include "support/wink_process.h"

namespace wink::node::test {
namespace {

using wink::test::Process;

// Starts wink with `args` (stderr discarded) and waits for its listening line.
std::unique_ptr<Process> start_wink(std::vector<std::string> args) {
  args.insert(args.begin(), WINK_BIN);
  auto p = Process::spawn(std::move(args), {.stderr_to = wink::test::SpawnOptions::Stderr::kDiscard});
  if (p) p->wait_listening(std::chrono::seconds(60));
  return p;
}

TEST(NodeServe, ServesTheAppsOfItsDataDirByHost) {
  auto data = data_dir_with_shared_cache("serve");
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "2", "hosts = [\"beta.example.com\"]\n"), {}, {}).ok());
  }
  const fs::path access_log = data / "access.log";
  auto wink = start_wink({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(),
                          "--domain", "node.test", "--access-log", access_log.string()});
  ASSERT_TRUE(wink && wink->port()) << (wink ? wink->out() : "");
  EXPECT_NE(wink->out().find("apps at http://<app>.node.test:"), std::string::npos) << wink->out();
  auto get = [&](const std::string& host, const std::string& target = "/") {
    return wink::test::http_request(wink->port(), "GET", target, {"Host: " + host});
  };
  EXPECT_EQ(get("alpha.node.test").body, "version=1\n");
  EXPECT_EQ(get("beta.node.test:80").body, "version=2\n");
  EXPECT_EQ(get("beta.example.com").body, "version=2\n");
  EXPECT_EQ(get("alpha.localhost").status, 404) << "the domain is --domain's";
  auto unknown = get("127.0.0.1");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "no app at this host\n");
  auto metrics = get("anything", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("app=\"alpha\""), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("app=\"beta\""), std::string::npos);
  auto traced = get("alpha.node.test");
  const std::string request_id = traced.header("X-Request-Id");
  EXPECT_FALSE(request_id.empty());
  EXPECT_EQ(wink->stop(), 0);
  // Each access log line says which app, version and request it was.
  std::ifstream in(access_log);
  std::string line, found;
  while (std::getline(in, line)) {
    if (line.find(request_id) != std::string::npos) found = line;
  }
  EXPECT_NE(found.find("\"app\":\"alpha\""), std::string::npos) << found;
  EXPECT_NE(found.find("\"version\":1"), std::string::npos) << found;
  EXPECT_NE(found.find("\"request_id\":\"" + request_id + "\""), std::string::npos) << found;

  auto bad = start_wink({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(), "--domain", "Bad_Domain"});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->port(), 0);
  EXPECT_EQ(bad->wait(), 1);
  fs::remove_all(data);
}

// One tenant cannot take the node: with every executor app A may use busy
// in long-running guests and its queue full, /healthz and app B answer at
// once, and A's next request is refused (503) instead of waiting.
TEST(NodeServe, ABusyAppStallsNeitherHealthzNorAnotherApp) {
  auto data = data_dir_with_shared_cache("busy");
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("hog", "1"), {}, {}).ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("calm", "2"), {}, {}).ok());
  }
  auto wink = start_wink({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(), "--access-log", "off",
                          "--workers", "1", "--executors", "4", "--executors-per-app", "3", "--executor-queue", "1"});
  ASSERT_TRUE(wink && wink->port()) << (wink ? wink->out() : "");
  const uint16_t port = wink->port();
  using clock = std::chrono::steady_clock;
  const auto hog_start = clock::now();
  std::vector<std::thread> hogs;
  std::vector<int> hog_status(4, 0);
  for (int i = 0; i < 4; ++i) {  // 3 running, 1 queued
    hogs.emplace_back([&, i] {
      hog_status[i] = wink::test::http_request(port, "GET", "/?spin=3000", {"Host: hog.localhost"}).status;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto refused = wink::test::http_request(port, "GET", "/?spin=1", {"Host: hog.localhost"});
  EXPECT_EQ(refused.status, 503) << "hog's queue (1) is full";
  EXPECT_FALSE(refused.header("Retry-After").empty());
  for (int i = 0; i < 5; ++i) {
    auto t0 = clock::now();
    auto health = wink::test::http_request(port, "GET", "/healthz", {"Host: hog.localhost"});
    auto t1 = clock::now();
    auto calm = wink::test::http_request(port, "GET", "/", {"Host: calm.localhost"});
    auto t2 = clock::now();
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(calm.body, "version=2\n");
    // Behaviour, not speed: answered while every hog request is still
    // running (they end 3 s after they started), not after them.
    EXPECT_LT(t1 - t0, std::chrono::seconds(1));
    EXPECT_LT(t2 - t1, std::chrono::seconds(1));
  }
  EXPECT_LT(clock::now() - hog_start, std::chrono::milliseconds(2700)) << "the checks above ran while hog was busy";
  for (auto& t : hogs) t.join();
  for (int st : hog_status) EXPECT_EQ(st, 200);
  EXPECT_EQ(wink->stop(), 0);
  fs::remove_all(data);
}

TEST(NodeServe, WinkUpAnswersForAnyHostAndAtItsAppHost) {
  auto dir = temp_dir("up");
  std::ofstream(dir / "wink.toml") << "[app]\nname = \"hello\"\n[[route]]\npath = \"/\"\ncomponent = \"h\"\n"
                                      "[component.h]\nsource = \""
                                   << (fs::path(WINK_GUEST_DIR) / "example_hello.wasm").string() << "\"\n";
  auto data = data_dir_with_shared_cache("up-data");
  auto wink = start_wink({"up", dir.string(), "--listen", "127.0.0.1:0", "--data-dir", data.string(),
                          "--access-log", "off"});
  ASSERT_TRUE(wink && wink->port()) << (wink ? wink->out() : "");
  for (std::string host : {"127.0.0.1", "hello.localhost", "whatever.example"}) {
    auto r = wink::test::http_request(wink->port(), "GET", "/", {"Host: " + host});
    EXPECT_EQ(r.status, 200) << host;
    EXPECT_EQ(r.body, "Hello, world!\n") << host;
  }
  EXPECT_EQ(wink->stop(), 0);
  EXPECT_FALSE(fs::exists(data / "node.db")) << "wink up persists nothing";
  EXPECT_FALSE(fs::exists(data / "apps" / "hello"));
  fs::remove_all(dir);
  fs::remove_all(data);
}

}  // namespace
}  // namespace wink::node::test
