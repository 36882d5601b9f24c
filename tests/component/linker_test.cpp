// The linker on real compiled core modules: components written with
// component_builder.h around WAT core modules (cross-instance memories,
// tables, globals and functions; host imports through the shim/fixup
// pattern real toolchains emit; resources; string encodings; post-return),
// hostile components refused at load with names, traps that end an
// instance, and the real-toolchain reactor (clang + the WASI preview1
// adapter, made by jco) instantiated and called.
#include <gtest/gtest.h>
#include <wabt/binary-writer.h>
#include <wabt/ir.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/validator.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "component/component_builder.h"
#include "component/test_host.h"
#include "linker/linker.h"

namespace wink::linker {
namespace {

using namespace component;
using component::testing::Bytes;
using component::testing::CanonOpts;
using component::testing::ComponentWriter;
using component::testing::TestHost;
using component::testing::TestState;
using W = ComponentWriter;
namespace fs = std::filesystem;

std::vector<uint8_t> wat(const std::string& text) {
  wabt::Errors errors;
  auto lexer = wabt::WastLexer::CreateBufferLexer("test.wat", text.data(), text.size(), &errors);
  wabt::Features features;
  wabt::WastParseOptions parse_options(features);
  std::unique_ptr<wabt::Module> module;
  bool ok = wabt::Succeeded(wabt::ParseWatModule(lexer.get(), &module, &errors, &parse_options)) &&
            wabt::Succeeded(wabt::ResolveNamesModule(module.get(), &errors)) &&
            wabt::Succeeded(wabt::ValidateModule(module.get(), &errors, wabt::ValidateOptions(features)));
  std::string why;
  for (const auto& e : errors) why += e.message + "; ";
  EXPECT_TRUE(ok) << why << "\n" << text;
  if (!ok) return {};
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options;
  EXPECT_TRUE(wabt::Succeeded(wabt::WriteBinaryModule(&stream, module.get(), write_options)));
  return stream.output_buffer().data;
}

Bytes prim(uint8_t b) { return Bytes().u8(b); }
constexpr uint8_t kS32 = 0x7a, kU32 = 0x79, kString = 0x73;

engine::EngineConfig cache_config(const fs::path& dir = WINK_TEST_CACHE_DIR) {
  engine::EngineConfig config;
  config.data_dir = dir;
  return config;
}

class LinkerTest : public ::testing::Test {
 protected:
  engine::Engine engine{cache_config()};
  TestHost host;

  std::shared_ptr<const LoadedComponent> load(const std::vector<uint8_t>& bytes) {
    auto r = load_component(engine, bytes, host);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : nullptr;
  }
  std::string refusal(const std::vector<uint8_t>& bytes) {
    auto r = load_component(engine, bytes, host);
    return r.ok() ? std::string("accepted") : r.error().message;
  }
  std::unique_ptr<ComponentInstance> start(std::shared_ptr<const LoadedComponent> c, InstanceLimits limits = {}) {
    auto r = instantiate(std::move(c), limits);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
};

// ---- Cross-instance memories, tables, globals, functions ----

const char* kMainModule = R"((module
  (memory (export "mem") 1)
  (global (export "g") (mut i32) (i32.const 7))
  (table (export "t") 2 funcref)
  (elem (i32.const 0) $triple)
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "get-g") (result i32) (global.get 0))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
)";

const char* kUserImports = R"(
  (import "m" "mem" (memory 1))
  (import "m" "g" (global $g (mut i32)))
  (import "m" "t" (table 2 funcref))
  (import "m" "double" (func $double (param i32) (result i32))))";

// `imports` replaces N's import declarations (hostile variants, which get
// a body that validates whatever the imports' types).
std::string user_module(const std::string& imports) {
  if (imports != kUserImports) return "(module " + imports + R"( (func (export "run") (param i32) (result i32) (local.get 0))))";
  return R"((module
)" + imports + R"(
  (type $t (func (param i32) (result i32)))
  (elem (i32.const 1) $double)
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 16) (local.get 0))
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.add (call $double (local.get 0))
      (i32.add (call_indirect (type $t) (local.get 0) (i32.const 0))
               (call_indirect (type $t) (local.get 0) (i32.const 1))))))
)";
}

std::vector<uint8_t> cross_component(const std::string& user_imports = kUserImports) {
  W w;
  w.core_module(wat(kMainModule)).core_module(wat(user_module(user_imports)));
  w.core_instantiate(0).core_instantiate(1, {{"m", 0}});
  w.alias_core(W::kCoreFunc, 1, "run").alias_core(W::kCoreFunc, 0, "get-g").alias_core(W::kCoreFunc, 0, "peek");
  Bytes s32 = prim(kS32);
  w.type(component::testing::func_type({{"x", s32}}, &s32)).type(component::testing::func_type({}, &s32));
  w.lift(0, CanonOpts().bytes(), 0).lift(1, CanonOpts().bytes(), 1).lift(2, CanonOpts().bytes(), 0);
  w.export_item("run", W::kFunc, 0).export_item("get-g", W::kFunc, 1).export_item("peek", W::kFunc, 2);
  return w.c.b;
}

