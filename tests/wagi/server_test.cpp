// WAGI end to end: the real HTTP server on port 0, a manifest, guests from
// tests/guests/wagi_*.c, and requests over loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <regex>
#include <thread>

#include "support/http_client.h"
#include "test_app.h"
#include "runtime/memory_pool.h"
#include "wagi/cgi.h"

namespace wink::test {
namespace {

class WagiServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(make_scratch_dir("wagi-server-test"));
    write_text(*dir_ / "data/hello.txt", "hello from a mapped file\n");
    write_text(*dir_ / "data/sub/deep.txt", "deep\n");
    std::string env = guest("wagi_env").string();
    write_text(*dir_ / "wink.toml", R"([app]
name = "wagitest"

[[route]]
path = "/..."
component = "root"

[[route]]
path = "/env/..."
component = "env"

[[route]]
path = "/env/exact"
component = "env-exact"

[[route]]
path = "/env/deeper/..."
component = "env-deeper"

[[route]]
path = "/argv/..."
component = "argv"

[[route]]
path = "/behave"
component = "behave"

[[route]]
path = "/behave-big"
component = "behave-big"

[[route]]
path = "/files/..."
component = "files"

[[route]]
path = "/fresh"
component = "fresh"

[[route]]
path = "/start-section"
component = "start-section"

[component.root]
source = ")" + env + R"("
environment = { WHO = "root" }

[component.env]
source = ")" + env + R"("
environment = { WHO = "env", GREETING = "hi", REQUEST_METHOD = "from-manifest", HTTP_X_TENANT = "from-manifest" }

[component.env-exact]
source = ")" + env + R"("
environment = { WHO = "env-exact" }

[component.env-deeper]
source = ")" + env + R"("
environment = { WHO = "env-deeper" }

[component.argv]
source = ")" + env + R"("
argv = "prog ${SCRIPT_NAME} ${ARGS}"

[component.behave]
source = ")" + guest("wagi_behave").string() + R"("
deadline = "300ms"
memory_limit = "64MiB"

# The same guest for the 64 MiB cap tests: a deadline a loaded machine
# cannot miss while 64 MiB go through stdout.
[component.behave-big]
source = ")" + guest("wagi_behave").string() + R"("
deadline = "60s"

[component.files]
source = ")" + guest("wagi_file").string() + R"("
files = [ { source = "data", destination = "/data" } ]

[component.fresh]
source = ")" + guest("wagi_fresh").string() + R"("

[component.start-section]
source = ")" + guest("wagi_start_section").string() + R"("
)");
    app_ = new RunningApp();
    ASSERT_TRUE(app_->start(*dir_ / "wink.toml")) << app_->load_error;
  }
  static void TearDownTestSuite() {
    delete app_;
    app_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (!app_ || !app_->server) GTEST_SKIP() << "app did not start";
  }

  static HttpResponse get(const std::string& target, std::vector<std::string> headers = {}) {
    return http_request(app_->port(), "GET", target, headers);
  }
  // The value of "env:NAME=" in wagi_env's output, or "<unset>".
  static std::string env_of(const std::string& body, const std::string& name) {
    std::string key = "\nenv:" + name + "=";
    size_t pos = ("\n" + body).find(key);
    if (pos == std::string::npos) return "<unset>";
    size_t start = pos + key.size() - 1;
    return body.substr(start, body.find('\n', start) - start);
  }

  static std::filesystem::path* dir_;
  static RunningApp* app_;
};
std::filesystem::path* WagiServer::dir_ = nullptr;
RunningApp* WagiServer::app_ = nullptr;

