// The host interface as guests see it: one WAGI guest (tests/guests/host_app.c)
// served by the real executor, with a node configuration built by the test.
// The same key-value self-test passes on SQLite and on a real redis-server.
#include <gtest/gtest.h>

#include <atomic>
#include <new>
#include <regex>
#include <stdexcept>

#include "host/host.h"
#include "host/redis_server.h"
#include "support/http_client.h"
#include "wagi/test_app.h"

namespace fs = std::filesystem;
using namespace wink;

namespace {

struct HostApp {
  std::unique_ptr<engine::Engine> engine;
  std::shared_ptr<wagi::App> app;
  std::unique_ptr<http::Server> server;
  std::shared_ptr<test::LogCapture> logs = std::make_shared<test::LogCapture>();
  std::string load_error;

  bool start(const fs::path& manifest_path, std::shared_ptr<host::Node> node) {
    auto m = manifest::load(manifest_path);
    if (!m.ok()) {
      load_error = m.error().message;
      return false;
    }
    engine::EngineConfig config;
    config.data_dir = test::test_data_dir();
    engine = std::make_unique<engine::Engine>(config);
    wagi::AppOptions options;
    auto sink = logs;
    options.log = [sink](std::string_view line) { sink->add(line); };
    options.host = std::move(node);
    auto loaded = wagi::App::load(std::move(*m), *engine, options);
    if (!loaded.ok()) {
      load_error = loaded.error().message;
      return false;
    }
    app = std::move(*loaded);
    http::ServerConfig sc;
    sc.workers = 2;
    sc.access_log.sink = http::AccessLogConfig::Sink::kOff;
    auto a = app;
    server = std::make_unique<http::Server>(
        sc, [a](const http::Request& req, http::Response& resp) { a->handle(req, resp); });
    if (auto s = server->start(); !s.ok()) {
      load_error = s.error().message;
      return false;
    }
    return true;
  }
  test::HttpResponse get(const std::string& target, const std::string& body = "") {
    return test::http_request(server->port(), body.empty() ? "GET" : "POST", target, {}, body);
  }
  ~HostApp() {
    if (server) server->stop(std::chrono::milliseconds(1000));
  }
};

std::string manifest_text(const std::string& extra_component = "", const std::string& top = "") {
  return "[app]\nname = \"hostapp\"\n" + top + "\n[component.main]\nsource = \"" +
         test::guest("host_app").string() + "\"\n" + extra_component +
         "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n";
}

std::shared_ptr<host::Node> node_with(std::map<std::string, std::string> env = {}) {
  auto node = std::make_shared<host::Node>();
  node->metrics = std::make_shared<host::Metrics>();
  auto env_copy = std::make_shared<std::map<std::string, std::string>>(std::move(env));
  node->getenv = [env_copy](const char* name) -> const char* {
    auto it = env_copy->find(name);
    return it == env_copy->end() ? nullptr : it->second.c_str();
  };
  return node;
}

class GuestKv : public ::testing::TestWithParam<std::string> {};

TEST_P(GuestKv, SelfTestPasses) {
  auto dir = test::make_scratch_dir("host-kv-" + GetParam());
  test::RedisServer redis;
  auto node = node_with();
  std::string spec = "sqlite:" + (dir / "kv.sqlite").string();
  if (GetParam() == "redis") {
    if (!test::RedisServer::available()) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(redis.start(dir / "redis"));
    spec = redis.url();
  }
  auto store = host::open_store("default", spec, dir);
  ASSERT_TRUE(store.ok()) << store.error().message;
  node->stores["default"] = *store;
  test::write_text(dir / "wink.toml", manifest_text("key_value_stores = [\"default\"]\n"));
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  auto r = app.get("/kv/selftest?store=default");
  EXPECT_EQ(r.status, 200) << app.logs->get();
  EXPECT_EQ(r.body, "ok\n");
  // Values written by one request are read by the next (fresh instance).
  EXPECT_EQ(app.get("/kv/set?key=greeting", "hello from " + GetParam()).body, "ok\n");
  EXPECT_EQ(app.get("/kv/get?key=greeting").body, "hello from " + GetParam());
  EXPECT_EQ(app.get("/kv/get?key=nope").body, "error=not_found\n");
  std::string metrics = node->metrics->render();
  EXPECT_NE(metrics.find("wink_kv_operations_total{store=\"default\",op=\"set\",result=\"ok\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("wink_kv_operations_total{store=\"default\",op=\"get\",result=\"not_found\"}"),
            std::string::npos);
  // The denied open in the self-test was logged.
  EXPECT_NE(app.logs->get().find("key-value store denied"), std::string::npos);
  app.server->stop(std::chrono::milliseconds(100));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, GuestKv, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST(GuestOutbound, AllowedAndDenied) {
  auto dir = test::make_scratch_dir("host-out");
  http::ServerConfig upstream_config;
  upstream_config.access_log.sink = http::AccessLogConfig::Sink::kOff;
  http::Server upstream(upstream_config, [](const http::Request& req, http::Response& resp) {
    resp.add_header("Content-Type", "text/plain");
    auto h = req.header("X-From-Guest");
    resp.body = "upstream saw " + std::string(req.method) + " " + std::string(req.path) + " " +
                (h ? std::string(*h) : "-") + " body=" + req.body;
  });
  ASSERT_TRUE(upstream.start().ok());
  // A listening socket the guest is not allowed to reach.
  int trip = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(trip, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(trip, 8);
  socklen_t alen = sizeof a;
  ::getsockname(trip, reinterpret_cast<sockaddr*>(&a), &alen);
  const int trip_port = ntohs(a.sin_port);

  const std::string allowed = "http://127.0.0.1:" + std::to_string(upstream.port());
  test::write_text(dir / "wink.toml",
                   manifest_text("allowed_outbound_hosts = [\"" + allowed + "\"]\n"));
  auto node = node_with();
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  auto r = app.get("/http?method=POST&url=" + allowed + "/x", "payload");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("status=200\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("upstream saw POST /x yes body=payload"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("content-type: text/plain"), std::string::npos) << r.body;

  r = app.get("/http?url=http://127.0.0.1:" + std::to_string(trip_port) + "/");
  EXPECT_NE(r.body.find("error=denied"), std::string::npos) << r.body;
  r = app.get("/http?url=https://example.com/");
  EXPECT_NE(r.body.find("error=denied"), std::string::npos) << r.body;
  EXPECT_LT(::accept(trip, nullptr, nullptr), 0) << "denied destination was contacted";
  ::close(trip);
  const std::string logs = app.logs->get();
  EXPECT_NE(logs.find("\"msg\":\"outbound request denied\""), std::string::npos) << logs;
  EXPECT_NE(logs.find(":" + std::to_string(trip_port) + " is not in the component's allowed_outbound_hosts"),
            std::string::npos);
  std::string metrics = node->metrics->render();
  EXPECT_NE(metrics.find("wink_outbound_requests_total{app=\"hostapp\",component=\"main\",result=\"ok\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("wink_outbound_requests_total{app=\"hostapp\",component=\"main\",result=\"denied\"} 2"),
            std::string::npos);
  upstream.stop(std::chrono::milliseconds(100));
  app.server->stop(std::chrono::milliseconds(100));
  fs::remove_all(dir);
}

const char* kVarsManifestTop =
    "[variables]\n"
    "greeting = { default = \"hello\" }\n"
    "api_key = { required = true, secret = true }\n"
    "unread = { default = \"x\" }\n"
    "optional = { }\n";
const char* kVarsComponent = "variables = [\"greeting\", \"api_key\", \"optional\"]\n";

TEST(GuestVariables, DefaultsEnvAndSecrets) {
  auto dir = test::make_scratch_dir("host-vars");
  test::write_text(dir / "wink.toml", manifest_text(kVarsComponent, kVarsManifestTop));
  {
    HostApp app;
    ASSERT_TRUE(app.start(dir / "wink.toml", node_with({{"WINK_VAR_API_KEY", "s3cr3t-value"}})))
        << app.load_error;
    EXPECT_EQ(app.get("/var?name=greeting").body, "hello");
    EXPECT_EQ(app.get("/var?name=unread").body, "error=denied\n");      // not listed by the component
    EXPECT_EQ(app.get("/var?name=undeclared").body, "error=denied\n");
    EXPECT_EQ(app.get("/var?name=optional").body, "error=not_found\n");  // declared, no value
    // The guest may read its secret, but log lines never show it, even when
    // the guest itself prints or logs it.
    EXPECT_EQ(app.get("/var?name=api_key&leak=1").body, "s3cr3t-value");
    const std::string logs = app.logs->get();
    EXPECT_EQ(logs.find("s3cr3t-value"), std::string::npos) << logs;
    EXPECT_NE(logs.find("leaking [redacted] to stderr"), std::string::npos) << logs;
    EXPECT_NE(logs.find("\"level\":\"warn\",\"msg\":\"[redacted]\""), std::string::npos) << logs;
  }
  {
    // The environment overrides the manifest default; a vars file fills the rest.
    auto node = node_with({{"WINK_VAR_GREETING", "hi from env"}});
    node->file_variables["api_key"] = "from-file";
    HostApp app;
    ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
    EXPECT_EQ(app.get("/var?name=greeting").body, "hi from env");
    EXPECT_EQ(app.get("/var?name=api_key").body, "from-file");
  }
  {
    // A missing required variable fails the load, at its declaration.
    HostApp app;
    EXPECT_FALSE(app.start(dir / "wink.toml", node_with()));
    EXPECT_NE(app.load_error.find("wink.toml:5:1: variables.api_key: required variable has no value"),
              std::string::npos) << app.load_error;
    EXPECT_NE(app.load_error.find("WINK_VAR_API_KEY"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(GuestLogs, StructuredAndStderrTagged) {
  auto dir = test::make_scratch_dir("host-logs");
  test::write_text(dir / "wink.toml", manifest_text());
  auto node = node_with();
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  auto r = app.get("/log?msg=hello%20log");
  ASSERT_EQ(r.status, 200);
  const std::string id = r.header("X-Request-Id");
  ASSERT_EQ(id.size(), 16u);
  const std::string logs = app.logs->get();
  const std::string tags = "\"app\":\"hostapp\",\"component\":\"main\",\"request_id\":\"" + id + "\"";
  EXPECT_NE(logs.find("\"level\":\"info\",\"msg\":\"hello log\"," + tags + ",\"source\":\"guest\"}"),
            std::string::npos) << logs;
  EXPECT_NE(logs.find("\"level\":\"error\",\"msg\":\"an error line\"," + tags), std::string::npos);
  EXPECT_NE(logs.find("\"level\":\"info\",\"request_id\":\"" + id +
                      "\",\"source\":\"stderr\",\"msg\":\"guest stderr\",\"app\":\"hostapp\","
                      "\"component\":\"main\",\"line\":\"stderr says hello log\"}"),
            std::string::npos) << logs;
  fs::remove_all(dir);
}

TEST(Metrics, PrometheusTextAfterRequests) {
  auto dir = test::make_scratch_dir("host-metrics");
  test::write_text(dir / "wink.toml", manifest_text());
  auto node = node_with();
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(app.get("/log?msg=x").status, 200);
  EXPECT_EQ(app.get("/trap").status, 500);
  std::string text = node->metrics->render();
  // Every line is a comment or `name{labels} value`.
  std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$)");
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 20);
  const std::string l = "app=\"hostapp\",component=\"main\"";
  EXPECT_NE(text.find("wink_requests_total{" + l + ",status=\"200\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("wink_requests_total{" + l + ",status=\"500\"} 1"), std::string::npos);
  EXPECT_NE(text.find("wink_traps_total{" + l + ",kind=\"unreachable\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("wink_cold_starts_total{" + l + "} 4"), std::string::npos);  // sequential requests
  EXPECT_NE(text.find("wink_request_duration_seconds_count{" + l + ",phase=\"instantiate\"} 4"),
            std::string::npos);
  EXPECT_NE(text.find("wink_request_duration_seconds_bucket{" + l + ",phase=\"execute\",le=\"+Inf\"} 4"),
            std::string::npos);
  EXPECT_NE(text.find("wink_instances{" + l + ",state=\"running\"} 0"), std::string::npos);
  fs::remove_all(dir);
}

TEST(LoadRefusals, CapabilitiesCheckedBeforeRunning) {
  auto dir = test::make_scratch_dir("host-refuse");
  auto node = node_with();
  auto store = host::open_store("default", "sqlite", dir);
  ASSERT_TRUE(store.ok());
  node->stores["default"] = *store;
  struct Case {
    std::string component, top, expect;
  };
  const std::vector<Case> cases = {
      {"key_value_stores = [\"default\", \"cache\"]\n", "",
       "wink.toml:6:32: component.main.key_value_stores: store \"cache\" is not configured on this "
       "node (configured: default"},
      {"allowed_outbound_hosts = [\"ftp://files.example.com\"]\n", "",
       "wink.toml:6:27: component.main.allowed_outbound_hosts: \"ftp://files.example.com\": scheme "
       "must be http, https or *"},
      {"variables = [\"nope\"]\n", "",
       "wink.toml:6:14: component.main.variables: \"nope\" is not declared in [variables]"},
      {"", "[variables]\nBad-Name = { default = \"x\" }\n", "wink.toml:4:1: variable name \"Bad-Name\""},
      {"", "[variables]\nv = { required = true, default = \"x\" }\n",
       "variables.v: a required variable cannot have a default"},
      {"key_value_stores = \"default\"\n", "", "key_value_stores: expected an array of strings"},
  };
  for (const auto& c : cases) {
    test::write_text(dir / "wink.toml", manifest_text(c.component, c.top));
    HostApp app;
    EXPECT_FALSE(app.start(dir / "wink.toml", node)) << c.component;
    EXPECT_NE(app.load_error.find(c.expect), std::string::npos)
        << "expected: " << c.expect << "\ngot: " << app.load_error;
  }
  fs::remove_all(dir);
}

// ---- hostile guests: host failures become error codes, limits hold ----

// A backend that throws instead of returning an error (a driver bug,
// bad_alloc): the host-call boundary answers kInternal and the node goes on.
class ThrowingStore final : public host::KeyValueStore {
 public:
  std::string_view kind() const override { return "throwing"; }
  Result<bool> get(std::string_view, std::string&) override { throw std::runtime_error("driver exploded"); }
  Result<void> set(std::string_view, std::string_view) override { throw std::bad_alloc(); }
  Result<bool> remove(std::string_view) override { throw 42; }
  Result<bool> exists(std::string_view) override { throw std::runtime_error("driver exploded"); }
  Result<std::vector<std::string>> list(std::string_view, size_t) override {
    throw std::length_error("basic_string::_M_create");
  }
};

TEST(GuestHostile, ThrowingBackendGivesAnErrorCodeAndTheServerKeepsServing) {
  auto dir = test::make_scratch_dir("host-throw");
  auto node = node_with();
  node->stores["default"] = std::make_shared<ThrowingStore>();
  test::write_text(dir / "wink.toml", manifest_text("key_value_stores = [\"default\"]\n"));
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  for (int i = 0; i < 3; ++i) {
    auto r = app.get("/kv/get?key=a");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "error=internal\n");
    EXPECT_EQ(app.get("/kv/set?key=a", "value").body, "internal\n");
  }
  EXPECT_EQ(app.get("/log?msg=still%20here").status, 200);
  const std::string logs = app.logs->get();
  EXPECT_NE(logs.find("\"msg\":\"host function failed\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("driver exploded"), std::string::npos) << logs;
  EXPECT_NE(logs.find("out of memory"), std::string::npos) << logs;
  fs::remove_all(dir);
}

TEST(GuestHostile, RedisKilledMidTestGivesBackendErrorsAndTheServerKeepsServing) {
  if (!test::RedisServer::available()) GTEST_SKIP() << "redis-server not installed";
  auto dir = test::make_scratch_dir("host-redis-kill");
  test::RedisServer redis;
  ASSERT_TRUE(redis.start(dir / "redis"));
  auto store = host::open_store("default", redis.url() + "?timeout_ms=500", dir);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto node = node_with();
  node->stores["default"] = *store;
  test::write_text(dir / "wink.toml", manifest_text("key_value_stores = [\"default\"]\n"));
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node)) << app.load_error;
  EXPECT_EQ(app.get("/kv/set?key=k", "v").body, "ok\n");
  redis.stop();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(app.get("/kv/get?key=k").body, "error=backend\n");
  EXPECT_EQ(app.get("/kv/set?key=k", "v2").body, "backend\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(app.get("/log?msg=alive").status, 200);
  fs::remove_all(dir);
}

TEST(GuestHostile, NamesAndWildcardsResolvingToLoopbackAreRefused) {
  auto dir = test::make_scratch_dir("host-loopback");
  // A listening socket standing for the admin endpoint or Redis: it must see no connection.
  int trip = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(trip, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(trip, 8);
  socklen_t alen = sizeof a;
  ::getsockname(trip, reinterpret_cast<sockaddr*>(&a), &alen);
  const std::string port = std::to_string(ntohs(a.sin_port));
  test::write_text(dir / "wink.toml",
                   manifest_text("allowed_outbound_hosts = [\"http://localhost:*\", \"*://*:*\"]\n"));
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node_with())) << app.load_error;
  auto r = app.get("/http?url=http://localhost:" + port + "/");
  EXPECT_NE(r.body.find("error=denied"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("localhost resolves to"), std::string::npos) << r.body;
  r = app.get("/http?url=http://127.0.0.1:" + port + "/");
  EXPECT_NE(r.body.find("error=denied"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("loopback address"), std::string::npos) << r.body;
  int accepted = 0;
  for (int c; (c = ::accept(trip, nullptr, nullptr)) >= 0; ++accepted) ::close(c);
  EXPECT_EQ(accepted, 0) << "a refused destination was contacted";
  ::close(trip);
  fs::remove_all(dir);
}

std::string hostile_manifest(const std::string& extra_component) {
  return "[app]\nname = \"hostile\"\n\n[component.main]\nsource = \"" + test::guest("host_hostile").string() +
         "\"\n" + extra_component + "\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n";
}

TEST(GuestHostile, HostOwnedHeadersAndOversizedArgumentsAreRefused) {
  auto dir = test::make_scratch_dir("host-hostile");
  http::ServerConfig upstream_config;
  upstream_config.access_log.sink = http::AccessLogConfig::Sink::kOff;
  std::atomic<int> upstream_requests{0};
  http::Server upstream(upstream_config, [&](const http::Request&, http::Response& resp) {
    ++upstream_requests;
    resp.body = "upstream";
  });
  ASSERT_TRUE(upstream.start().ok());
  const std::string allowed = "http://127.0.0.1:" + std::to_string(upstream.port());
  test::write_text(dir / "wink.toml", hostile_manifest("allowed_outbound_hosts = [\"" + allowed + "\"]\n"));
  HostApp app;
  ASSERT_TRUE(app.start(dir / "wink.toml", node_with())) << app.load_error;
  EXPECT_EQ(app.get("/http?url=" + allowed + "/").body, "status=200\n");
  EXPECT_EQ(upstream_requests.load(), 1);
  for (const char* header : {"Host:%20admin.internal", "Connection:%20close", "Transfer-Encoding:%20chunked",
                             "Content-Length:%200", "Proxy-Authorization:%20x", "Upgrade:%20h2c"}) {
    auto r = app.get(std::string("/http?url=") + allowed + "/&header=" + header);
    EXPECT_EQ(r.body.rfind("error=invalid message=request header", 0), 0u) << header << ": " << r.body;
  }
  EXPECT_EQ(app.get("/http/bigheaders?url=" + allowed + "/").body.rfind("error=too_large", 0), 0u);
  EXPECT_EQ(app.get("/kv/bigname").body.rfind("error=too_large", 0), 0u);
  EXPECT_EQ(upstream_requests.load(), 1) << "a refused request reached the upstream";
  upstream.stop(std::chrono::milliseconds(100));
  fs::remove_all(dir);
}

TEST(GuestHostile, ManifestPatternsOutsideTheNodeCeilingAreRefusedAtLoad) {
  auto dir = test::make_scratch_dir("host-ceiling");
  auto node = node_with();
  node->outbound.ceiling.add(*host::AllowPattern::parse("https://*.example.com"));
  test::write_text(dir / "wink.toml",
                   manifest_text("allowed_outbound_hosts = [\"https://api.example.com\", \"*://*:*\"]\n"));
  HostApp app;
  EXPECT_FALSE(app.start(dir / "wink.toml", node));
  EXPECT_NE(app.load_error.find("wink.toml:6:54: component.main.allowed_outbound_hosts: \"*://*:*\": outside "
                                "what this node allows (wink up --outbound-allow: https://*.example.com)"),
            std::string::npos)
      << app.load_error;
  EXPECT_EQ(app.load_error.find("api.example.com\": outside"), std::string::npos) << app.load_error;
  test::write_text(dir / "wink.toml", manifest_text("allowed_outbound_hosts = [\"https://api.example.com\"]\n"));
  HostApp ok;
  EXPECT_TRUE(ok.start(dir / "wink.toml", node)) << ok.load_error;
  fs::remove_all(dir);
}

}  // namespace