TEST_F(LinkerTest, CoreInstancesShareMemoryTableGlobalAndFunctions) {
  auto c = load(cross_component());
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  // run(5): double (direct import) 10 + triple through the shared table 15
  // + the user's own import placed in that table 10.
  auto r = inst->call("", "run", {Value::s(5)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at(0).as_signed(), 35);
  auto g = inst->call("", "get-g", {});
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->at(0).as_signed(), 12);  // 7 + 5, written by the other instance
  auto peek = inst->call("", "peek", {Value::s(16)});
  ASSERT_TRUE(peek.ok()) << peek.error().message;
  EXPECT_EQ(peek->at(0).as_signed(), 5);  // stored through the imported memory
  // A second instance has its own memory, table and global.
  auto other = start(c);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->call("", "get-g", {})->at(0).as_signed(), 7);
  EXPECT_EQ(inst->call("", "run", {Value::s(1)})->at(0).as_signed(), 7);
  EXPECT_EQ(inst->call("", "get-g", {})->at(0).as_signed(), 13);
  ASSERT_NE(inst->export_type("", "run"), nullptr);
  EXPECT_EQ(to_string(*inst->export_type("", "run")), "func(x: s32) -> s32");
}

// wasm2c names an import by (module, name): a core module importing one name
// twice with one type gets one symbol, bound through the first import's
// slot; with two types it cannot be translated and is refused by name.
TEST_F(LinkerTest, OneNameImportedTwiceIsOneLink) {
  auto component_with = [](const std::string& user) {
    W w;
    w.core_module(wat(kMainModule)).core_module(wat(user));
    w.core_instantiate(0).core_instantiate(1, {{"m", 0}});
    w.alias_core(W::kCoreFunc, 1, "run");
    Bytes s32 = prim(kS32);
    w.type(component::testing::func_type({{"x", s32}}, &s32));
    w.lift(0, CanonOpts().bytes(), 0);
    w.export_item("run", W::kFunc, 0);
    return w.c.b;
  };
  auto c = load(component_with(R"((module
    (import "m" "double" (func $d1 (param i32) (result i32)))
    (import "m" "double" (func $d2 (param i32) (result i32)))
    (func (export "run") (param i32) (result i32) (call $d2 (call $d1 (local.get 0))))))"));
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  auto r = inst->call("", "run", {Value::s(5)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at(0).as_signed(), 20);
  std::string why = refusal(component_with(R"((module
    (import "m" "double" (func $d1 (param i32) (result i32)))
    (import "m" "double" (func $d2 (param i32) (result i64)))
    (func (export "run") (param i32) (result i32) (call $d1 (local.get 0)))))"));
  EXPECT_NE(why.find("m.double twice with different types"), std::string::npos) << why;
}

TEST_F(LinkerTest, LinksOfTheWrongTypeAreRefusedWithNames) {
  struct Case {
    std::string imports, expect;
  } cases[] = {
      {R"((import "m" "mem" (memory 1)) (import "m" "g" (global $g (mut i32))) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i64))))",
       "core instance 1 (core module 1) import \"m\" \"double\": expects a function (i32) -> (i64), is given (i32) -> (i32)"},
      {R"((import "m" "mem" (memory 1)) (import "m" "g" (global $g (mut i32))) (import "m" "t" (table 2 funcref))
          (import "m" "halve" (func $double (param i32) (result i32))))",
       "import \"m\" \"halve\": core instance 0 has no export \"halve\""},
      {R"((import "m" "mem" (memory 1)) (import "m" "g" (global $g64 (mut i64))) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i32))) (global $g (mut i32) (i32.const 0)))",
       "import \"m\" \"g\": expects a global (mut i64), is given a global (mut i32)"},
      {R"((import "m" "mem" (memory 1)) (import "m" "g" (global $gi i32)) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i32))) (global $g (mut i32) (i32.const 0)))",
       "import \"m\" \"g\": expects a global (i32), is given a global (mut i32)"},
      {R"((import "m" "g" (memory 1)) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i32))) (global $g (mut i32) (i32.const 0)))",
       "import \"m\" \"g\": wants a memory, core instance 0 exports \"g\" as a global"},
      {R"((import "m" "mem" (memory 2)) (import "m" "g" (global $g (mut i32))) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i32))))",
       "memory of 1 pages (max"},
      // mem has no maximum: an import with one (even 4 GiB) does not match it.
      {R"((import "m" "mem" (memory 1 65536)) (import "m" "g" (global $g (mut i32))) (import "m" "t" (table 2 funcref))
          (import "m" "double" (func $double (param i32) (result i32))))",
       "memory of 1 pages (max none) does not fit the import's limits (min 1, max 65536)"},
      {R"((import "m" "mem" (memory 1)) (import "m" "g" (global $g (mut i32))) (import "m" "t" (table 2 4 funcref))
          (import "m" "double" (func $double (param i32) (result i32))))",
       "table of 2 elements (max none) does not fit the import's limits (min 2, max 4)"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.expect);
    auto bytes = cross_component(k.imports);
    auto loaded = load_component(engine, bytes, host);
    std::string why;
    if (!loaded.ok()) {
      why = loaded.error().message;
    } else {  // limits of memories are checked against the live memory
      auto inst = instantiate(*loaded);
      why = inst.ok() ? "accepted" : inst.error().message;
    }
    EXPECT_NE(why.find(k.expect), std::string::npos) << why;
  }
}

