// The wink_reactor import module against a hostile guest: every import gets
// pointers and lengths at and past the end of memory, wrapping sums, and a
// module without a memory at all; each call answers with an error code (or a
// trap), the host never reads or writes outside the guest's memory.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/engine.h"
#include "host/reactor.h"

namespace wink::host {
namespace {

std::shared_ptr<engine::Module> load_guest(const char* name) {
  static engine::Engine* engine = [] {
    engine::EngineConfig config;
    config.data_dir = WINK_TEST_CACHE_DIR;
    config.compile.opt_level = 1;
    return new engine::Engine(config);
  }();
  auto m = engine->load_file(std::string(WINK_GUEST_DIR) + "/" + name + ".wasm");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

engine::Value i32(uint32_t v) { return {'i', v}; }

// One guest instance with its wink_reactor state and a request's variables.
struct Probe {
  explicit Probe(const char* guest) {
    module = load_guest(guest);
    if (!module) return;
    runtime::HostModule* hosts[] = {&reactor};
    auto created = engine::Instance::create(module, hosts);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    if (created.ok()) instance = std::move(*created);
    reactor.state().vars = &vars;
  }
  // request_var(name, name_len, buf, cap) as the guest calls it.
  int32_t request_var(uint32_t name, uint32_t name_len, uint32_t buf, uint32_t cap) {
    engine::Value args[] = {i32(name), i32(name_len), i32(buf), i32(cap)};
    runtime::Outcome outcome;
    auto r = instance->invoke("probe", args, &outcome);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? static_cast<int32_t>((*r)[0].bits) : INT32_MIN;
  }
  std::shared_ptr<engine::Module> module;
  std::unique_ptr<engine::Instance> instance;
  ReactorContext reactor;
  std::vector<std::string> vars = {"REQUEST_METHOD=GET", "X_LONG=" + std::string(300, 'v')};
};

constexpr uint32_t kPage = 65536;
constexpr uint32_t kNameLen = 14;  // "REQUEST_METHOD" at address 0

TEST(ReactorImports, InBoundsCallsWork) {
  Probe p("host_reactor_probe");
  ASSERT_TRUE(p.instance);
  EXPECT_EQ(p.request_var(0, kNameLen, 100, 16), 3);
  EXPECT_EQ(std::memcmp(p.instance->memory()->data + 100, "GET", 3), 0);
  // A buffer ending exactly at the end of memory is still inside it.
  EXPECT_EQ(p.request_var(0, kNameLen, kPage - 3, 3), 3);
  EXPECT_EQ(std::memcmp(p.instance->memory()->data + kPage - 3, "GET", 3), 0);
  EXPECT_EQ(p.request_var(0, 5, 100, 16), -1);  // "REQUE" is not a variable
  p.reactor.state().vars = nullptr;              // between requests
  EXPECT_EQ(p.request_var(0, kNameLen, 100, 16), -1);
}

TEST(ReactorImports, EveryPointerAndLengthPastMemoryIsAFault) {
  Probe p("host_reactor_probe");
  ASSERT_TRUE(p.instance);
  const uint32_t hostile[] = {kPage - 1, kPage, kPage + 1, 0x7fffffffu, 0x80000000u, 0xfffffff0u, 0xffffffffu};
  for (uint32_t bad : hostile) {
    SCOPED_TRACE(bad);
    // The name or the buffer starts past the end, or its length runs past it
    // (including sums that wrap a 32-bit address).
    EXPECT_EQ(p.request_var(bad, kNameLen, 100, 16), -2);
    EXPECT_EQ(p.request_var(0, bad, 100, 16), uint64_t{bad} > kPage ? -2 : -1);  // a name up to the end is inside
    EXPECT_EQ(p.request_var(0, kNameLen, bad, 16), -2);
    EXPECT_EQ(p.request_var(0, kNameLen, 100, bad), -2);
    EXPECT_EQ(p.request_var(bad, bad, bad, bad), -2);
    EXPECT_EQ(p.request_var(0xffffffffu, 1, 0xffffffffu, 1), -2);
  }
  // One byte short of the end is still inside; one byte over is not.
  EXPECT_EQ(p.request_var(kPage - kNameLen, kNameLen, 100, 16), -1);  // zero bytes: no such name
  EXPECT_EQ(p.request_var(kPage - kNameLen + 1, kNameLen, 100, 16), -2);
  EXPECT_EQ(p.request_var(0, kNameLen, kPage - 16, 16), 3);
  EXPECT_EQ(p.request_var(0, kNameLen, kPage - 15, 16), -2);
  // A value longer than the buffer: the length comes back, only cap bytes move.
  std::memset(p.instance->memory()->data + 200, 0, 64);
  std::memcpy(p.instance->memory()->data + 100, "X_LONG", 6);
  EXPECT_EQ(p.request_var(100, 6, 200, 10), 300);
  EXPECT_EQ(p.instance->memory()->data[209], 'v');
  EXPECT_EQ(p.instance->memory()->data[210], 0);
}

TEST(ReactorImports, KeepAwakeTakesAnyValue) {
  Probe p("host_reactor_probe");
  ASSERT_TRUE(p.instance);
  for (uint32_t ms : {0u, 1u, 60000u, 0x7fffffffu, 0xffffffffu}) {
    engine::Value args[] = {i32(ms)};
    auto r = p.instance->invoke("awake", args);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(p.reactor.state().keep_awake_ms, int64_t{ms});  // lifecycle caps it
  }
}

// Before: with no memory, request_var(0, 0, 0, 0) passed the bounds check
// (0 + 0 <= 0) and dereferenced the null memory: a host crash.
TEST(ReactorImports, AModuleWithoutMemoryGetsAFault) {
  Probe p("host_reactor_nomem");
  ASSERT_TRUE(p.instance);
  EXPECT_EQ(p.instance->memory(), nullptr);
  EXPECT_EQ(p.request_var(0, 0, 0, 0), -2);
  EXPECT_EQ(p.request_var(0, 14, 0, 16), -2);
  EXPECT_EQ(p.request_var(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu), -2);
  engine::Value args[] = {i32(5)};
  EXPECT_TRUE(p.instance->invoke("awake", args).ok());
}

}  // namespace
}  // namespace wink::host