TEST_F(WagiServer, EnvironmentArgvAndBody) {
  auto r = http_request(app_->port(), "POST", "/env/fizz%20x/buzz?a=1&b=two",
                        {"Host: example.com:8080", "Content-Type: text/plain", "X-Test-Header: v1",
                         "Authorization: Basic c2VjcmV0", "User-Agent: wink-test"},
                        "hello body");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  const std::string& b = r.body;
  EXPECT_EQ(env_of(b, "AUTH_TYPE"), "");
  EXPECT_EQ(env_of(b, "CONTENT_LENGTH"), "10");
  EXPECT_EQ(env_of(b, "CONTENT_TYPE"), "text/plain");
  EXPECT_EQ(env_of(b, "GATEWAY_INTERFACE"), "CGI/1.1");
  EXPECT_EQ(env_of(b, "PATH_INFO"), "/fizz x/buzz");
  EXPECT_EQ(env_of(b, "PATH_TRANSLATED"), "/fizz x/buzz");
  EXPECT_EQ(env_of(b, "QUERY_STRING"), "a=1&b=two");
  EXPECT_EQ(env_of(b, "REMOTE_ADDR"), "127.0.0.1");
  EXPECT_EQ(env_of(b, "REMOTE_HOST"), "127.0.0.1");
  EXPECT_EQ(env_of(b, "REMOTE_USER"), "");
  EXPECT_EQ(env_of(b, "REQUEST_METHOD"), "POST");
  EXPECT_EQ(env_of(b, "SCRIPT_NAME"), "/env");
  EXPECT_EQ(env_of(b, "SERVER_NAME"), "example.com");
  EXPECT_EQ(env_of(b, "SERVER_PORT"), "8080");
  EXPECT_EQ(env_of(b, "SERVER_PROTOCOL"), "HTTP/1.1");
  EXPECT_EQ(env_of(b, "SERVER_SOFTWARE"), "WAGI/1");
  EXPECT_EQ(env_of(b, "X_FULL_URL"), "http://example.com:8080/env/fizz%20x/buzz?a=1&b=two");
  EXPECT_EQ(env_of(b, "X_MATCHED_ROUTE"), "/env/...");
  EXPECT_EQ(env_of(b, "X_RAW_PATH_INFO"), "/fizz%20x/buzz");
  EXPECT_EQ(env_of(b, "HTTP_HOST"), "example.com:8080");
  EXPECT_EQ(env_of(b, "HTTP_X_TEST_HEADER"), "v1");
  EXPECT_EQ(env_of(b, "HTTP_USER_AGENT"), "wink-test");
  EXPECT_EQ(env_of(b, "HTTP_CONTENT_TYPE"), "text/plain");
  EXPECT_EQ(env_of(b, "HTTP_AUTHORIZATION"), "<unset>");
  EXPECT_EQ(env_of(b, "HTTP_CONNECTION"), "<unset>");
  // Manifest environment is merged below the built-ins; the host's is not inherited.
  EXPECT_EQ(env_of(b, "GREETING"), "hi");
  EXPECT_EQ(env_of(b, "WHO"), "env");
  EXPECT_EQ(env_of(b, "HOME"), "<unset>");
  EXPECT_EQ(env_of(b, "PATH"), "<unset>");
  EXPECT_NE(b.find("argv[0]=/env/fizz%20x/buzz\nargv[1]=a=1\nargv[2]=b=two\n"), std::string::npos)
      << b;
  EXPECT_EQ(b.find("argv[3]"), std::string::npos);
  EXPECT_NE(b.find("body:hello body\n"), std::string::npos) << b;
}