// ---- Host imports, strings, realloc, post-return ----

// `realloc_extra` / `post_extra`: code run inside realloc / post-return
// (hostile variants call the host from there).
std::string string_module(const std::string& realloc_extra = "", const std::string& post_extra = "") {
  return R"((module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "mem") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $posts (mut i32) (i32.const 0))
  (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    )" + realloc_extra + R"(
    (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $size) (local.get $old_size)))
      (then (return (local.get $old))))
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
    (local.get $p))
  (func (export "echo") (param i32 i32) (result i32)
    (call $log (local.get 0) (local.get 1))
    (i32.store (i32.const 0) (local.get 0))
    (i32.store (i32.const 4) (local.get 1))
    (i32.const 0))
  (func (export "post") (param i32)
    )" + post_extra + R"(
    (global.set $posts (i32.add (global.get $posts) (i32.const 1))))
  (func (export "posts") (result i32) (global.get $posts)))
)";
}

// The shim/fixup pattern of wit-component: the main module imports `log`
// from a shim whose function calls through a table; once the main module's
// memory exists, `log` is lowered with it and a fixup module puts it in the
// table.
std::vector<uint8_t> string_component(uint8_t encoding, const std::string& module_text,
                                      const std::string& import_name = "log", bool lower_from_instance = false) {
  W w;
  Bytes str = prim(kString), u32 = prim(kU32);
  Bytes log_type = component::testing::func_type({{"msg", str}});
  if (lower_from_instance) {
    // (import "iface" (instance (export "log" (func (param "msg" string)))))
    Bytes it = Bytes().u8(0x42).u32(2).u8(0x01).raw(log_type).u8(0x04).u8(0x00).name("log").u8(0x01).u32(0);
    w.type(it).import(import_name, Bytes().u8(0x05).u32(0));
    w.alias_export(W::kFunc, 0, "log");  // func 0
  } else {
    w.type(log_type).import(import_name, Bytes().u8(0x01).u32(0));  // func 0
  }
  w.core_module(wat(module_text));
  w.core_module(wat(R"((module (type $t (func (param i32 i32))) (table (export "$imports") 1 1 funcref)
      (func (export "0") (type $t) (call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0)))))"));
  w.core_module(wat(R"((module (type $t (func (param i32 i32))) (import "" "0" (func $f (type $t)))
      (import "" "$imports" (table 1 1 funcref)) (elem (i32.const 0) func $f)))"));
  w.core_instantiate(1);                                     // core instance 0: shim
  w.alias_core(W::kCoreFunc, 0, "0");                        // core func 0
  w.core_exports({{"log", W::kCoreFunc, 0}});                // core instance 1
  w.core_instantiate(0, {{"host", 1}});                      // core instance 2: main
  w.alias_core(W::kCoreMemory, 2, "mem");                    // core memory 0
  w.alias_core(W::kCoreFunc, 2, "realloc");                  // core func 1
  w.alias_core(W::kCoreFunc, 2, "echo");                     // core func 2
  w.alias_core(W::kCoreFunc, 2, "post");                     // core func 3
  w.alias_core(W::kCoreFunc, 2, "posts");                    // core func 4
  w.alias_core(W::kCoreTable, 0, "$imports");                // core table 0
  w.lower(0, CanonOpts().encoding(encoding).memory(0).bytes());  // core func 5
  w.core_exports({{"$imports", W::kCoreTable, 0}, {"0", W::kCoreFunc, 5}});  // core instance 3
  w.core_instantiate(2, {{"", 3}});                          // core instance 4: fixup
  const uint32_t t = 1;  // type 0 is the import's (func or instance) type
  w.type(component::testing::func_type({{"s", str}}, &str));  // type t
  w.type(component::testing::func_type({}, &u32));            // type t+1
  w.lift(2, CanonOpts().encoding(encoding).memory(0).realloc(1).post_return(3).bytes(), t);
  w.lift(4, CanonOpts().bytes(), t + 1);
  const uint32_t first = 1;  // func 0 is the imported log
  w.export_item("echo", W::kFunc, first).export_item("posts", W::kFunc, first + 1);
  return w.c.b;
}

