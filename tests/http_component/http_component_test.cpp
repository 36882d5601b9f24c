// wasi:http components served by `wink up` over real HTTP, compared with
// what `jco serve` (the reference host, pinned jco) answers to the same
// request: examples/c-http (a C handler) and the JavaScript examples
// (js-hello, js-kv, built by the test build with componentize-js; their
// 9 MB StarlingMonkey engine is compiled by the quick tier, cached in
// build/js-component-data, see docs/components.md).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "support/wink_up.h"
#include "support/http_client.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

#ifdef WINK_COMPONENT_EXAMPLES
constexpr const char* kExamples = WINK_COMPONENT_EXAMPLES;
constexpr const char* kToolchain = WINK_COMPONENT_TOOLCHAIN_DIR;
constexpr const char* kNode = WINK_NODE_BIN;
#else
constexpr const char* kExamples = "";
constexpr const char* kToolchain = "";
constexpr const char* kNode = "";
#endif

#define REQUIRE_EXAMPLES() \
  if (!*kExamples) GTEST_SKIP() << "built without the component toolchain (npm/node missing)"

// Starts `wink up` or fails with its output.
#define START_OR_SKIP(up, ...)                  \
  do {                                          \
    if (!(up).start(__VA_ARGS__)) FAIL() << (up).output(); \
  } while (0)

// The manifest of one component routed at every path.
std::string manifest_for(const std::string& source, const std::string& extra = "") {
  return "manifest_version = 1\n[app]\nname = \"components\"\n[component.app]\nsource = \"" + source +
         "\"\n" + extra + "[[route]]\npath = \"/...\"\ncomponent = \"app\"\n";
}

// `jco serve FILE` on a free port, stopped by the destructor. It serves the
// component on one instance in Node: a reference for single requests.
class JcoServe {
 public:
  bool start(const fs::path& component, std::chrono::seconds timeout = 120s) {
    port_ = free_port();
    std::string jco = std::string(kToolchain) + "/node_modules/@bytecodealliance/jco/dist/jco.js";
    process_ = Process::spawn({kNode, jco, "serve", "--port", std::to_string(port_), component.string()},
                              {.stderr_to = SpawnOptions::Stderr::kIntoStdout});
    return process_ && process_->wait_for_output("listening", timeout);
  }
  uint16_t port() const { return port_; }

 private:
  std::unique_ptr<Process> process_;  // killed with the JcoServe
  uint16_t port_ = 0;
};

// Node and wink frame a body without a length as chunked (wink streams it).
std::string dechunk(const HttpResponse& r) { return r.content(); }

// The headers the guest set: what both hosts must agree on. Framing,
// connection and date fields are each server's own, and wink adds its
// request id and Server-Timing.
std::set<std::pair<std::string, std::string>> guest_headers(const HttpResponse& r) {
  static const std::set<std::string> kServerOwned = {"content-length", "transfer-encoding", "connection",
                                                     "keep-alive", "date", "x-request-id", "server-timing"};
  std::set<std::pair<std::string, std::string>> out;
  for (auto [name, value] : r.headers) {
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!kServerOwned.count(name)) out.emplace(name, value);
  }
  return out;
}

void expect_same(const HttpResponse& wink, const HttpResponse& jco, const std::string& what) {
  EXPECT_EQ(wink.status, jco.status) << what;
  EXPECT_EQ(guest_headers(wink), guest_headers(jco)) << what;
  std::string a = dechunk(wink), b = dechunk(jco);
  EXPECT_EQ(a.size(), b.size()) << what;
  EXPECT_TRUE(a == b) << what << ": bodies differ";
}

std::string random_bytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng());
  return s;
}

class CHttpComponent : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_EXAMPLES();
    dir_ = scratch_dir("c-http");
    fs::copy_file(fs::path(kExamples) / "c-http.wasm", dir_ / "c-http.wasm");
  }
  fs::path dir_;
};

TEST_F(CHttpComponent, AnswersLikeJcoServe) {
  WinkUp up;
  START_OR_SKIP(up, dir_, manifest_for("c-http.wasm"));
  JcoServe jco;
  ASSERT_TRUE(jco.start(dir_ / "c-http.wasm"));
  auto w = up.get("/");
  auto j = http_request(jco.port(), "GET", "/");
  EXPECT_EQ(w.status, 200) << up.output();
  EXPECT_EQ(dechunk(w), "Hello from C!\n");
  EXPECT_EQ(w.header("x-wink-example"), "c-http");
  EXPECT_FALSE(w.header("server-timing").empty());
  expect_same(w, j, "GET /");
  // A 1 MiB body streamed in and back out, on both.
  const std::string big = random_bytes(1u << 20);
  auto we = http_request(up.port(), "POST", "/echo", {}, big);
  auto je = http_request(jco.port(), "POST", "/echo", {}, big);
  EXPECT_EQ(we.status, 200);
  EXPECT_TRUE(dechunk(we) == big) << "echo returned " << dechunk(we).size() << " bytes";
  expect_same(we, je, "POST /echo 1 MiB");
  EXPECT_EQ(up.stop(), 0) << up.output();
}

TEST_F(CHttpComponent, TrapIs500AndTheNextRequestIsServed) {
  WinkUp up;
  START_OR_SKIP(up, dir_, manifest_for("c-http.wasm"));
  auto r = up.get("/trap");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(up.wait_for_output("\"cause\":\"trap:", 5s)) << up.output();
  // jco serve's Node process dies on the same request; wink's next instance is fresh.
  EXPECT_EQ(up.get("/").status, 200);
  up.stop();
}

