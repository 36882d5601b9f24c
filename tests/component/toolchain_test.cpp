// The parser on components made by the real toolchain (pinned jco, see
// toolchain/package.json): a rich world embedded by wasm-tools in every
// string encoding, and a C reactor wrapped by the WASI preview1 adapter.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/files.h"
#include "compiler/data_split.h"
#include "component/abi.h"
#include "component/parser.h"
#include "component_builder.h"

namespace wink::component {
namespace {

#ifdef WINK_COMPONENT_FIXTURES
constexpr const char* kFixtures = WINK_COMPONENT_FIXTURES;
#else
constexpr const char* kFixtures = "";
#endif

std::vector<uint8_t> fixture(const std::string& name) {
  if (!*kFixtures) return {};
  auto bytes = read_file(std::filesystem::path(kFixtures) / name);
  EXPECT_TRUE(bytes.ok()) << (bytes.ok() ? "" : bytes.error().message);
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

#define REQUIRE_FIXTURES()                                                                   \
  if (!*kFixtures) GTEST_SKIP() << "built without the component toolchain (npm/node missing " \
                                   "or WINK_COMPONENT_TOOLCHAIN=OFF)"

const FuncDef* lift_of(const Component& c, const std::string& core_export_suffix) {
  for (const FuncDef& f : c.funcs) {
    if (f.kind != FuncDef::Kind::CanonLift) continue;
    const CoreItemDef& core = c.core_funcs[f.core_func];
    const std::string& n = core.name;
    if (n.size() >= core_export_suffix.size() &&
        n.compare(n.size() - core_export_suffix.size(), std::string::npos, core_export_suffix) == 0) {
      return &f;
    }
  }
  return nullptr;
}

TEST(ToolchainComponents, RichWorldParsesWithTypesAndCanonOptions) {
  REQUIRE_FIXTURES();
  auto bytes = fixture("app_utf8.wasm");
  ASSERT_EQ(detect_layer(bytes), BinaryLayer::Component);
  auto r = parse_component(bytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Component& c = *r;

  const Import* log = c.find_import("log");
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->type.sort, Sort::Func);
  EXPECT_EQ(to_string(*log->type.type->func), "func(msg: string)");

  const Export* api = c.find_export("wink:test/api@0.1.0");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->item.sort, Sort::Instance);
  EXPECT_EQ(api->name.package, "test");
  EXPECT_EQ(api->name.version, "0.1.0");
  const InstanceTypeDefPtr& it = c.instances[api->item.index].type;
  ASSERT_NE(it, nullptr);
  for (const char* name : {"point", "shape", "perms", "color", "counter", "[constructor]counter",
                           "[method]counter.bump", "describe", "add", "many"}) {
    EXPECT_NE(it->find(name), nullptr) << name;
  }
  const ExternDecl* describe = it->find("describe");
  ASSERT_NE(describe, nullptr);
  ASSERT_EQ(describe->type.sort, Sort::Func);
  EXPECT_EQ(to_string(*describe->type.type->func),
            "func(name: string, p: record { x: s32, y: s32 }, s: variant { circle(f64), rect(record { x: s32, y: "
            "s32 }), empty }, f: flags { read, write, exec }, c: enum { red, green, blue }, tags: list<string>, o: "
            "option<u64>) -> result<string, u8>");

  // The canon lift of `describe` uses memory, realloc and post-return, and
  // its flattening equals the core export's signature (checked by the
  // parser against the embedded module, shown here).
  const FuncDef* lift = lift_of(c, "|describe");
  ASSERT_NE(lift, nullptr);
  EXPECT_TRUE(lift->options.memory.has_value());
  EXPECT_TRUE(lift->options.realloc.has_value());
  EXPECT_TRUE(lift->options.post_return.has_value());
  EXPECT_EQ(lift->options.string_encoding, StringEncoding::Utf8);
  EXPECT_EQ(to_string(flatten_functype(*lift->type, FlattenContext::Lift)),
            "(i32 i32 i32 i32 i32 i64 i32 i32 i32 i32 i32 i32 i64) -> (i32)");
  ASSERT_TRUE(c.core_funcs[lift->core_func].signature.has_value());
  const FuncDef* many = lift_of(c, "|many");
  ASSERT_NE(many, nullptr);
  EXPECT_EQ(to_string(flatten_functype(*many->type, FlattenContext::Lift)), "(i32) -> (i32)");  // spilled

  // The resource is defined with a destructor; own/borrow point at it.
  int resources = 0;
  for (const TypeDefPtr& t : c.types) {
    if (t->kind == TypeDef::Kind::Resource && t->resource.defined) {
      ++resources;
      EXPECT_TRUE(t->resource.dtor.has_value());
    }
  }
  EXPECT_EQ(resources, 1);
  const FuncDef* bump = lift_of(c, "[method]counter.bump");
  ASSERT_NE(bump, nullptr);
  EXPECT_EQ(bump->type->params[0].type->kind, ValKind::Borrow);
  int builtins = 0;
  for (const CoreItemDef& f : c.core_funcs) {
    builtins += f.kind == CoreItemDef::Kind::ResourceNew || f.kind == CoreItemDef::Kind::ResourceDrop ||
                f.kind == CoreItemDef::Kind::ResourceRep;
  }
  EXPECT_EQ(builtins, 3);
  // The import is lowered for the core module with memory (its param is a string).
  bool lowered_log = false;
  for (const CoreItemDef& f : c.core_funcs) {
    if (f.kind == CoreItemDef::Kind::CanonLower && c.funcs[f.func].kind == FuncDef::Kind::Import) {
      lowered_log = true;
      EXPECT_TRUE(f.options.memory.has_value());
      EXPECT_EQ(to_string(*f.signature), "(i32 i32) -> ()");
    }
  }
  EXPECT_TRUE(lowered_log);
  EXPECT_GE(c.core_modules.size(), 2u);
  EXPECT_EQ(c.core_modules[0].kind, CoreModuleDef::Kind::Defined);
  EXPECT_LE(c.core_modules[0].offset + c.core_modules[0].size, bytes.size());
}

TEST(ToolchainComponents, StringEncodingOptionsAreRead) {
  REQUIRE_FIXTURES();
  struct { const char* file; StringEncoding want; } cases[] = {
      {"app_utf16.wasm", StringEncoding::Utf16},
      {"app_compact.wasm", StringEncoding::Latin1Utf16},
  };
  for (auto& k : cases) {
    auto r = parse_component(fixture(k.file));
    ASSERT_TRUE(r.ok()) << k.file << ": " << r.error().message;
    const FuncDef* lift = lift_of(*r, "|describe");
    ASSERT_NE(lift, nullptr) << k.file;
    EXPECT_EQ(lift->options.string_encoding, k.want) << k.file;
  }
}

TEST(ToolchainComponents, WasiReactorAdapterComponentParses) {
  REQUIRE_FIXTURES();
  auto bytes = fixture("reactor.wasm");
  auto r = parse_component(bytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Component& c = *r;
  ASSERT_FALSE(c.imports.empty());
  std::string version;
  const Import* streams = nullptr;
  for (const Import& i : c.imports) {
    EXPECT_EQ(i.name.ns, "wasi") << i.name.text;
    EXPECT_FALSE(i.name.version.empty()) << i.name.text;
    if (version.empty()) version = i.name.version;
    EXPECT_EQ(i.name.version, version) << "one WASI 0.2.x release per component";
    if (i.name.unversioned() == "wasi:io/streams") streams = &i;
  }
  EXPECT_EQ(version.rfind("0.2.", 0), 0u) << version;
  ASSERT_NE(streams, nullptr);
  const InstanceTypeDefPtr& it = streams->type.type->instance;
  const ExternDecl* out = it->find("output-stream");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->type.type->kind, TypeDef::Kind::Resource);
  const ExternDecl* write = it->find("[method]output-stream.blocking-write-and-flush");
  ASSERT_NE(write, nullptr);
  const FuncType& ft = *write->type.type->func;
  EXPECT_EQ(ft.params[0].type->kind, ValKind::Borrow);
  EXPECT_EQ(ft.params[0].type->resource, out->type.type->resource.id);
  EXPECT_EQ(to_string(*ft.params[1].type), "list<u8>");
  // The adapter and the C module are both kept as byte ranges.
  size_t defined = 0;
  for (const CoreModuleDef& m : c.core_modules) {
    if (m.kind != CoreModuleDef::Kind::Defined) continue;
    ++defined;
    EXPECT_EQ(detect_layer(std::span(bytes).subspan(m.offset, m.size)), BinaryLayer::CoreModule);
  }
  EXPECT_GE(defined, 2u);
}

TEST(ToolchainComponents, TruncatedRealComponentsAreRefusedWithAPosition) {
  REQUIRE_FIXTURES();
  auto app = fixture("app_utf8.wasm");
  auto ends = testing::section_ends(app);
  ends.pop_back();
  EXPECT_EQ(testing::accepted_prefixes(app), ends);
  // The reactor is 64 KB: every 61st prefix.
  auto reactor = fixture("reactor.wasm");
  auto accepted = testing::accepted_prefixes(reactor, 61);
  auto rends = testing::section_ends(reactor);
  for (size_t n : accepted) EXPECT_NE(std::find(rends.begin(), rends.end(), n), rends.end()) << n;
}

TEST(ToolchainComponents, CorruptedRealComponentNeverCrashes) {
  REQUIRE_FIXTURES();
  auto app = fixture("app_utf8.wasm");
  for (size_t i = 8; i < app.size(); ++i) {
    for (uint8_t v : {0x00, 0xff}) {
      auto bytes = app;
      bytes[i] ^= v ? v : bytes[i];
      auto r = parse_component(bytes);
      if (!r.ok()) {
        EXPECT_NE(r.error().message.find("at byte offset"), std::string::npos) << r.error().message;
      }
    }
  }
}

}  // namespace
}  // namespace wink::component