TEST_F(LinkerTest, StringsCrossInEveryEncodingWithReallocAndPostReturn) {
  const std::string text = "héllo wörld ☃ ok";  // latin1 and beyond: latin1+utf16 switches to UTF-16
  for (uint8_t encoding : {0x00, 0x01, 0x02}) {
    SCOPED_TRACE(string_encoding_name(static_cast<StringEncoding>(encoding)));
    auto c = load(string_component(encoding, string_module()));
    ASSERT_TRUE(c);
    auto inst = start(c);
    ASSERT_TRUE(inst);
    for (int i = 1; i <= 3; ++i) {
      auto r = inst->call("", "echo", {Value::string(text)});
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->at(0).str, text);
      auto posts = inst->call("", "posts", {});
      ASSERT_TRUE(posts.ok()) << posts.error().message;
      EXPECT_EQ(posts->at(0).bits, static_cast<uint64_t>(i)) << "post-return runs once per call";
    }
    auto& state = static_cast<TestState&>(inst->host_state());
    ASSERT_EQ(state.logs.size(), 3u);
    EXPECT_EQ(state.logs[0], text) << "the host import got the guest's string";
    // Latin-1 only text stays Latin-1 in latin1+utf16 and still round-trips.
    EXPECT_EQ(inst->call("", "echo", {Value::string("caf\xc3\xa9")})->at(0).str, "caf\xc3\xa9");
  }
}

TEST_F(LinkerTest, HostImportsResolveByInterfaceAndItem) {
  auto c = load(string_component(0x00, string_module(), "test:host/log@0.1.3", true));
  ASSERT_TRUE(c);
  EXPECT_NE(std::find(host.asked.begin(), host.asked.end(), "test:host/log@0.1.3 log"), host.asked.end());
  auto inst = start(c);
  ASSERT_TRUE(inst);
  ASSERT_TRUE(inst->call("", "echo", {Value::string("via an instance import")}).ok());
  EXPECT_EQ(static_cast<TestState&>(inst->host_state()).logs.at(0), "via an instance import");
}

TEST_F(LinkerTest, UnsupportedInterfaceIsRefusedByName) {
  std::string why = refusal(string_component(0x00, string_module(), "wasi:sockets/tcp@0.2.3", true));
  EXPECT_NE(why.find("import wasi:sockets/tcp@0.2.3 \"log\" is not supported"), std::string::npos) << why;
  EXPECT_NE(why.find("does not provide wasi:sockets/tcp"), std::string::npos) << why;
}

TEST_F(LinkerTest, HostCallFromReallocOrPostReturnTraps) {
  // realloc (lowering the argument) and post-return call the host: the ABI
  // forbids leaving the instance there.
  const std::string call_log = "(call $log (i32.const 0) (i32.const 0))";
  for (const auto& module : {string_module(call_log, ""), string_module("", call_log)}) {
    auto c = load(string_component(0x00, module));
    ASSERT_TRUE(c);
    auto inst = start(c);
    ASSERT_TRUE(inst);
    runtime::Outcome outcome;
    auto r = inst->call("", "echo", {Value::string("x")}, &outcome);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("may not leave"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("trap:", 0), 0u) << r.error().message;
    EXPECT_FALSE(outcome.ok());
    EXPECT_TRUE(inst->poisoned());
  }
}

TEST_F(LinkerTest, HostFunctionErrorTrapsTheGuestAndEndsTheInstance) {
  auto c = load(string_component(0x00, string_module()));
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  runtime::Outcome outcome;
  auto r = inst->call("", "echo", {Value::string("fail")}, &outcome);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the host refuses to log \"fail\""), std::string::npos) << r.error().message;
  EXPECT_EQ(outcome.trap, runtime::Trap::kHost);
  auto again = inst->call("", "echo", {Value::string("ok")});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("trapped earlier"), std::string::npos);
  auto fresh = start(c);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->call("", "echo", {Value::string("ok")})->at(0).str, "ok");
}

// ---- Resources ----

