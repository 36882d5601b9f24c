// Import resolution: every function of the real WASI 0.2.12 WIT (and the
// keyvalue/config drafts) resolves with its declared type; a mismatched
// type, an unknown item or another major version is refused by name.
#include <gtest/gtest.h>

#include "harness.h"
#include "wasi2/signature.h"

namespace wink::wasi2 {
namespace {

using component::ValKind;
using testing::WitImports;

component::ValTypePtr T(ValKind k) { return component::primitive(k); }

TEST(Wasi2Signature, PatternsMatchShapesAndLabels) {
  component::FuncType f;
  f.params = {{"self", component::make_borrow(1)}, {"contents", *component::make_list(T(ValKind::U8))}};
  auto err = *component::make_variant({{"last-operation-failed", component::make_own(2)}, {"closed", nullptr}});
  f.result = *component::make_result(nullptr, err);
  EXPECT_TRUE(check_signature(f, "(borrow, list<u8>) -> result<_, variant{last-operation-failed: own, closed}>").ok());
  // A different label, a missing payload, an extra parameter, own for borrow, another element type.
  EXPECT_FALSE(check_signature(f, "(borrow, list<u8>) -> result<_, variant{failed: own, closed}>").ok());
  EXPECT_FALSE(check_signature(f, "(borrow, list<u8>) -> result<_, variant{last-operation-failed, closed}>").ok());
  EXPECT_FALSE(check_signature(f, "(borrow, list<u8>, u64) -> result<_, variant{last-operation-failed: own, closed}>").ok());
  EXPECT_FALSE(check_signature(f, "(own, list<u8>) -> result<_, variant{last-operation-failed: own, closed}>").ok());
  EXPECT_FALSE(check_signature(f, "(borrow, list<u16>) -> result<_, variant{last-operation-failed: own, closed}>").ok());
  EXPECT_FALSE(check_signature(f, "(borrow, list<u8>)").ok());
  auto bad = check_signature(f, "(borrow, list<u8> -> ");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("malformed"), std::string::npos);
  EXPECT_TRUE(matches_type(*component::make_enum({"a", "b"}).value(), "enum{a, b}"));
  EXPECT_FALSE(matches_type(*component::make_enum({"a", "b"}).value(), "enum{a, b, c}"));
  EXPECT_TRUE(matches_type(*component::make_flags({"read", "write"}).value(), "flags{read, write}"));
  EXPECT_TRUE(matches_type(*component::make_tuple({T(ValKind::U64), T(ValKind::U64)}).value(), "tuple<u64, u64>"));
  EXPECT_FALSE(matches_type(*component::make_tuple({T(ValKind::U64)}).value(), "tuple<u64, u64>"));
}

TEST(Wasi2Signature, EveryFunctionOfTheRealWitResolves) {
  WASI2_NEED_WIT();
  testing::Host host;
  const auto& w = WitImports::get();
  size_t resolved = 0;
  for (const auto& [key, f] : w.funcs) {
    auto r = host.provider->function(f.iface, f.item, *f.type);
    EXPECT_TRUE(r.ok()) << key << ": " << (r.ok() ? "" : r.error().message);
    resolved += r.ok();
  }
  for (const auto& [iface, name] : w.resources) {
    auto r = host.provider->resource(iface, name);
    EXPECT_TRUE(r.ok()) << iface.text << "#" << name << ": " << (r.ok() ? "" : r.error().message);
  }
  // io, clocks, random, cli, filesystem, sockets, http, keyvalue, config: all of them.
  EXPECT_EQ(resolved, w.funcs.size());
  EXPECT_GT(resolved, 150u);
  EXPECT_GT(w.resources.size(), 20u);
}

TEST(Wasi2Signature, MismatchedTypeIsRefusedNamingInterfaceItemAndExpectedType) {
  WASI2_NEED_WIT();
  testing::Host host;
  const auto& w = WitImports::get();
  const auto& write = w.funcs.at("wasi:io/streams#[method]output-stream.write");
  component::FuncType wrong = *write.type;
  wrong.params[1].type = *component::make_list(T(ValKind::U32));  // list<u32> instead of list<u8>
  auto r = host.provider->function(write.iface, write.item, wrong);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("wasi:io/streams@0.2.12#[method]output-stream.write"), std::string::npos) << m;
  EXPECT_NE(m.find("list<u32>"), std::string::npos) << m;
  EXPECT_NE(m.find("(borrow, list<u8>)"), std::string::npos) << m;
}

TEST(Wasi2Signature, UnknownItemsAndOtherVersionsAreRefused) {
  WASI2_NEED_WIT();
  testing::Host host;
  const auto& now = WitImports::get().funcs.at("wasi:clocks/monotonic-clock#now");
  auto unknown = host.provider->function(now.iface, "later", *now.type);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("monotonic-clock@0.2.12#later"), std::string::npos);
  for (const char* v : {"wasi:clocks/monotonic-clock@0.3.0", "wasi:clocks/monotonic-clock@0.1.0"}) {
    auto name = component::parse_extern_name(v);
    ASSERT_TRUE(name.ok());
    auto r = host.provider->function(*name, "now", *now.type);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_NE(r.error().message.find("not supported"), std::string::npos);
  }
  // Any 0.2.x minor resolves.
  auto minor = component::parse_extern_name("wasi:clocks/monotonic-clock@0.2.0");
  EXPECT_TRUE(host.provider->function(*minor, "now", *now.type).ok());
  auto plain = component::parse_extern_name("now");
  EXPECT_FALSE(host.provider->function(*plain, "", *now.type).ok());
  auto other = component::parse_extern_name("acme:thing/api@0.2.0");
  EXPECT_FALSE(host.provider->function(*other, "now", *now.type).ok());
  EXPECT_FALSE(host.provider->resource(*other, "thing").ok());
}

}  // namespace
}  // namespace wink::wasi2
