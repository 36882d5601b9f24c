// End to end: a real component (tests/wasi2/http_app.c wrapped by the
// pinned jco with the WASI preview1 adapter) loaded by the linker against
// wink's WASI 0.2 host, one instance per request, called through
// wasi:http/incoming-handler with the reps of an HttpExchange.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "linker/linker.h"
#include "wasi2/wasi2.h"

namespace wink::wasi2 {
namespace {

using component::Value;

#ifdef WINK_WASI2_FIXTURES
std::vector<uint8_t> app_bytes() {
  std::ifstream in(std::string(WINK_WASI2_FIXTURES) + "/http_app.wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class Wasi2Component : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.log = [this](std::string_view stream, std::string_view line) {
      log_ += std::string(stream) + ": " + std::string(line) + "\n";
    };
    auto provider = Provider::create(std::move(config));
    ASSERT_TRUE(provider.ok()) << provider.error().message;
    provider_ = std::move(provider.value());
    engine::EngineConfig ec;
    ec.data_dir = WINK_TEST_CACHE_DIR;
    engine_ = std::make_unique<engine::Engine>(ec);
    auto bytes = app_bytes();
    ASSERT_FALSE(bytes.empty());
    auto c = linker::load_component(*engine_, bytes, *provider_);
    // wit-component wraps an exported interface that uses imported resource
    // types in a nested component; until the linker instantiates those,
    // this end-to-end test cannot run.
    if (!c.ok() && c.error().message.find("nested components are not supported") != std::string::npos) {
      GTEST_SKIP() << c.error().message;
    }
    ASSERT_TRUE(c.ok()) << c.error().message;
    component_ = *c;
    handler_ = component_->find_instance("wasi:http/incoming-handler");
    ASSERT_EQ(handler_, "wasi:http/incoming-handler@0.2.12");
  }

  // One request on a fresh instance; the call's result.
  Result<std::vector<Value>> serve(HttpExchange& x) {
    auto inst = linker::instantiate(component_, {.max_memory_pages = 1024, .deadline = std::chrono::seconds(10)});
    if (!inst) return std::move(inst).error();
    auto& state = static_cast<State&>((*inst)->host_state());
    WINK_ASSIGN_OR_RETURN(ExchangeReps reps, state.begin_exchange(x));
    return (*inst)->call(handler_, "handle", {Value::handle(reps.request), Value::handle(reps.response_out)});
  }

  std::unique_ptr<Provider> provider_;
  std::unique_ptr<engine::Engine> engine_;
  std::shared_ptr<const linker::LoadedComponent> component_;
  std::string handler_;
  std::string log_;
};

TEST_F(Wasi2Component, StreamsAMebibyteBothWays) {
  std::string body(1u << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  size_t given = 0, reads = 0;
  HttpExchange x;
  x.method = "POST";
  x.path_with_query = "/echo?x=1";
  x.authority = "app.test";
  x.body = [&](char* buf, size_t max) -> Result<size_t> {
    ++reads;
    size_t n = std::min({max, size_t{65536}, body.size() - given});
    std::memcpy(buf, body.data() + given, n);
    given += n;
    return n;
  };
  std::string out;
  size_t chunks = 0, bytes_at_head = 1;
  x.on_response = [&](HttpExchange& e) -> Result<void> {
    bytes_at_head = e.body_bytes;
    return {};
  };
  x.body_sink = [&](std::string_view c) -> Result<void> {
    ++chunks;
    out.append(c);
    return {};
  };
  auto r = serve(x);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(x.responded);
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(bytes_at_head, 0u);  // the head went out before any body byte
  ASSERT_EQ(x.response_headers.size(), 2u);
  EXPECT_EQ(x.response_headers[0], (std::pair<std::string, std::string>{"x-path", "/echo?x=1"}));
  EXPECT_TRUE(x.body_finished);
  EXPECT_EQ(out.size(), 5 + body.size());
  EXPECT_TRUE(out == "echo:" + body);
  EXPECT_GE(reads, 16u);     // read in pieces as the guest asked
  EXPECT_GE(chunks, 256u);   // written through in the guest's 4 KiB writes, not at the end
  EXPECT_NE(log_.find("stdout: handling /echo?x=1"), std::string::npos) << log_;
}

TEST_F(Wasi2Component, AGuestTrapIsAnErrorAndNoResponse) {
  HttpExchange x;
  x.path_with_query = "/trap";
  auto r = serve(x);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("trap", 0), 0u) << r.error().message;
  EXPECT_FALSE(x.responded);
}

TEST_F(Wasi2Component, PerRequestCost) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> us;
  for (int i = 0; i < 30; ++i) {
    HttpExchange x;
    x.path_with_query = "/";
    std::string out;
    x.body_sink = [&](std::string_view c) -> Result<void> {
      out.append(c);
      return {};
    };
    auto t = Clock::now();
    auto r = serve(x);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(out, "echo:");
  }
  std::sort(us.begin(), us.end());
  std::printf("[ figures  ] wasi:http C component, instantiate + handle + destroy: median %.1f us, p90 %.1f us\n",
              us[us.size() / 2], us[us.size() * 9 / 10]);
  EXPECT_LT(us[us.size() / 2], 50'000.0);  // generous: a shared 2-core machine
}
#endif

}  // namespace
}  // namespace wink::wasi2
