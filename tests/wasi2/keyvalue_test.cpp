// wasi:keyvalue on a real SQLite store and wasi:config on the component's
// variables and secrets, through host::Prepared exactly as wink_v1 uses them.
#include <gtest/gtest.h>

#include "harness.h"
#include "host/host.h"
#include "host/kv.h"

namespace wink::wasi2 {
namespace {

using component::Value;
using testing::h;
using testing::Host;
using testing::rep;
using testing::unwrap;

const char* kStore = "wasi:keyvalue/store";

class Wasi2KeyValue : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = std::make_shared<host::Node>();
    auto store = host::open_sqlite_store({dir_.path / "kv.sqlite", false});
    ASSERT_TRUE(store.ok()) << store.error().message;
    node->stores["default"] = *store;
    node->stores["private"] = *store;  // configured on the node, not named by this component
    host::ComponentSpec spec;
    spec.app = "app";
    spec.component = "main";
    spec.stores = {"default"};
    spec.variables["greeting"] = {std::string("hello"), false};
    spec.variables["api_token"] = {std::string("s3cret"), true};
    spec.variables["optional"] = {std::nullopt, false};
    auto prepared = host::Prepared::create(node, spec);
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    Config config;
    config.host = *prepared;
    config.log = [this](std::string_view, std::string_view line) { log_ += std::string(line) + "\n"; };
    config.limits.max_keys_page = 2;
    config.limits.max_batch = 4;
    host_ = std::make_unique<Host>(std::move(config));
  }

  uint32_t open(const std::string& name) { return rep(unwrap(host_->ok(kStore, "open", {Value::string(name)}))); }

  testing::ScratchDir dir_{"kv"};
  std::unique_ptr<Host> host_;
  std::string log_;
};


TEST_F(Wasi2KeyValue, StoreOperationsOnSqlite) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  EXPECT_EQ(host.ok(kStore, "open", {Value::string("private")}), Value::err(Value::variant(0)));  // no-such-store
  EXPECT_EQ(host.ok(kStore, "open", {Value::string("nope")}), Value::err(Value::variant(0)));
  uint32_t b = open("default");
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.get", {h(b), Value::string("k")})), Value::none());
  std::string binary("v\0\xff", 3);
  EXPECT_EQ(host.ok(kStore, "[method]bucket.set", {h(b), Value::string("k"), Value::string(binary)}), Value::ok());
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.get", {h(b), Value::string("k")})).items[0].str, binary);
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.exists", {h(b), Value::string("k")})).bits, 1u);
  EXPECT_EQ(host.ok(kStore, "[method]bucket.delete", {h(b), Value::string("k")}), Value::ok());
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.exists", {h(b), Value::string("k")})).bits, 0u);
  // Limits: empty key, 257-byte key, value over 1 MiB: other(reason).
  for (const std::string& key : {std::string(), std::string(257, 'k')}) {
    Value r = host.ok(kStore, "[method]bucket.set", {h(b), Value::string(key), Value::string("v")});
    ASSERT_EQ(r.bits, 1u);
    EXPECT_EQ(r.items[0].bits, 2u);
  }
  Value big = host.ok(kStore, "[method]bucket.set", {h(b), Value::string("big"), Value::string(std::string((1 << 20) + 1, 'x'))});
  ASSERT_EQ(big.bits, 1u);
  EXPECT_NE(big.items[0].items[0].str.find("limit"), std::string::npos);
  // A bucket rep after drop is dead.
  ASSERT_TRUE(host.drop(kStore, "bucket", b).ok());
  EXPECT_NE(host.trap(kStore, "[method]bucket.get", {h(b), Value::string("k")}).find("not a live bucket"),
            std::string::npos);
}