std::vector<uint8_t> resource_component() {
  W w;
  w.core_module(wat(R"((module
    (global $dtors (mut i32) (i32.const 0)) (global $last (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $dtors (i32.add (global.get $dtors) (i32.const 1))) (global.set $last (local.get 0)))
    (func (export "dtors") (result i32) (global.get $dtors))
    (func (export "last") (result i32) (global.get $last))))"));
  w.core_module(wat(R"((module
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (func (export "make") (param i32) (result i32) (call $new (i32.add (local.get 0) (i32.const 100))))
    (func (export "rep-of") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (call $drop (local.get 0)))
    (func (export "roundtrip") (param i32) (result i32) (local $h i32)
      (local.set $h (call $new (local.get 0))) (call $rep (local.get $h)) (call $drop (local.get $h)))
    (func (export "drop-bad") (call $drop (i32.const 999)))))"));
  w.core_instantiate(0);                                           // core instance 0
  w.alias_core(W::kCoreFunc, 0, "dtor").alias_core(W::kCoreFunc, 0, "dtors").alias_core(W::kCoreFunc, 0, "last");
  w.type(Bytes().u8(0x3f).u8(0x7f).u8(0x01).u32(0));               // type 0: resource (rep i32) (dtor core func 0)
  w.resource_builtin(0x02, 0).resource_builtin(0x04, 0).resource_builtin(0x03, 0);  // core funcs 3, 4, 5
  w.core_exports({{"new", W::kCoreFunc, 3}, {"rep", W::kCoreFunc, 4}, {"drop", W::kCoreFunc, 5}});  // core instance 1
  w.core_instantiate(1, {{"r", 1}});                               // core instance 2
  for (const char* f : {"make", "rep-of", "consume", "roundtrip", "drop-bad"}) w.alias_core(W::kCoreFunc, 2, f);  // 6..10
  Bytes u32 = prim(kU32), own = prim(1), borrow = prim(2);
  w.type(Bytes().u8(0x69).u32(0));                                 // type 1: own
  w.type(Bytes().u8(0x68).u32(0));                                 // type 2: borrow
  w.type(component::testing::func_type({{"v", u32}}, &own));       // type 3
  w.type(component::testing::func_type({{"h", borrow}}, &u32));    // type 4
  w.type(component::testing::func_type({{"h", own}}));             // type 5
  w.type(component::testing::func_type({}, &u32));                 // type 6
  w.type(component::testing::func_type({{"v", u32}}, &u32));       // type 7
  w.type(component::testing::func_type({}));                       // type 8
  w.lift(6, CanonOpts().bytes(), 3).lift(7, CanonOpts().bytes(), 4).lift(8, CanonOpts().bytes(), 5);
  w.lift(9, CanonOpts().bytes(), 7).lift(1, CanonOpts().bytes(), 6).lift(2, CanonOpts().bytes(), 6);
  w.lift(10, CanonOpts().bytes(), 8);
  int i = 0;
  for (const char* f : {"make", "rep-of", "consume", "roundtrip", "dtors", "last", "drop-bad"}) w.export_item(f, W::kFunc, i++);
  return w.c.b;
}

TEST_F(LinkerTest, OwnResourcesRunTheirDestructorWhenDropped) {
  auto c = load(resource_component());
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  auto made = inst->call("", "make", {Value::u(5)});
  ASSERT_TRUE(made.ok()) << made.error().message;
  uint32_t rep = static_cast<uint32_t>(made->at(0).bits);
  EXPECT_EQ(rep, 105u);  // the host holds the rep of a resource the component implements
  auto borrowed = inst->call("", "rep-of", {Value::handle(rep)});
  ASSERT_TRUE(borrowed.ok()) << borrowed.error().message;
  EXPECT_EQ(borrowed->at(0).bits, 105u) << "the implementing instance sees its own borrow as the rep";
  ASSERT_TRUE(inst->call("", "consume", {Value::handle(rep)}).ok());
  EXPECT_EQ(inst->call("", "dtors", {})->at(0).bits, 1u);
  EXPECT_EQ(inst->call("", "last", {})->at(0).bits, 105u);
  auto rt = inst->call("", "roundtrip", {Value::u(7)});
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  EXPECT_EQ(rt->at(0).bits, 7u);  // resource.new then resource.rep
  EXPECT_EQ(inst->call("", "dtors", {})->at(0).bits, 2u);
  EXPECT_EQ(inst->call("", "last", {})->at(0).bits, 7u);
  EXPECT_EQ(inst->abi_state().handles.live(), 0u);
  auto bad = inst->call("", "drop-bad", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("trap:", 0), 0u) << bad.error().message;
}

TEST_F(LinkerTest, DroppingAHostResourceCallsTheHost) {
  W w;
  // (import "test:host/files@0.1.0" (instance (export "file" (type (sub resource)))
  //   (type (own 0)) (type (func (result 1))) (export "open" (func (type 2)))))
  Bytes it = Bytes().u8(0x42).u32(4);
  it.u8(0x04).u8(0x00).name("file").u8(0x03).u8(0x01);
  it.u8(0x01).u8(0x69).u32(0);
  it.u8(0x01).u8(0x40).u32(0).u8(0x00).u32(1);
  it.u8(0x04).u8(0x00).name("open").u8(0x01).u32(2);
  w.type(it).import("test:host/files@0.1.0", Bytes().u8(0x05).u32(0));
  w.alias_export(W::kType, 0, "file");   // type 1
  w.alias_export(W::kFunc, 0, "open");   // func 0
  w.lower(0, CanonOpts().bytes());       // core func 0
  w.resource_builtin(0x03, 1);           // core func 1: resource.drop file
  w.core_exports({{"open", W::kCoreFunc, 0}, {"drop", W::kCoreFunc, 1}});
  w.core_module(wat(R"((module (import "h" "open" (func $open (result i32))) (import "h" "drop" (func $drop (param i32)))
      (func (export "cycle") (result i32) (local $h i32)
        (local.set $h (call $open)) (call $drop (local.get $h)) (local.get $h))))"));
  w.core_instantiate(0, {{"h", 0}});
  w.alias_core(W::kCoreFunc, 1, "cycle");  // core func 2
  Bytes u32 = prim(kU32);
  w.type(component::testing::func_type({}, &u32));  // type 2
  w.lift(2, CanonOpts().bytes(), 2);
  w.export_item("cycle", W::kFunc, 1);
  auto c = load(w.c.b);
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  auto r = inst->call("", "cycle", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at(0).bits, 1u);  // the guest's first handle
  auto& state = static_cast<TestState&>(inst->host_state());
  ASSERT_EQ(state.dropped.size(), 1u);
  EXPECT_EQ(state.dropped[0], 42u);  // the rep the host gave out
}

