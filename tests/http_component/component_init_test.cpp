// `init` on wasi:http components (docs/components.md, "init") and the rule
// that decides whether a per-request instance is restored from the
// component's image, over real HTTP through `wink up`. The guest is
// tests/http_component/init_app.c (world http-init-app, init_world.wit):
// `init` fills a 1 MiB table with non-zero bytes and sets counter = 100;
// every request reports the table's sum and the counter, then zeroes a page
// of the table and bumps the counter.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "support/http_client.h"
#include "support/wink_up.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef WINK_INIT_APPS
constexpr const char* kApps = WINK_INIT_APPS;
#else
constexpr const char* kApps = "";
#endif

// What init_app.c's init writes: the sum of its 1 MiB table.
uint64_t table_sum() {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < (1u << 20); ++i) sum += static_cast<uint8_t>(i * 7 + 1) | 1;
  return sum;
}

std::string field(const std::string& body, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex(name + "=(-?\\d+)"))) return "?";
  return m[1].str();
}

class ComponentInit : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!*kApps) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
    ::unsetenv("WINK_COMPONENT_RESTORE");
    dir_ = scratch_dir("component-init");
    for (const char* name : {"init-app.wasm", "init-data.wasm", "state-one.wasm"}) {
      fs::copy_file(fs::path(kApps) / name, dir_ / name, fs::copy_options::overwrite_existing);
    }
  }
  // One component "app" on every path, with `fields` in its table.
  static std::string manifest(const std::string& fields, const std::string& source = "init-app.wasm") {
    return "manifest_version = 1\n[app]\nname = \"init\"\n"
           "[component.app]\nsource = \"" + source + "\"\n" + fields +
           "[[route]]\npath = \"/...\"\ncomponent = \"app\"\n";
  }
  // Starts `wink up` on a manifest that must be refused; its output.
  std::string refused(const std::string& manifest_text) {
    WinkUp up;
    EXPECT_FALSE(up.start(dir_, manifest_text, {}, 60s)) << up.output();
    for (int i = 0; i < 100 && !up.exited(); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(up.exited()) << up.output();
    std::string out = up.output();
    up.stop();
    return out;
  }
  fs::path dir_;
};

TEST_F(ComponentInit, EveryRequestStartsFromInitAndNoneSeesAnothersWrites) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("init = \"init\"\n"))) << up.output();
  EXPECT_TRUE(up.wait_for_output("\"mode\":\"restore\"", 5s)) << up.output();
  EXPECT_NE(up.output().find("\"mode\":\"restore\",\"reason\":\"init ran"), std::string::npos) << up.output();
  const std::string want = "table=" + std::to_string(table_sum()) + " first=1 counter=100 inits=1 ";
  for (int i = 0; i < 5; ++i) {  // each one zeroed a page of the table and bumped the counter
    auto r = up.get("/");
    ASSERT_EQ(r.status, 200) << up.output();
    EXPECT_EQ(r.content().rfind(want, 0), 0u) << "request " << i << ": " << r.content();
  }
  up.stop();
}

TEST_F(ComponentInit, AReactorStartsFromInitThenKeepsItsState) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("executor = \"reactor\"\ninit = \"init\"\nmax_instances = 1\n"))) << up.output();
  auto first = up.get("/");
  ASSERT_EQ(first.status, 200) << up.output();
  EXPECT_EQ(first.content().rfind("table=" + std::to_string(table_sum()) + " first=1 counter=100 inits=1 ", 0), 0u)
      << first.content();
  auto second = up.get("/");  // the same instance: the first request's writes are its own
  EXPECT_EQ(field(second.content(), "counter"), "101") << second.content();
  EXPECT_EQ(field(second.content(), "first"), "0") << second.content();
  up.stop();
}

TEST_F(ComponentInit, AReactorsWarmupRequestsAreInItsStartState) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("executor = \"reactor\"\ninit = \"init\"\nwarmup = [\"/\", \"/w\"]\n")))
      << up.output();
  auto r = up.get("/");  // init set 100, each warm-up request added one
  ASSERT_EQ(r.status, 200) << up.output();
  EXPECT_EQ(field(r.content(), "counter"), "102") << r.content();
  up.stop();
}

TEST_F(ComponentInit, ATrappingInitStopsTheDeployNamingIt) {
  std::string out = refused(manifest("init = \"init-trap\"\n"));
  EXPECT_NE(out.find("init `init-trap` trapped: unreachable"), std::string::npos) << out;
  out = refused(manifest("executor = \"reactor\"\ninit = \"init-trap\"\n"));
  EXPECT_NE(out.find("init `init-trap` trapped: unreachable"), std::string::npos) << out;
}

TEST_F(ComponentInit, AnInitThatExitsStopsTheDeploy) {
  std::string out = refused(manifest("init = \"init-exit\"\n"));
  EXPECT_NE(out.find("init `init-exit` called exit("), std::string::npos) << out;
}

TEST_F(ComponentInit, AnInitThatNeverReturnsIsStoppedAtItsDeadline) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string out = refused(manifest("init = \"init-loop\"\ninit_deadline = \"300ms\"\n"));
  EXPECT_NE(out.find("init `init-loop` ran past its deadline of 300 ms"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 60s);
}

