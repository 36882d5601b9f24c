// The counter example over real HTTP with the real clock: a reactor component
// behind lifecycle::App, standby after a 30 ms idle timeout, the count kept.
// (The CLI against the control API: tests/control.)
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "../wagi/http_client.h"
#include "http/server.h"
#include "lifecycle/app.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(LifecycleUp, CounterSurvivesStandbyOverHttp) {
  auto dir = fs::temp_directory_path() / ("wink-life-up-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "example_counter.wasm", dir / "counter.wasm",
                fs::copy_options::overwrite_existing);
  std::string toml;
  {
    std::ifstream in(fs::path(WINK_EXAMPLES_DIR) / "counter" / "wink.toml");
    toml.assign(std::istreambuf_iterator<char>(in), {});
  }
  toml.replace(toml.find("idle_timeout = \"1s\""), 19, "idle_timeout = \"30ms\"");
  std::ofstream(dir / "wink.toml") << toml;
  auto m = manifest::load(dir);
  ASSERT_TRUE(m.ok()) << m.error().message;

  engine::EngineConfig config;
  config.data_dir = fs::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data";
  engine::Engine engine(config);
  Node node{NodeOptions{}};
  wagi::AppOptions options;
  options.log = [](std::string_view) {};
  auto app = App::load(std::move(*m), engine, node, options);
  ASSERT_TRUE(app.ok()) << app.error().message;
  http::ServerConfig sc;
  sc.workers = 1;
  sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
  http::Server server(sc, [&](const http::Request& req, http::Response& resp) { (*app)->handle(req, resp); });
  ASSERT_TRUE(server.start().ok());

  auto r = test::http_request(server.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "count=1 standbys=0\n");
  // No response header names an internal instance (issue 9, item 7).
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(value.find("counter-counter-"), std::string::npos) << name << ": " << value;
  }
  EXPECT_EQ(r.header("X-Request-Id").size(), 16u);
  r = test::http_request(server.port(), "GET", "/?add=10");
  EXPECT_EQ(r.body, "count=11 standbys=0\n");

  // Idle for longer than 30 ms: standby (the background timer thread).
  for (int i = 0; i < 100 && node.instances().at(0).state != State::kStandby; ++i) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(node.instances().at(0).state, State::kStandby);
  r = test::http_request(server.port(), "GET", "/");
  EXPECT_EQ(r.body, "count=12 standbys=1\n") << "woken from standby with its count";
  EXPECT_NE(r.header("Server-Timing").find("wake;dur="), std::string::npos);

  server.stop(milliseconds(100));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::lifecycle