// ---- Traps ----

std::vector<uint8_t> trap_component() {
  W w;
  w.core_module(wat(R"((module (memory 1)
    (func (export "boom") (result i32) unreachable)
    (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
    (func (export "oob") (result i32) (i32.load (i32.const -1)))
    (func (export "ok") (result i32) (i32.const 42))))"));
  w.core_instantiate(0);
  for (const char* f : {"boom", "spin", "oob", "ok"}) w.alias_core(W::kCoreFunc, 0, f);
  Bytes s32 = prim(kS32);
  w.type(component::testing::func_type({}, &s32));
  for (uint32_t i = 0; i < 4; ++i) w.lift(i, CanonOpts().bytes(), 0);
  int i = 0;
  for (const char* f : {"boom", "spin", "oob", "ok"}) w.export_item(f, W::kFunc, i++);
  return w.c.b;
}

TEST_F(LinkerTest, TrapInALiftedExportIsAnErrorAndAFreshInstanceWorks) {
  auto c = load(trap_component());
  ASSERT_TRUE(c);
  struct Case {
    const char* func;
    runtime::Trap trap;
  } cases[] = {{"boom", runtime::Trap::kUnreachable}, {"oob", runtime::Trap::kOutOfBounds}, {"spin", runtime::Trap::kDeadline}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.func);
    auto inst = start(c, {.max_memory_pages = 16, .deadline = std::chrono::milliseconds(200)});
    ASSERT_TRUE(inst);
    runtime::Outcome outcome;
    auto r = inst->call("", k.func, {}, &outcome);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind("trap:", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find(k.func), std::string::npos) << r.error().message;
    EXPECT_EQ(outcome.trap, k.trap);
    EXPECT_FALSE(inst->call("", "ok", {}).ok()) << "a trapped instance is not entered again";
    auto fresh = start(c);
    ASSERT_TRUE(fresh);
    auto ok = fresh->call("", "ok", {});
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->at(0).as_signed(), 42);
  }
}

TEST_F(LinkerTest, CallsAreCheckedAgainstTheExport) {
  auto c = load(trap_component());
  ASSERT_TRUE(c);
  auto inst = start(c);
  ASSERT_TRUE(inst);
  EXPECT_NE(inst->call("", "nothere", {}).error().message.find("exports no function nothere"), std::string::npos);
  EXPECT_NE(inst->call("", "ok", {Value::u(1)}).error().message.find("takes 0 argument(s), got 1"), std::string::npos);
  EXPECT_FALSE(inst->poisoned()) << "a bad call from the host is not the guest's trap";
  EXPECT_EQ(inst->call("", "ok", {})->at(0).as_signed(), 42);
}

TEST_F(LinkerTest, NonComponentsAndBrokenComponentsAreRefused) {
  EXPECT_NE(refusal(wat("(module)")).find("core WebAssembly module"), std::string::npos);
  auto bytes = trap_component();
  bytes.resize(bytes.size() - 3);
  EXPECT_NE(refusal(bytes).find("at byte offset"), std::string::npos) << refusal(bytes);
  // A core module that does not validate: named with its offset in the file.
  W w;
  auto bad = wat("(module (func (export \"f\") (result i32) (i32.const 1)))");
  bad[bad.size() - 3] = 0x6a;  // i32.const 1 becomes i32.add on an empty stack
  w.core_module(bad);
  std::string why = refusal(w.c.b);
  EXPECT_NE(why.find("core module 0 at byte offset 10"), std::string::npos) << why;
}

TEST_F(LinkerTest, LinkedAndPlainArtifactsAreKeptApart) {
  auto bytes = wat(R"((module (import "env" "f" (func (result i32))) (func (export "g") (result i32) (call 0))))");
  // A plain module may import only what wink provides by name; a component's
  // core module may import anything, bound per instance.
  auto plain = engine.load_bytes(bytes);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("env.f"), std::string::npos) << plain.error().message;
  auto linked = engine.load_linked(bytes);
  ASSERT_TRUE(linked.ok()) << linked.error().message;
  EXPECT_EQ((*linked)->abi().linked, 1u);
  ASSERT_EQ((*linked)->abi().num_imports, 1u);
  EXPECT_STREQ((*linked)->abi().imports[0].name, "f");
  auto no_imports = engine.load_linked(wat(R"((module (func (export "g") (result i32) (i32.const 2))))"));
  ASSERT_TRUE(no_imports.ok()) << no_imports.error().message;
  auto as_plain = engine::Instance::create(*no_imports, {});
  ASSERT_FALSE(as_plain.ok());
  EXPECT_NE(as_plain.error().message.find("compiled for linking"), std::string::npos);
  std::vector<wink_link_slot_t> too_few(1);
  EXPECT_FALSE(engine::Instance::create_linked(*linked, too_few).ok());
  auto simple = engine.load_bytes(wat(R"((module (func (export "g") (result i32) (i32.const 1))))"));
  ASSERT_TRUE(simple.ok()) << simple.error().message;
  EXPECT_EQ((*simple)->abi().linked, 0u);
  std::vector<wink_link_slot_t> one(1);
  EXPECT_FALSE(engine::Instance::create_linked(*simple, one).ok());
}