// The example components (examples/js-hello, js-kv, c-http) and a second
// JavaScript app of the same world (toolchain/second_app.js), built by the
// test build with the pinned componentize-js and jco.
namespace wink::component {
namespace {

#ifdef WINK_COMPONENT_EXAMPLES
constexpr const char* kExamples = WINK_COMPONENT_EXAMPLES;
#else
constexpr const char* kExamples = "";
#endif

std::vector<uint8_t> example(const std::string& name) {
  auto bytes = read_file(std::filesystem::path(kExamples) / name);
  EXPECT_TRUE(bytes.ok()) << (bytes.ok() ? "" : bytes.error().message);
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

std::span<const uint8_t> largest_core_module(const Component& c, const std::vector<uint8_t>& bytes) {
  const CoreModuleDef* best = nullptr;
  for (const CoreModuleDef& m : c.core_modules)
    if (m.kind == CoreModuleDef::Kind::Defined && (!best || m.size > best->size)) best = &m;
  if (!best) return {};
  return std::span<const uint8_t>(bytes).subspan(best->offset, best->size);
}

TEST(ExampleComponents, ExportTheHttpHandlerAndImportWhatTheirWorldSays) {
  if (!*kExamples) GTEST_SKIP() << "built without the component toolchain";
  for (const char* name : {"js-hello.wasm", "js-kv.wasm", "c-http.wasm"}) {
    auto bytes = example(name);
    auto c = parse_component(bytes);
    ASSERT_TRUE(c.ok()) << name << ": " << c.error().message;
    EXPECT_NE(c->find_export("wasi:http/incoming-handler@0.2.10"), nullptr) << name;
    bool keyvalue = false, config = false;
    for (const Import& i : c->imports) {
      keyvalue |= i.name.text == "wasi:keyvalue/store@0.2.0-draft";
      config |= i.name.text == "wasi:config/store@0.2.0-draft";
    }
    bool is_kv = std::string(name) == "js-kv.wasm";
    EXPECT_EQ(keyvalue, is_kv) << name;
    EXPECT_EQ(config, is_kv) << name;
  }
}

// Every componentize-js app of one world is the same engine code with its
// own data: split off the data, the core modules are byte for byte equal, so
// they share one artifact (compiler/data_split.h).
TEST(ExampleComponents, JavaScriptAppsOfOneWorldShareTheirEngineCode) {
  if (!*kExamples) GTEST_SKIP() << "built without the component toolchain";
  auto hello_bytes = example("js-hello.wasm");
  auto second_bytes = example("js-second.wasm");
  auto hello = parse_component(hello_bytes);
  auto second = parse_component(second_bytes);
  ASSERT_TRUE(hello.ok() && second.ok());
  auto a = compiler::split_data(largest_core_module(*hello, hello_bytes));
  auto b = compiler::split_data(largest_core_module(*second, second_bytes));
  ASSERT_TRUE(a.has_value() && b.has_value()) << "the engine module should split into code and data";
  EXPECT_GT(a->code.size(), 5u << 20);
  EXPECT_TRUE(a->code == b->code) << "code modules differ: " << a->code.size() << " vs " << b->code.size() << " bytes";
  EXPECT_FALSE(a->data->bytes == b->data->bytes) << "two different apps should differ in data";
}

}  // namespace
}  // namespace wink::component