TEST_F(CHttpComponent, EndlessLoopIs504AtTheDeadline) {
  WinkUp up;
  START_OR_SKIP(up, dir_, manifest_for("c-http.wasm", "deadline = \"1s\"\n"));
  auto t0 = std::chrono::steady_clock::now();
  auto r = up.get("/loop");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 30s);
  EXPECT_EQ(up.get("/").status, 200);
  up.stop();
}

TEST_F(CHttpComponent, MemoryLimitBelowWhatTheComponentNeedsIs500) {
  // wasi-libc's initial memory (stack and data) is more than one 64 KiB page.
  WinkUp up;
  START_OR_SKIP(up, dir_, manifest_for("c-http.wasm", "memory_limit = \"64KiB\"\n"));
  EXPECT_EQ(up.get("/").status, 500);
  EXPECT_TRUE(up.wait_for_output("\"cause\":\"instantiate\"", 5s)) << up.output();
  up.stop();
}

TEST_F(CHttpComponent, MalformedComponentIsRefusedWithAPosition) {
  // A module of other bytes with a component header is refused at load, with the position.
  std::string bad = std::string("\0asm\x0d\0\x01\0", 8) + "\x01\xff";
  std::ofstream(dir_ / "bad.wasm", std::ios::binary) << bad;
  WinkUp up;
  EXPECT_FALSE(up.start(dir_, manifest_for("bad.wasm"), {}, 30s));
  EXPECT_NE(up.output().find("byte offset"), std::string::npos) << up.output();
}

// ---- JavaScript (componentize-js) ----
// The JS engine (12,700 functions) is compiled by the quick tier only
// (`-O 0`: wasm2c in function ranges, then TinyCC; about 20 s from cold on 2
// cores, once per build tree: the data directory is kept), so these run in
// the suite; the optimized -O2 build (minutes) is the benchmarks' business.

std::vector<std::string> js_args() {
  return {"--data-dir", (fs::path(WINK_TEST_CACHE_DIR).parent_path() / "js-component-data").string(), "-O", "0"};
}

TEST(JsComponents, HelloAnswersLikeJcoServeThrowIs500LoopIs504) {
  REQUIRE_EXAMPLES();
  ASSERT_TRUE(fs::exists(fs::path(kExamples) / "js-hello.wasm")) << "the test build makes it (component_examples)";
  auto dir = scratch_dir("js-hello");
  fs::copy_file(fs::path(kExamples) / "js-hello.wasm", dir / "js-hello.wasm");
  WinkUp up;
  START_OR_SKIP(up, dir, manifest_for("js-hello.wasm", "deadline = \"3s\"\n"), js_args(), 600s);
  auto w = up.get("/hi");
  // jco serve answers one request per process (StarlingMonkey reuses its
  // event): a fresh one per compared request.
  {
    JcoServe jco;
    ASSERT_TRUE(jco.start(dir / "js-hello.wasm"));
    expect_same(w, http_request(jco.port(), "GET", "/hi"), "GET /hi");
  }
  EXPECT_EQ(dechunk(w), "Hello from JavaScript! GET /hi\n");
  const std::string big = random_bytes(1u << 20);
  auto e = http_request(up.port(), "POST", "/echo", {"Content-Type: application/x-test"}, big);
  EXPECT_EQ(e.status, 200);
  EXPECT_TRUE(dechunk(e) == big) << e.body.size();
  EXPECT_EQ(up.get("/throw").status, 500);
  EXPECT_EQ(up.get("/loop").status, 504);
  EXPECT_EQ(up.get("/").status, 200);
  up.stop();
}

TEST(JsComponents, KeyValueAndConfig) {
  REQUIRE_EXAMPLES();
  ASSERT_TRUE(fs::exists(fs::path(kExamples) / "js-kv.wasm")) << "the test build makes it (component_examples)";
  auto dir = scratch_dir("js-kv");
  fs::copy_file(fs::path(kExamples) / "js-kv.wasm", dir / "js-kv.wasm");
  auto data = js_args();
  WinkUp up;
  ::setenv("WINK_VAR_GREETING", "Bonjour", 1);
  START_OR_SKIP(up, dir,
                       "manifest_version = 1\n[app]\nname = \"kv\"\n[variables]\ngreeting = { default = \"Hello\" }\n"
                       "[component.app]\nsource = \"js-kv.wasm\"\nkey_value_stores = [\"default\"]\n"
                       "variables = [\"greeting\"]\n[[route]]\npath = \"/...\"\ncomponent = \"app\"\n",
                       data, 600s);
  ::unsetenv("WINK_VAR_GREETING");
  auto first = up.get("/");
  auto second = up.get("/");
  EXPECT_EQ(first.status, 200) << up.output();
  EXPECT_NE(dechunk(first), dechunk(second));
  EXPECT_EQ(dechunk(second).rfind("Bonjour, visitor ", 0), 0u) << second.body;
  EXPECT_EQ(http_request(up.port(), "PUT", "/k1", {}, "value-1").status, 204);
  auto got = up.get("/k1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(dechunk(got), "value-1");
  EXPECT_EQ(up.get("/missing").status, 404);
  up.stop();
}

}  // namespace
}  // namespace wink::test