// ---- Nested components (the shell wit-component wraps exports in) ----

// Inner: (type func (x s32) -> s32) (import "inner-f" (func (type 0)))
// (export "double" (func 0)); `extra` appends sections (hostile variants).
ComponentWriter inner_shell(const std::function<void(W&)>& extra = {}) {
  W inner;
  Bytes s32 = prim(kS32);
  inner.type(component::testing::func_type({{"x", s32}}, &s32));
  inner.import("inner-f", Bytes().u8(W::kFunc).u32(0));
  if (extra) extra(inner);
  inner.export_item("double", W::kFunc, 0);
  return inner;
}

// Outer: lifts the main module's "double" (func 0), instantiates the inner
// shell with it (instance 0), exports that instance as "my:pkg/api@1.0.0"
// and, through an alias of its export (func 1), as "top-double"; a second
// level of nesting (component 1 instantiates an outer-aliased copy of
// component 0) exports the same function as "my:pkg/deep@1.0.0".
std::vector<uint8_t> nested_component(const ComponentWriter& inner) {
  W w;
  w.core_module(wat(kMainModule)).core_instantiate(0);
  w.alias_core(W::kCoreFunc, 0, "double");
  Bytes s32 = prim(kS32);
  w.type(component::testing::func_type({{"x", s32}}, &s32));
  w.lift(0, CanonOpts().bytes(), 0);                                  // func 0
  w.nested(inner);                                                     // component 0
  w.instantiate(0, {{"inner-f", W::kFunc, 0}});                        // instance 0
  w.alias_export(W::kFunc, 0, "double");                               // func 1
  // component 1: (import "g" (func)) (alias outer 1 component 0) (instance (instantiate 0 (with "inner-f" g)))
  //              (export "api" (instance 0))
  W mid;
  Bytes t = Bytes().u8(0x40).u32(1).name("x").raw(s32).u8(0x00).raw(s32);
  mid.type(t);
  mid.import("g", Bytes().u8(W::kFunc).u32(0));
  mid.c.section(6, Bytes().u32(1).u8(0x04).u8(0x02).u32(1).u32(0));  // alias outer 1 component 0
  mid.instantiate(0, {{"inner-f", W::kFunc, 0}});
  mid.export_item("api", W::kInstance, 0);
  w.nested(mid);                                                       // component 1
  w.instantiate(1, {{"g", W::kFunc, 1}});                              // instance 1
  w.alias_export(W::kInstance, 1, "api");                              // instance 2
  w.export_item("my:pkg/api@1.0.0", W::kInstance, 0);
  w.export_item("top-double", W::kFunc, 1);
  w.export_item("my:pkg/deep@1.0.0", W::kInstance, 2);
  return w.c.b;
}

TEST_F(LinkerTest, NestedComponentExportsReachTheOuterLift) {
  auto c = load(nested_component(inner_shell()));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->find_instance("my:pkg/api"), "my:pkg/api@1.0.0");
  EXPECT_EQ(c->find_instance("my:pkg/deep"), "my:pkg/deep@1.0.0");
  auto inst = start(c);
  ASSERT_TRUE(inst);
  for (auto [iface, fn] : {std::pair{"my:pkg/api@1.0.0", "double"}, {"", "top-double"}, {"my:pkg/deep@1.0.0", "double"}}) {
    auto r = inst->call(iface, fn, {Value::s(21)});
    ASSERT_TRUE(r.ok()) << iface << " " << fn << ": " << r.error().message;
    EXPECT_EQ(r->at(0).as_signed(), 42) << iface << " " << fn;
  }
}

