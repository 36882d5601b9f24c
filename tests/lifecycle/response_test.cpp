// Issue 9, item 7: reactor and WAGI components answer through one response
// path. Over real HTTP: a reactor printing a secret to stderr is logged
// redacted; a reactor writing past the stdout cap gets the same answer as a
// WAGI guest doing so; no response header names an internal instance.
#include <gtest/gtest.h>

#include <mutex>

#include "support/http_client.h"
#include "../wagi/test_app.h"
#include "http/server.h"
#include "lifecycle/app.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr size_t kStdoutCap = 4096;
constexpr const char* kSecret = "s3cr3t-value-4711";

struct PipelineApp {
  fs::path dir = test::make_scratch_dir("life-response");
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<Node> node;
  std::unique_ptr<App> app;
  std::unique_ptr<http::Server> server;
  std::shared_ptr<test::LogCapture> logs = std::make_shared<test::LogCapture>();

  void start() {
    test::write_text(dir / "wink.toml", "[app]\nname = \"pipeline\"\n\n"
                     "[variables]\napi_key = { required = true, secret = true }\n\n"
                     "[[route]]\npath = \"/reactor\"\ncomponent = \"reactor\"\n\n"
                     "[[route]]\npath = \"/wagi\"\ncomponent = \"wagi\"\n\n"
                     "[component.reactor]\nsource = \"" + test::guest("life_output").string() + "\"\n"
                     "executor = \"reactor\"\nvariables = [\"api_key\"]\nmax_instances = 1\n\n"
                     "[component.wagi]\nsource = \"" + test::guest("wagi_behave").string() + "\"\n");
    auto m = manifest::load(dir / "wink.toml");
    ASSERT_TRUE(m.ok()) << m.error().message;
    engine::EngineConfig config;
    config.data_dir = test::test_data_dir();
    engine = std::make_unique<engine::Engine>(config);
    NodeOptions node_options;
    node_options.max_stdout_bytes = kStdoutCap;
    node = std::make_unique<Node>(node_options);
    wagi::AppOptions options;
    options.max_stdout_bytes = kStdoutCap;
    auto sink = logs;
    options.log = [sink](std::string_view line) { sink->add(line); };
    options.host = std::make_shared<host::Node>();
    options.host->file_variables["api_key"] = kSecret;
    auto loaded = App::load(std::move(*m), *engine, *node, options);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    app = std::move(*loaded);
    http::ServerConfig sc;
    sc.workers = 1;
    sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
    server = std::make_unique<http::Server>(
        sc, [this](const http::Request& req, http::Response& resp) { app->handle(req, resp); });
    ASSERT_TRUE(server->start().ok());
  }
  ~PipelineApp() {
    if (server) server->stop(milliseconds(100));
    server.reset();
    app.reset();
    node.reset();
    fs::remove_all(dir);
  }
  test::HttpResponse get(const std::string& target) {
    return test::http_request(server->port(), "GET", target);
  }
};

TEST(ResponsePipeline, ReactorStderrSecretIsRedactedInTheLog) {
  PipelineApp p;
  ASSERT_NO_FATAL_FAILURE(p.start());
  auto r = p.get("/reactor?leak");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "leaked\n");
  const std::string logs = p.logs->get();
  EXPECT_EQ(logs.find(kSecret), std::string::npos) << logs;
  EXPECT_NE(logs.find("leaking [redacted] to stderr"), std::string::npos) << logs;
  // Tagged like a WAGI guest's stderr: with the request id the client got.
  const std::string id = r.header("X-Request-Id");
  ASSERT_EQ(id.size(), 16u);
  EXPECT_NE(logs.find("\"request_id\":\"" + id + "\",\"source\":\"stderr\",\"msg\":\"guest stderr\""),
            std::string::npos) << logs;
}

TEST(ResponsePipeline, StdoutOverTheCapIsTheSameAnswerForReactorAndWagi) {
  PipelineApp p;
  ASSERT_NO_FATAL_FAILURE(p.start());
  auto wagi = p.get("/wagi?big");  // 1 MiB of body
  auto reactor = p.get("/reactor?big=" + std::to_string(1 << 20));
  EXPECT_EQ(wagi.status, 500);
  EXPECT_EQ(reactor.status, wagi.status);
  EXPECT_EQ(reactor.body, wagi.body);
  EXPECT_TRUE(reactor.body.empty()) << reactor.body.substr(0, 100);
  const std::string logs = p.logs->get();
  EXPECT_NE(logs.find("\"component\":\"reactor\""), std::string::npos);
  size_t too_large = 0;
  for (size_t pos = logs.find("\"cause\":\"response_too_large\""); pos != std::string::npos;
       pos = logs.find("\"cause\":\"response_too_large\"", pos + 1)) {
    ++too_large;
  }
  EXPECT_EQ(too_large, 2u) << logs;
  // Just under the cap is served in full.
  auto fits = p.get("/reactor?big=1000");
  EXPECT_EQ(fits.status, 200);
  EXPECT_EQ(fits.body.size(), 1000u);
}

TEST(ResponsePipeline, NoHeaderNamesAnInstance) {
  PipelineApp p;
  ASSERT_NO_FATAL_FAILURE(p.start());
  auto r = p.get("/reactor");
  ASSERT_EQ(r.status, 200);
  ASSERT_FALSE(p.node->instances().empty());
  const std::string instance = p.node->instances().at(0).name;
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(value.find(instance), std::string::npos) << name << ": " << value;
    EXPECT_FALSE(http::iequals(name, "X-Wink-Instance"));
  }
  // The same headers a WAGI guest's response has.
  EXPECT_EQ(r.header("X-Request-Id").size(), 16u);
  EXPECT_NE(r.header("Server-Timing").find("exec;dur="), std::string::npos);
}

}  // namespace
}  // namespace wink::lifecycle
