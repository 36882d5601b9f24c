// The counter example over real HTTP with the real clock: a reactor component
// behind lifecycle::App, standby after a 30 ms idle timeout, the count kept;
// and the CLI (`wink instance ls`, `wink quotas`, `wink scale`) against the
// admin endpoint.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "../wagi/http_client.h"
#include "http/server.h"
#include "lifecycle/admin.h"
#include "lifecycle/app.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string run_cli(const std::string& args) {
  std::string cmd = std::string(WINK_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

TEST(LifecycleUp, CounterSurvivesStandbyOverHttpAndTheCliShowsIt) {
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
  http::ServerConfig ac = sc;
  http::Server admin(ac, [&](const http::Request& req, http::Response& resp) { handle_admin(node, req, resp); });
  ASSERT_TRUE(admin.start().ok());
  const std::string admin_addr = "127.0.0.1:" + std::to_string(admin.port());

  // The count is the behaviour under test; how many standbys happened in
  // between depends on how long this (possibly loaded) machine took between
  // requests against the 30 ms idle timeout, so only its growth is checked.
  auto counts = [](const std::string& body) {
    unsigned count = 0, standbys = 0;
    EXPECT_EQ(std::sscanf(body.c_str(), "count=%u standbys=%u", &count, &standbys), 2) << body;
    return std::pair{count, standbys};
  };
  auto r = test::http_request(server.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(counts(r.body).first, 1u) << r.body;
  // No response header names an internal instance (issue 9, item 7).
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(value.find("counter-counter-"), std::string::npos) << name << ": " << value;
  }
  EXPECT_EQ(r.header("X-Request-Id").size(), 16u);
  r = test::http_request(server.port(), "GET", "/?add=10");
  EXPECT_EQ(counts(r.body).first, 11u) << r.body;

  std::string ls = run_cli("instance ls --admin " + admin_addr);
  EXPECT_NE(ls.find("NAME"), std::string::npos) << ls;
  EXPECT_NE(ls.find("counter-counter-1"), std::string::npos) << ls;
  // running, or already in standby when this loaded machine took longer than
  // the 30 ms idle timeout to start the CLI
  EXPECT_TRUE(ls.find("running") != std::string::npos || ls.find("standby") != std::string::npos) << ls;

  const unsigned standbys_before = counts(r.body).second;
  // Idle for longer than 30 ms: standby (the background timer thread). The
  // bound only stops a broken timer from hanging the test.
  for (int i = 0; i < 2000 && node.instances().at(0).state != State::kStandby; ++i) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(node.instances().at(0).state, State::kStandby);
  ls = run_cli("instance ls --admin " + admin_addr);
  EXPECT_NE(ls.find("standby"), std::string::npos) << ls;

  r = test::http_request(server.port(), "GET", "/");
  EXPECT_EQ(counts(r.body).first, 12u) << "woken from standby with its count: " << r.body;
  EXPECT_GT(counts(r.body).second, standbys_before) << r.body;
  EXPECT_NE(r.header("Server-Timing").find("wake;dur="), std::string::npos);

  std::string quotas = run_cli("quotas --admin " + admin_addr);
  EXPECT_NE(quotas.find("active instances"), std::string::npos) << quotas;
  EXPECT_NE(quotas.find("app counter"), std::string::npos) << quotas;
  std::string set = run_cli("quotas set --active-instances 4 --admin " + admin_addr);
  EXPECT_NE(set.find(" / 4"), std::string::npos) << set;

  std::string scale = run_cli("scale set counter/counter --max 3 --cooldown 2000 --admin " + admin_addr);
  EXPECT_NE(scale.find("max size:      3"), std::string::npos) << scale;
  EXPECT_NE(scale.find("cooldown:      2s"), std::string::npos) << scale;
  scale = run_cli("scale policy add counter/counter --name burst --metric inflight --adjustment change "
                  "--step 2::1 --step 0:1:-1 --admin " + admin_addr);
  EXPECT_NE(scale.find("burst"), std::string::npos) << scale;
  EXPECT_NE(scale.find("[2..inf: +1]"), std::string::npos) << scale;
  scale = run_cli("scale set counter/counter --min 5 --admin " + admin_addr);
  EXPECT_NE(scale.find("Error: min_instances exceeds max_instances"), std::string::npos) << scale;
  std::string bad = run_cli("scale set nope/nope --max 1 --admin " + admin_addr);
  EXPECT_NE(bad.find("no component"), std::string::npos) << bad;

  admin.stop(milliseconds(100));
  server.stop(milliseconds(100));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::lifecycle