TEST_F(LinkerTest, NestedComponentsWithCodeOrBadLinksAreRefusedByPosition) {
  // Core code inside a nested component: refused with its position.
  std::string why = refusal(nested_component(inner_shell([](W& inner) { inner.core_module(wat("(module)")); })));
  EXPECT_NE(why.find("nested component 0 (byte offset"), std::string::npos) << why;
  EXPECT_NE(why.find("core modules"), std::string::npos) << why;
  // The inner component re-exports the outer's import (nothing lifts it).
  W w;
  Bytes s32 = prim(kS32);
  w.type(component::testing::func_type({{"x", s32}}, &s32));
  w.import("host-f", Bytes().u8(W::kFunc).u32(0));
  w.nested(inner_shell());
  w.instantiate(0, {{"inner-f", W::kFunc, 0}});
  w.export_item("my:pkg/api@1.0.0", W::kInstance, 0);
  why = refusal(w.c.b);
  EXPECT_NE(why.find("export \"my:pkg/api@1.0.0\" \"double\": re-exports the import \"host-f\""), std::string::npos)
      << why;
  // An argument of the wrong sort for the inner import.
  W bad;
  bad.core_module(wat(kMainModule)).core_instantiate(0).alias_core(W::kCoreFunc, 0, "double");
  bad.type(component::testing::func_type({{"x", s32}}, &s32)).lift(0, CanonOpts().bytes(), 0);
  bad.nested(inner_shell()).instantiate(0, {{"inner-f", W::kFunc, 0}});  // instance 0
  bad.nested(inner_shell()).instantiate(1, {{"inner-f", W::kInstance, 0}});
  bad.export_item("my:pkg/api@1.0.0", W::kInstance, 1);
  why = refusal(bad.c.b);
  EXPECT_NE(why.find("my:pkg/api@1.0.0"), std::string::npos) << why;
  EXPECT_NE(why.find("inner-f"), std::string::npos) << why;
}

// ---- The real-toolchain reactor (clang + WASI preview1 adapter via jco) ----

#ifdef WINK_COMPONENT_FIXTURES
std::vector<uint8_t> reactor_bytes() {
  std::ifstream in(fs::path(WINK_COMPONENT_FIXTURES) / "reactor.wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST_F(LinkerTest, RealReactorComponentRunsItsExports) {
  auto bytes = reactor_bytes();
  ASSERT_FALSE(bytes.empty());
  auto c = load(bytes);
  ASSERT_TRUE(c);
  auto inst = start(c, {.max_memory_pages = 1024, .deadline = std::chrono::seconds(5)});
  ASSERT_TRUE(inst);
  auto sum = inst->call("", "add", {Value::s(40), Value::s(2)});
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->at(0).as_signed(), 42);
  auto& state = static_cast<TestState&>(inst->host_state());
  EXPECT_EQ(state.streams[1], "add 40 2\n") << "printf reached wasi:cli/stdout through the adapter";
  for (int i = 0; i < 200; ++i) {  // post-return frees: the heap does not grow per call
    auto hello = inst->call("", "greet", {Value::string("wink " + std::to_string(i))});
    ASSERT_TRUE(hello.ok()) << hello.error().message;
    ASSERT_EQ(hello->at(0).str, "hello, wink " + std::to_string(i));
  }
  EXPECT_EQ(inst->call("", "add", {Value::s(-5), Value::s(2)})->at(0).as_signed(), -3);
  EXPECT_EQ(state.streams[1], "add 40 2\nadd -5 2\n");
}

TEST_F(LinkerTest, RealReactorCompilesOnceAndInstantiatesQuickly) {
  auto bytes = reactor_bytes();
  ASSERT_FALSE(bytes.empty());
  // A cold cache: every core module compiled once; a warm one: none.
  fs::path dir = fs::temp_directory_path() / ("wink-linker-cold-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  LoadReport cold, warm;
  {
    engine::Engine fresh(cache_config(dir));
    auto c = load_component(fresh, bytes, host, {}, &cold);
    ASSERT_TRUE(c.ok()) << c.error().message;
  }
  {
    engine::Engine again(cache_config(dir));
    auto c = load_component(again, bytes, host, {}, &warm);
    ASSERT_TRUE(c.ok()) << c.error().message;
  }
  fs::remove_all(dir);
  EXPECT_GE(cold.compiles, 2u);
  EXPECT_EQ(cold.compiles, static_cast<uint64_t>(cold.core_modules));
  EXPECT_EQ(warm.compiles, 0u);
  std::printf("[ figures  ] reactor component: %u core modules, cold compile %.2f s, warm load %.1f ms "
              "(parse %.2f ms, link %.2f ms)\n",
              cold.core_modules, cold.compile_seconds, (warm.parse_seconds + warm.compile_seconds + warm.link_seconds) * 1e3,
              warm.parse_seconds * 1e3, warm.link_seconds * 1e3);

  auto c = load(bytes);
  ASSERT_TRUE(c);
  using Clock = std::chrono::steady_clock;
  std::vector<double> us;
  for (int i = 0; i < 50; ++i) {
    auto t = Clock::now();
    {
      auto inst = instantiate(c, {.max_memory_pages = 1024});
      ASSERT_TRUE(inst.ok()) << inst.error().message;
      auto r = (*inst)->call("", "greet", {Value::string("x")});
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("[ figures  ] reactor instantiate + call greet + destroy: median %.1f us, p90 %.1f us\n", us[us.size() / 2],
              us[us.size() * 9 / 10]);
  EXPECT_LT(us[us.size() / 2], 50'000.0);  // generous: a shared 2-core machine
}
#endif

}  // namespace
}  // namespace wink::linker