TEST_F(ComponentInit, AWrongSignatureOrMissingExportIsRefusedWithItsPosition) {
  // `init` is on line 6 (7 after `executor`), column 8.
  std::string out = refused(manifest("init = \"init-with-arg\"\n"));
  EXPECT_NE(out.find("wink.toml:6:8: init `init-with-arg` must take no parameters and return nothing, but its type "
                     "is func(n: u32)"),
            std::string::npos)
      << out;
  out = refused(manifest("executor = \"reactor\"\ninit = \"init-returns\"\n"));
  EXPECT_NE(out.find("wink.toml:7:8: init `init-returns` must take no parameters and return nothing"),
            std::string::npos)
      << out;
  out = refused(manifest("init = \"no-such-init\"\n"));
  EXPECT_NE(out.find("wink.toml:6:8: init `no-such-init`: the component exports no such function (it exports: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("init-with-arg"), std::string::npos) << out;  // the list names what there is
}

TEST_F(ComponentInit, AnInitThatGrowsMemoryStopsAtTheMemoryLimit) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest("init = \"init-grow\"\nmemory_limit = \"4MiB\"\n"))) << up.output();
  auto r = up.get("/");
  ASSERT_EQ(r.status, 200) << up.output();
  EXPECT_EQ(field(r.content(), "pages"), "64") << r.content();  // 4 MiB: grown to the limit, no further
  EXPECT_EQ(field(r.content(), "counter"), "100") << r.content();
  auto grow = up.get("/grow");  // a request cannot grow past it either
  EXPECT_EQ(field(grow.content(), "pages"), "64") << grow.content();
  EXPECT_EQ(field(up.get("/").content(), "counter"), "100");
  up.stop();
}

// The rule (no timing): a tiny component instantiates, one whose image holds
// lots of initialized data restores, whatever the machine's load.
TEST_F(ComponentInit, TheImageIsUsedByWhatItHoldsNotByTiming) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_,
                       "manifest_version = 1\n[app]\nname = \"rule\"\n"
                       "[component.tiny]\nsource = \"state-one.wasm\"\n"
                       "[component.big]\nsource = \"init-data.wasm\"\n"
                       "[[route]]\npath = \"/tiny/...\"\ncomponent = \"tiny\"\n"
                       "[[route]]\npath = \"/big/...\"\ncomponent = \"big\"\n"))
      << up.output();
  const std::string& out = up.output();
  EXPECT_NE(out.find("\"msg\":\"component image not used\",\"app\":\"rule\",\"component\":\"tiny\","
                     "\"mode\":\"instantiate\",\"reason\":\"the image holds "),
            std::string::npos)
      << out;
  // Built now, or loaded as an earlier run of this test kept it.
  EXPECT_NE(out.find("\"app\":\"rule\",\"component\":\"big\",\"mode\":\"restore\",\"reason\":\"the image holds "),
            std::string::npos)
      << out;
  // Restored or not, each request starts clean.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(field(up.get("/big/").content(), "counter"), "0");
    EXPECT_EQ(field(up.get("/tiny/").content(), "counter"), "1000");
  }
  up.stop();
}

// Trailers a guest gives outgoing-body.finish: in the chunked trailer
// section of a streamed response, each checked (a field a trailer may not
// carry is left out); with a Content-Length there is no trailer section, so
// they are dropped, and the log says so.
TEST_F(ComponentInit, TrailersGoInTheChunkedTrailerSection) {
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest(""))) << up.output();
  const std::string raw =
      http_exchange(up.port(), "GET /trailers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(raw.rfind("HTTP/1.1 200 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw;
  const std::string end = "3\r\nabc\r\n0\r\nx-checksum: abc123\r\nx-note: two words\r\n\r\n";
  ASSERT_GE(raw.size(), end.size()) << raw;
  EXPECT_EQ(raw.substr(raw.size() - end.size()), end) << raw;
  EXPECT_EQ(raw.find("x/bad"), std::string::npos) << raw;

  const std::string cl =
      http_exchange(up.port(), "GET /trailers-cl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(cl.rfind("HTTP/1.1 200 ", 0), 0u) << cl;
  EXPECT_NE(cl.find("Content-Length: 3\r\n"), std::string::npos) << cl;
  EXPECT_EQ(cl.substr(cl.size() - 7), "\r\n\r\nabc") << cl;
  EXPECT_EQ(cl.find("abc123"), std::string::npos) << cl;
  EXPECT_TRUE(up.wait_for_output("trailers were dropped", 5s)) << up.output();
  up.stop();
}

// A chunked request's trailers reach future-trailers when the body is
// received whole (long-lived instances); a body streamed to a per-request
// instance gets none (its trailers arrive after the guest started).
TEST_F(ComponentInit, RequestTrailersReachAWholeBodysFutureTrailers) {
  const std::string request =
      "POST /trailers-in HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Digest: sha-1\r\nX-Two: b\r\n\r\n";
  {
    WinkUp up;
    ASSERT_TRUE(up.start(dir_, manifest("executor = \"reactor\"\n"))) << up.output();
    const std::string raw = http_exchange(up.port(), request);
    EXPECT_NE(raw.find("body=5 trailers=x-digest:sha-1;x-two:b;"), std::string::npos) << raw << up.output();
    up.stop();
  }
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest(""))) << up.output();
  const std::string raw = http_exchange(up.port(), request);
  EXPECT_NE(raw.find("body=5 trailers=none"), std::string::npos) << raw << up.output();
  up.stop();
}

}  // namespace
}  // namespace wink::test