// Issue 9, item 8: a client cannot spoof a header a proxy sets by spelling it
// with '_' (both spellings would become HTTP_X_FORWARDED_FOR), cannot shadow
// a manifest variable with a header, and cannot set HTTP_PROXY ("httpoxy").
TEST_F(WagiServer, HeadersCannotSpoofOrShadowVariables) {
  auto r = get("/env/x", {"X_Forwarded_For: 6.6.6.6", "X-Forwarded-For: 10.0.0.1", "X-Tenant: evil",
                          "Proxy: http://evil.example:8080", "X_Custom: spoof", "X-Custom: real"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto count = [&](const std::string& key) {
    size_t n = 0;
    for (size_t pos = r.body.find("env:" + key + "="); pos != std::string::npos;
         pos = r.body.find("env:" + key + "=", pos + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("HTTP_X_FORWARDED_FOR"), 1u) << r.body;
  EXPECT_EQ(env_of(r.body, "HTTP_X_FORWARDED_FOR"), "10.0.0.1");
  EXPECT_EQ(count("HTTP_X_CUSTOM"), 1u) << r.body;
  EXPECT_EQ(env_of(r.body, "HTTP_X_CUSTOM"), "real");
  EXPECT_EQ(count("HTTP_X_TENANT"), 1u) << r.body;
  EXPECT_EQ(env_of(r.body, "HTTP_X_TENANT"), "from-manifest");
  EXPECT_EQ(env_of(r.body, "HTTP_PROXY"), "<unset>");
  // A built-in is never shadowed either (no header can produce a non-HTTP_ name).
  EXPECT_EQ(count("REQUEST_METHOD"), 1u);
}

TEST_F(WagiServer, ArgvTemplate) {
  auto r = get("/argv/x?one&two=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("argv[0]=prog\nargv[1]=/argv/x\nargv[2]=one\nargv[3]=two=2\nenv:"),
            std::string::npos)
      << r.body;
}

TEST_F(WagiServer, ServerTimingAndAccessLog) {
  auto r = get("/env/timing");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(std::regex_match(r.header("Server-Timing"),
                               std::regex(R"(inst;dur=\d+\.\d{3}, exec;dur=\d+\.\d{3})")))
      << r.header("Server-Timing");
  // The access log line is written after the response: give it a moment.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = app_->access->get();
    if (log.find("/env/timing") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(\{[^\n]*"/env/timing"[^\n]*\})"))) << log;
  std::string line = m.str();
  EXPECT_NE(line.find(R"("app":"wagitest")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("component":"env")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("instantiate":)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("execute":)"), std::string::npos) << line;
}

TEST_F(WagiServer, StatusLocationAndCrlf) {
  auto teapot = get("/behave?status");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.header("X-Custom"), "yes");
  EXPECT_EQ(teapot.body, "teapot\n");
  EXPECT_FALSE(teapot.has_header("Status"));

  auto loc = get("/behave?location");
  EXPECT_EQ(loc.status, 302);
  EXPECT_EQ(loc.header("Location"), "https://example.com/elsewhere");

  auto moved = get("/behave?location-status");
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.header("Location"), "/moved");

  auto crlf = get("/behave?crlf");
  EXPECT_EQ(crlf.status, 200);
  EXPECT_EQ(crlf.header("Content-Type"), "text/plain");
  EXPECT_EQ(crlf.body, "Oh hi world\r\n");

  auto ok = get("/behave");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
}

TEST_F(WagiServer, MissingContentTypeIs500) {
  auto r = get("/behave?notype");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, wagi::kNoContentTypeMessage);
  EXPECT_FALSE(r.has_header("X-Only"));
  std::string errors = app_->errors->get();
  EXPECT_NE(errors.find(R"("cause":"bad_response")"), std::string::npos) << errors;
}

TEST_F(WagiServer, UnparsableStatusIs502) {
  EXPECT_EQ(get("/behave?badstatus").status, 502);
}

TEST_F(WagiServer, TrapIs500AndTheNextRequestIsServed) {
  auto r = get("/behave?trap");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "");  // partial stdout is never sent
  std::string errors = app_->errors->get();
  EXPECT_NE(errors.find(R"("app":"wagitest","component":"behave")"), std::string::npos) << errors;
  EXPECT_NE(errors.find(R"("cause":"trap:unreachable")"), std::string::npos) << errors;
  auto oob = get("/behave?oob");
  EXPECT_EQ(oob.status, 500);
  EXPECT_NE(app_->errors->get().find(R"("cause":"trap:out_of_bounds")"), std::string::npos)
      << app_->errors->get();
  auto next = get("/behave");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok\n");
}

TEST_F(WagiServer, EndlessLoopIs504WithinDeadline) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = get("/behave?loop");
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
  EXPECT_NE(app_->errors->get().find(R"("status":504,"cause":"deadline")"), std::string::npos)
      << app_->errors->get();
  EXPECT_EQ(get("/behave").status, 200);
}

TEST_F(WagiServer, OtherRequestsServedWhileAGuestLoops) {
  auto slow = std::async(std::launch::async, [] { return get("/behave?loop").status; });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(get("/behave").status, 200);
  // Answered while the looping guest still runs (it has ~250 ms to go).
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(slow.get(), 504);
}

TEST_F(WagiServer, ExitCodes) {
  auto zero = get("/behave?exit0");
  EXPECT_EQ(zero.status, 200);
  EXPECT_EQ(zero.body, "exit zero\n");
  auto three = get("/behave?exit3");
  EXPECT_EQ(three.status, 500);
  EXPECT_NE(app_->errors->get().find(R"("cause":"exit")"), std::string::npos);
}

TEST_F(WagiServer, StderrBecomesLogLines) {
  auto r = get("/behave?stderr");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "logged\n");
  std::string errors = app_->errors->get();
  EXPECT_NE(errors.find(R"("msg":"guest stderr","app":"wagitest","component":"behave","line":"first line"})"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(R"("line":"second \"quoted\" line"})"), std::string::npos) << errors;
}

TEST_F(WagiServer, MemoryLimitFailsAllocationNotServer) {
  auto r = get("/behave?grow");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "malloc failed\n");
}

TEST_F(WagiServer, LargeBodyByteExact) {
  auto r = get("/behave?big");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), 1u << 20);
  for (size_t i = 0; i < r.body.size(); i += 4099) {
    ASSERT_EQ(r.body[i], static_cast<char>('a' + i % 26)) << i;
  }
}