TEST_F(Wasi2KeyValue, ListKeysPagesWithACursor) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  uint32_t b = open("default");
  for (const char* k : {"e", "a", "c", "b", "d"}) {
    ASSERT_EQ(host.ok(kStore, "[method]bucket.set", {h(b), Value::string(k), Value::string("1")}), Value::ok());
  }
  std::vector<std::string> all;
  Value cursor = Value::none();
  for (int page = 0; page < 10; ++page) {
    Value r = unwrap(host.ok(kStore, "[method]bucket.list-keys", {h(b), cursor}));
    EXPECT_LE(r.items[0].items.size(), 2u);
    for (const Value& k : r.items[0].items) all.push_back(k.str);
    cursor = r.items[1];
    if (cursor.bits == 0) break;
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST_F(Wasi2KeyValue, IncrementAndBatches) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  uint32_t b = open("default");
  EXPECT_EQ(unwrap(host.ok("wasi:keyvalue/atomics", "increment", {h(b), Value::string("n"), Value::u(5)})).bits, 5u);
  EXPECT_EQ(unwrap(host.ok("wasi:keyvalue/atomics", "increment", {h(b), Value::string("n"), Value::u(7)})).bits, 12u);
  ASSERT_EQ(host.ok(kStore, "[method]bucket.set", {h(b), Value::string("t"), Value::string("text")}), Value::ok());
  EXPECT_EQ(host.ok("wasi:keyvalue/atomics", "increment", {h(b), Value::string("t"), Value::u(1)}).bits, 1u);
  auto kv = [](const char* k, const char* v) { return Value::tuple({Value::string(k), Value::string(v)}); };
  EXPECT_EQ(host.ok("wasi:keyvalue/batch", "set-many", {h(b), Value::list({kv("x", "1"), kv("y", "2")})}), Value::ok());
  Value many = unwrap(host.ok("wasi:keyvalue/batch", "get-many",
                              {h(b), Value::list({Value::string("x"), Value::string("missing"), Value::string("y")})}));
  ASSERT_EQ(many.items.size(), 3u);
  EXPECT_EQ(many.items[0].items[0].items[1].str, "1");
  EXPECT_EQ(many.items[1], Value::none());
  EXPECT_EQ(many.items[2].items[0].items[1].str, "2");
  EXPECT_EQ(host.ok("wasi:keyvalue/batch", "delete-many", {h(b), Value::list({Value::string("x"), Value::string("y")})}),
            Value::ok());
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.exists", {h(b), Value::string("x")})).bits, 0u);
  std::vector<Value> five(5, Value::string("k"));
  EXPECT_NE(host.trap("wasi:keyvalue/batch", "get-many", {h(b), Value::list(five)}).find("limit 4"), std::string::npos);
  // One bad key refuses the whole batch before anything is written.
  Value bad = host.ok("wasi:keyvalue/batch", "set-many", {h(b), Value::list({kv("ok", "1"), kv("", "2")})});
  EXPECT_EQ(bad.bits, 1u);
  EXPECT_EQ(unwrap(host.ok(kStore, "[method]bucket.exists", {h(b), Value::string("ok")})).bits, 0u);
}

TEST_F(Wasi2KeyValue, ConfigReadsVariablesAndSecrets) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  EXPECT_EQ(unwrap(host.ok("wasi:config/store", "get", {Value::string("greeting")})), Value::some(Value::string("hello")));
  EXPECT_EQ(unwrap(host.ok("wasi:config/store", "get", {Value::string("api_token")})),
            Value::some(Value::string("s3cret")));
  EXPECT_EQ(unwrap(host.ok("wasi:config/store", "get", {Value::string("optional")})), Value::none());
  EXPECT_EQ(unwrap(host.ok("wasi:config/store", "get", {Value::string("undeclared")})), Value::none());
  Value all = unwrap(host.ok("wasi:config/store", "get-all"));
  std::map<std::string, std::string> got;
  for (const Value& t : all.items) got[t.items[0].str] = t.items[1].str;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"api_token", "s3cret"}, {"greeting", "hello"}}));
  // A guest printing the secret: the log gets it redacted.
  uint32_t err = rep(host.ok("wasi:cli/stderr", "get-stderr"));
  host.ok("wasi:io/streams", "[method]output-stream.write", {h(err), Value::string("token=s3cret hello\n")});
  EXPECT_EQ(log_.find("s3cret"), std::string::npos) << log_;
  EXPECT_NE(log_.find("token=[redacted] hello"), std::string::npos) << log_;
}

}  // namespace
}  // namespace wink::wasi2