// The default stdout cap (64 MiB): a response reaching it is a 500 with an
// empty body and the cause in the log; one 1 KiB under it is served whole.
TEST_F(WagiServer, StdoutOver64MiBIsResponseTooLarge) {
  auto r = get("/behave-big?huge");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(r.body.empty()) << r.body.size();
  EXPECT_NE(app_->errors->get().find(R"("cause":"response_too_large")"), std::string::npos);
  auto fits = get("/behave-big?fits");
  EXPECT_EQ(fits.status, 200);
  EXPECT_EQ(fits.body.size(), (64u << 20) - 1024);
}

// The default stderr cap (1 MiB per request): 2 MiB of guest stderr neither
// harms the response nor reaches the log beyond the cap.
TEST_F(WagiServer, StderrIsCappedPerRequest) {
  auto r = get("/behave?noisy");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "noisy\n");
  const std::string errors = app_->errors->get();
  EXPECT_NE(errors.find("noise 0000 "), std::string::npos);
  EXPECT_EQ(errors.find("noise 2047 "), std::string::npos) << "stderr past the cap was logged";
  size_t lines = 0;  // 1 KiB each: the 1 MiB cap holds at most 1024 of them
  for (size_t pos = errors.find("\"line\":\"noise "); pos != std::string::npos;
       pos = errors.find("\"line\":\"noise ", pos + 1)) {
    ++lines;
  }
  EXPECT_GT(lines, 900u);
  EXPECT_LE(lines, 1024u);
}

TEST_F(WagiServer, MappedFilesReadOnly) {
  auto r = get("/files/hello.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from a mapped file\n");
  EXPECT_EQ(get("/files/sub/deep.txt").body, "deep\n");
  EXPECT_EQ(get("/files/missing.txt").status, 404);
  EXPECT_EQ(get("/files/write").body, "write refused\n");
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "data/new.txt"));
  // Nothing outside the mapped directory is reachable.
  auto escape = get("/files/../wink.toml");
  EXPECT_NE(escape.status, 200);
  EXPECT_EQ(escape.body.find("[app]"), std::string::npos);
}

TEST_F(WagiServer, MostSpecificRouteWins) {
  EXPECT_EQ(env_of(get("/env/exact").body, "WHO"), "env-exact");
  EXPECT_EQ(env_of(get("/env/exact/more").body, "WHO"), "env");
  EXPECT_EQ(env_of(get("/env/other").body, "WHO"), "env");
  EXPECT_EQ(env_of(get("/env").body, "WHO"), "env");
  EXPECT_EQ(env_of(get("/env/deeper/x").body, "WHO"), "env-deeper");
  EXPECT_EQ(env_of(get("/envelope").body, "WHO"), "root");
  EXPECT_EQ(env_of(get("/").body, "WHO"), "root");
  auto healthz = get("/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body.find("env:"), std::string::npos);
}

TEST_F(WagiServer, ManyRequestsInParallel) {
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 32; ++i) {
    futures.push_back(std::async(std::launch::async, [i] {
      auto r = get("/env/p" + std::to_string(i));
      return r.status == 200 && env_of(r.body, "PATH_INFO") == "/p" + std::to_string(i) ? 1 : 0;
    }));
  }
  int ok = 0;
  for (auto& f : futures) ok += f.get();
  EXPECT_EQ(ok, 32);
}

// Sends `count` requests one after another on one keep-alive connection (so
// one I/O thread serves them all) and returns the answers.
std::vector<HttpResponse> in_turn_on_one_connection(uint16_t port, int count,
                                                    const std::function<std::string(int)>& target,
                                                    const std::function<std::string(int)>& body) {
  std::vector<HttpResponse> answers;
  LoopbackConnection c(port);
  for (int i = 0; i < count && c.ok(); ++i) {
    const std::string b = body(i);
    HttpResponse r = c.exchange("POST " + target(i) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                std::to_string(b.size()) + "\r\n\r\n" + b);
    if (r.status == 0) break;
    answers.push_back(std::move(r));
  }
  return answers;
}

uint64_t made_ahead(const RunningApp& app, const std::string& component) {
  const std::string text = app.metrics->render();
  const std::string key = "wink_instances_made_ahead_total{app=\"wagitest\",component=\"" + component + "\"} ";
  const size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

// From the third request in a row to a component on one I/O thread, its
// instance is made ahead, after the previous answer went out. An attacker's
// guest keeps what it saw in static memory and prints what it finds there:
// every run finds a fresh instance (run 1, nothing kept) bound to its own
// request (its query and body, not the previous one's, not none).
TEST_F(WagiServer, InstancesMadeAheadStartFreshWithTheirOwnRequest) {
  const uint64_t before = made_ahead(*app_, "fresh");
  auto query = [](int i) { return "n" + std::to_string(i); };
  auto body = [](int i) { return std::string(static_cast<size_t>(i % 5) * 9, static_cast<char>('a' + i)); };
  auto answers = in_turn_on_one_connection(app_->port(), 24, [&](int i) { return "/fresh?" + query(i); }, body);
  ASSERT_EQ(answers.size(), 24u);
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(answers[i].status, 200) << i;
    EXPECT_EQ(answers[i].body, "runs=1 kept=\nquery=" + query(i) + " body=" + body(i) + "\n") << i;
  }
  // (The first two had none; an idle pause over 100 ms drops one made.)
  EXPECT_GE(made_ahead(*app_, "fresh") - before, 12u) << "instances were made ahead: this test saw them";
}

// An instance made ahead holds a memory slot only while its thread has
// traffic: once requests stop, it is freed within 100 ms of idle (a stranger's
// app that got a burst keeps nothing made on the node).
TEST_F(WagiServer, InstancesMadeAheadAreFreedOnceTrafficStops) {
  auto& pool = runtime::MemoryPool::instance();
  auto slots_become = [&](uint64_t want, std::chrono::milliseconds within) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (pool.slots_in_use() != want && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pool.slots_in_use() == want;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // earlier tests' instances let go
  const uint64_t idle = pool.slots_in_use();
  LoopbackConnection c(app_->port());
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(c.exchange("GET /fresh HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
  }
  EXPECT_TRUE(slots_become(idle + 1, std::chrono::milliseconds(50))) << "one made ahead: " << pool.slots_in_use();
  EXPECT_TRUE(slots_become(idle, std::chrono::seconds(2))) << "still held: " << pool.slots_in_use();
}

// A module with a start function runs guest code when instantiated: such an
// instance is never made ahead (that code could act for, or depend on, its
// request). Each request still gets an instance whose start ran once, and
// the start function's fd_write (the CGI head) reached the request's stdout:
// its WASI calls see the instance's memory.
TEST_F(WagiServer, ModulesWithAStartFunctionAreNotMadeAhead) {
  auto answers = in_turn_on_one_connection(
      app_->port(), 8, [](int) { return std::string("/start-section"); }, [](int) { return std::string(); });
  ASSERT_EQ(answers.size(), 8u);
  for (const HttpResponse& r : answers) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "text/plain");
    EXPECT_EQ(r.body, "start;main 1\n");
  }
  EXPECT_EQ(made_ahead(*app_, "start-section"), 0u);
}

TEST(WagiApp, NoMatchingRouteIs404) {
  auto dir = make_scratch_dir("wagi-404-test");
  write_text(dir / "wink.toml", "[app]\nname = \"n\"\n[[route]]\npath = \"/only\"\ncomponent = \"c\"\n"
                                "[component.c]\nsource = \"" + guest("wagi_behave").string() + "\"\n");
  auto m = manifest::load(dir);
  ASSERT_TRUE(m.ok()) << m.error().message;
  engine::Engine engine({.data_dir = test_data_dir()});
  auto app = wagi::App::load(std::move(*m), engine, {.log = nullptr});
  ASSERT_TRUE(app.ok()) << app.error().message;
  http::Request req;
  req.method = "GET";
  req.path = "/other";
  http::Response resp;
  (*app)->handle(req, resp);
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(resp.body, "");
  req.path = "/only";
  http::Response ok;
  (*app)->handle(req, ok);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  std::filesystem::remove_all(dir);
}

TEST(WagiApp, LoadRefusesModuleWithoutStart) {
  auto dir = make_scratch_dir("wagi-nostart-test");
  // A valid module with no exports at all.
  const unsigned char empty_module[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  std::ofstream(dir / "empty.wasm", std::ios::binary)
      .write(reinterpret_cast<const char*>(empty_module), sizeof empty_module);
  write_text(dir / "wink.toml", "[app]\nname = \"n\"\n[[route]]\npath = \"/\"\ncomponent = \"c\"\n"
                                "[component.c]\nsource = \"empty.wasm\"\n");
  auto m = manifest::load(dir);
  ASSERT_TRUE(m.ok()) << m.error().message;
  engine::Engine engine({.data_dir = test_data_dir()});
  auto app = wagi::App::load(std::move(*m), engine, {.log = nullptr});
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.error().message.find("no _start export"), std::string::npos)
      << app.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
