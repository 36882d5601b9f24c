// Component binary parser on hand-built binaries: what it resolves, and
// that each malformed input is refused with its byte offset, section and
// reason, never a crash.
#include <gtest/gtest.h>

#include "component/parser.h"
#include "component_builder.h"

namespace wink::component {
namespace {

using testing::Bytes;
using testing::preamble;
using testing::small_core_module;
using testing::accepted_prefixes;
using testing::section_ends;

// core module + instance + alias of "f" + func type + canon lift + export
// "add". `canon_opts` and `func_type` can be replaced to make bad variants;
// `canon_at` receives the offset of the canon section's contents.
std::vector<uint8_t> adder(const Bytes& canon_opts = Bytes().u32(0),
                           const Bytes& func_type = Bytes().u8(0x40).u32(2).name("a").u8(0x7a).name("b").u8(0x7a).u8(0x00).u8(0x7a),
                           uint64_t* canon_at = nullptr) {
  Bytes c = preamble();
  c.section(1, small_core_module());
  c.section(2, Bytes().u32(1).u8(0x00).u32(0).u32(0));                     // instantiate module 0
  c.section(6, Bytes().u32(2)
                   .u8(0x00).u8(0x00).u8(0x01).u32(0).name("f")            // core func f
                   .u8(0x00).u8(0x02).u8(0x01).u32(0).name("mem"));        // core memory mem
  c.section(7, Bytes().u32(1).raw(func_type));
  Bytes canon = Bytes().u32(1).u8(0x00).u8(0x00).u32(0).raw(canon_opts).u32(0);
  c.u8(8).u32(canon.size());
  if (canon_at) *canon_at = c.size();
  c.raw(canon);
  c.section(11, Bytes().u32(1).u8(0x00).name("add").u8(0x01).u32(0).u8(0x00));
  return c.b;
}

std::string refusal(const std::vector<uint8_t>& bytes, const ParseLimits& limits = {}) {
  auto r = parse_component(bytes, limits);
  return r.ok() ? std::string("accepted") : r.error().message;
}

TEST(ComponentParser, DetectsLayerFromHeader) {
  EXPECT_EQ(detect_layer(adder()), BinaryLayer::Component);
  EXPECT_EQ(detect_layer(small_core_module().b), BinaryLayer::CoreModule);
  EXPECT_EQ(detect_layer(std::vector<uint8_t>{0x00, 0x61, 0x73}), BinaryLayer::Unknown);
  EXPECT_EQ(detect_layer(std::vector<uint8_t>{'#', '!', '/', 'b', 'i', 'n', 0, 0}), BinaryLayer::Unknown);
}

TEST(ComponentParser, ResolvesIndexSpacesOfASmallComponent) {
  auto r = parse_component(adder());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Component& c = *r;
  ASSERT_EQ(c.core_modules.size(), 1u);
  EXPECT_EQ(c.core_modules[0].kind, CoreModuleDef::Kind::Defined);
  EXPECT_EQ(c.core_modules[0].offset, 10u);  // preamble 8 + section id + size byte
  ASSERT_EQ(c.core_modules[0].exports.size(), 2u);
  ASSERT_EQ(c.core_funcs.size(), 1u);
  EXPECT_EQ(c.core_funcs[0].kind, CoreItemDef::Kind::AliasExport);
  EXPECT_EQ(c.core_funcs[0].name, "f");
  ASSERT_TRUE(c.core_funcs[0].signature.has_value());
  EXPECT_EQ(to_string(*c.core_funcs[0].signature), "(i32 i32) -> (i32)");
  ASSERT_EQ(c.core_memories.size(), 1u);
  // canon lift defines func 0, the export aliases it as func 1.
  ASSERT_EQ(c.funcs.size(), 2u);
  EXPECT_EQ(c.funcs[0].kind, FuncDef::Kind::CanonLift);
  EXPECT_EQ(to_string(*c.funcs[1].type), "func(a: s32, b: s32) -> s32");
  const Export* e = c.find_export("add");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->item.sort, Sort::Func);
  EXPECT_EQ(c.order.size(), 7u);  // module, instance, 2 aliases, type, lift, export
}

TEST(ComponentParser, UnknownCanonicalOptionNamesOffsetAndSection) {
  uint64_t canon_at = 0;
  auto bytes = adder(Bytes().u32(1).u8(0x09), Bytes().u8(0x40).u32(2).name("a").u8(0x7a).name("b").u8(0x7a).u8(0x00).u8(0x7a),
                     &canon_at);
  // canon contents: count(1) 0x00 0x00 funcidx(1) optcount(1) -> option byte at +5.
  EXPECT_EQ(refusal(bytes), "unknown canonical option 0x09 at byte offset " + std::to_string(canon_at + 5) +
                                " (canon section)");
}

TEST(ComponentParser, CanonOptionsAreValidated) {
  EXPECT_NE(refusal(adder(Bytes().u32(2).u8(0x00).u8(0x01))).find("string-encoding given twice"), std::string::npos);
  EXPECT_NE(refusal(adder(Bytes().u32(1).u8(0x03).u32(5))).find("core memory index 5 out of range"), std::string::npos);
  EXPECT_NE(refusal(adder(Bytes().u32(1).u8(0x04).u32(0))).find("realloc has type (i32 i32) -> (i32)"),
            std::string::npos);
  // A string parameter needs memory and realloc.
  auto needs = refusal(adder(Bytes().u32(0), Bytes().u8(0x40).u32(1).name("s").u8(0x73).u8(0x00).u8(0x7a)));
  EXPECT_NE(needs.find("needs the memory option"), std::string::npos) << needs;
}

TEST(ComponentParser, CanonLiftSignatureMustMatchTheCoreFunction) {
  auto r = refusal(adder(Bytes().u32(0), Bytes().u8(0x40).u32(1).name("a").u8(0x78).u8(0x00).u8(0x7a)));
  EXPECT_NE(r.find("flattens to (i64) -> (i32)"), std::string::npos) << r;
  EXPECT_NE(r.find("(canon section)"), std::string::npos) << r;
}

TEST(ComponentParser, RefusesCoreModulesBadVersionsAndUnknownSections) {
  EXPECT_EQ(refusal(small_core_module().b), "this is a core module, not a component at byte offset 6 (preamble)");
  auto old = adder();
  old[4] = 0x0a;
  EXPECT_NE(refusal(old).find("version 0x0a 0x00 is not supported"), std::string::npos);
  auto bad = preamble();
  bad.section(13, Bytes().u8(0));
  EXPECT_EQ(refusal(bad.b), "unknown section id 13 at byte offset 8 (preamble)");
  auto value = preamble();
  value.section(12, Bytes().u32(0));
  EXPECT_NE(refusal(value.b).find("value definitions"), std::string::npos);
}

TEST(ComponentParser, CustomSectionsAreSkipped) {
  auto c = preamble();
  c.section(0, Bytes().name("producers").raw({0xff, 0xfe, 0x00, 0x13}));
  auto r = parse_component(c.b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->order.empty());
}

TEST(ComponentParser, IntegerAndLengthAbuseIsRefused) {
  auto longleb = preamble();
  longleb.section(7, Bytes().raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
  EXPECT_NE(refusal(longleb.b).find("at byte offset 10 (type section)"), std::string::npos) << refusal(longleb.b);
  auto bigcount = preamble();
  bigcount.section(7, Bytes().u32(1000000).u8(0x7f));
  EXPECT_NE(refusal(bigcount.b).find("type count 1000000 exceeds the 1 bytes that remain"), std::string::npos)
      << refusal(bigcount.b);
  auto bigsection = preamble();
  bigsection.u8(7).u32(0xffffffff).u8(0);
  EXPECT_NE(refusal(bigsection.b).find("section size 4294967295 exceeds"), std::string::npos) << refusal(bigsection.b);
  auto bigname = preamble();
  bigname.section(10, Bytes().u32(1).u8(0x00).u32(0x7fffffff));
  EXPECT_NE(refusal(bigname.b).find("name length 2147483647 exceeds"), std::string::npos) << refusal(bigname.b);
  auto trailing = preamble();
  trailing.section(7, Bytes().u32(0).u8(0x00));
  EXPECT_NE(refusal(trailing.b).find("unexpected trailing bytes"), std::string::npos);
}

TEST(ComponentParser, NestingDepthIsLimited) {
  // 20 components, each the only section of its parent.
  Bytes inner = preamble();
  for (int i = 0; i < 20; ++i) {
    Bytes outer = preamble();
    outer.section(4, inner);
    inner = outer;
  }
  auto r = refusal(inner.b);
  EXPECT_NE(r.find("nested components exceed the depth limit of 16"), std::string::npos) << r;
  // Within the limit it parses.
  Bytes ok = preamble();
  for (int i = 0; i < 10; ++i) {
    Bytes outer = preamble();
    outer.section(4, ok);
    ok = outer;
  }
  EXPECT_EQ(refusal(ok.b), "accepted");
}

TEST(ComponentParser, TypeDepthIsLimited) {
  Bytes types = Bytes().u32(150).u8(0x70).u8(0x7d);  // type 0 = list<u8>
  for (uint32_t i = 1; i < 150; ++i) types.u8(0x70).s33(i - 1);  // type i = list<type i-1>
  auto c = preamble();
  c.section(7, types);
  auto r = refusal(c.b);
  EXPECT_NE(r.find("nesting depth 101 exceeds the limit of 100"), std::string::npos) << r;
  // Instance types nested in instance types.
  Bytes nested = Bytes().u8(0x42).u32(0);
  for (int i = 0; i < 30; ++i) nested = Bytes().u8(0x42).u32(1).u8(0x01).raw(nested);
  auto d = preamble();
  d.section(7, Bytes().u32(1).raw(nested));
  EXPECT_NE(refusal(d.b).find("depth limit"), std::string::npos) << refusal(d.b);
}

TEST(ComponentParser, ValueTypeRulesAreEnforced) {
  auto types = [](const Bytes& body) {
    auto c = preamble();
    c.section(7, body);
    return refusal(c.b);
  };
  Bytes flags = Bytes().u32(1).u8(0x6e).u32(33);
  for (int i = 0; i < 33; ++i) flags.name("f" + std::to_string(i));
  EXPECT_NE(types(flags).find("flags with 33 labels exceeds the limit of 32"), std::string::npos);
  EXPECT_NE(types(Bytes().u32(2).u8(0x7d).u8(0x69).u32(0)).find("not a resource type"), std::string::npos);
  EXPECT_NE(types(Bytes().u32(1).u8(0x72).u32(2).name("a").u8(0x7d).name("a").u8(0x7d)).find("appears twice"),
            std::string::npos);
  EXPECT_NE(types(Bytes().u32(1).u8(0x70).u32(0)).find("type index 0 out of range"), std::string::npos);
  EXPECT_NE(types(Bytes().u32(1).u8(0x5a)).find("unknown type form 0x5a"), std::string::npos);
  // A borrow in a function result is refused.
  auto borrow_result = preamble();
  borrow_result.section(10, Bytes().u32(1).u8(0x00).name("r").u8(0x03).u8(0x01));  // import type r (sub resource)
  borrow_result.section(7, Bytes().u32(2).u8(0x68).u32(0).u8(0x40).u32(0).u8(0x00).u32(1));
  EXPECT_NE(refusal(borrow_result.b).find("result contains a borrow"), std::string::npos) << refusal(borrow_result.b);
}

TEST(ComponentParser, ResourcesAndTheirBuiltins) {
  // A defined resource gets resource.new/rep/drop; an imported one only drop.
  auto c = preamble();
  c.section(10, Bytes().u32(1).u8(0x00).name("imported").u8(0x03).u8(0x01));     // type 0: sub resource
  c.section(7, Bytes().u32(1).u8(0x3f).u8(0x7f).u8(0x00));                        // type 1: resource (rep i32)
  c.section(8, Bytes().u32(4).u8(0x02).u32(1).u8(0x04).u32(1).u8(0x03).u32(1).u8(0x03).u32(0));
  auto r = parse_component(c.b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->core_funcs.size(), 4u);
  EXPECT_EQ(r->core_funcs[0].kind, CoreItemDef::Kind::ResourceNew);
  EXPECT_EQ(to_string(*r->core_funcs[0].signature), "(i32) -> (i32)");
  EXPECT_EQ(to_string(*r->core_funcs[2].signature), "(i32) -> ()");
  EXPECT_TRUE(r->types[1]->resource.defined);
  EXPECT_FALSE(r->types[0]->resource.defined);
  EXPECT_NE(r->types[0]->resource.id, r->types[1]->resource.id);

  auto bad = preamble();
  bad.section(10, Bytes().u32(1).u8(0x00).name("imported").u8(0x03).u8(0x01));
  bad.section(8, Bytes().u32(1).u8(0x02).u32(0));
  EXPECT_NE(refusal(bad.b).find("resource.new of a resource type this component does not define"), std::string::npos);
  auto async_builtin = preamble();
  async_builtin.section(8, Bytes().u32(1).u8(0x09).u8(0x01).u8(0x00).u32(0));
  EXPECT_NE(refusal(async_builtin.b).find("canonical built-in task.return (async/threads) is not supported"),
            std::string::npos);
}

TEST(ComponentParser, ImportNamesAndVersionsAreParsed) {
  auto c = preamble();
  c.section(7, Bytes().u32(1).u8(0x42).u32(0));  // empty instance type
  c.section(10, Bytes().u32(2)
                    .u8(0x00).name("wasi:http/incoming-handler@0.2.3").u8(0x05).u32(0)
                    .u8(0x00).name("wasi:cli/environment@0.2.0-rc-2023-12-05").u8(0x05).u32(0));
  auto r = parse_component(c.b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ExternName& n = r->imports[0].name;
  EXPECT_EQ(n.ns, "wasi");
  EXPECT_EQ(n.package, "http");
  EXPECT_EQ(n.interface, "incoming-handler");
  EXPECT_EQ(n.version, "0.2.3");
  EXPECT_EQ(n.unversioned(), "wasi:http/incoming-handler");
  EXPECT_EQ(r->imports[1].name.version, "0.2.0-rc-2023-12-05");

  auto bad = preamble();
  bad.section(7, Bytes().u32(1).u8(0x42).u32(0));
  bad.section(10, Bytes().u32(1).u8(0x00).name("wasi:http/handler@0.2").u8(0x05).u32(0));
  EXPECT_NE(refusal(bad.b).find("is not a semantic version at byte offset"), std::string::npos) << refusal(bad.b);
  auto dup = preamble();
  dup.section(7, Bytes().u32(1).u8(0x42).u32(0));
  dup.section(10, Bytes().u32(2).u8(0x00).name("a").u8(0x05).u32(0).u8(0x00).name("a").u8(0x05).u32(0));
  EXPECT_NE(refusal(dup.b).find("import 'a' appears twice"), std::string::npos);
}

TEST(ComponentParser, AliasesOfMissingExportsAreRefused) {
  auto c = preamble();
  c.section(1, small_core_module());
  c.section(2, Bytes().u32(1).u8(0x00).u32(0).u32(0));
  c.section(6, Bytes().u32(1).u8(0x00).u8(0x00).u8(0x01).u32(0).name("nope"));
  EXPECT_NE(refusal(c.b).find("core instance 0 has no export 'nope'"), std::string::npos);
  auto wrong_sort = preamble();
  wrong_sort.section(1, small_core_module());
  wrong_sort.section(2, Bytes().u32(1).u8(0x00).u32(0).u32(0));
  wrong_sort.section(6, Bytes().u32(1).u8(0x00).u8(0x02).u8(0x01).u32(0).name("f"));
  EXPECT_NE(refusal(wrong_sort.b).find("is a core func, not a core memory"), std::string::npos);
}

TEST(ComponentParser, NestedComponentInstantiatedAndItsExportAliased) {
  auto build = [](bool pass_g) {
    Bytes inner = preamble();
    inner.section(6, Bytes().u32(1).u8(0x03).u8(0x02).u32(1).u32(0));        // alias outer 1 type 0
    inner.section(10, Bytes().u32(1).u8(0x00).name("g").u8(0x01).u32(0));    // import g: func type 0
    inner.section(11, Bytes().u32(1).u8(0x00).name("h").u8(0x01).u32(0).u8(0x00));
    Bytes c = preamble();
    c.section(7, Bytes().u32(1).u8(0x40).u32(0).u8(0x01).u8(0x00));          // type 0: func()
    c.section(10, Bytes().u32(1).u8(0x00).name("f").u8(0x01).u32(0));        // func 0
    c.section(4, inner);                                                      // component 0
    Bytes args = pass_g ? Bytes().u32(1).name("g").u8(0x01).u32(0) : Bytes().u32(0);
    c.section(5, Bytes().u32(1).u8(0x00).u32(0).raw(args));                  // instance 0
    c.section(6, Bytes().u32(1).u8(0x01).u8(0x00).u32(0).name("h"));         // func 1 = instance 0 "h"
    c.section(8, Bytes().u32(1).u8(0x01).u8(0x00).u32(1).u32(0));            // core func 0 = lower func 1
    c.section(9, Bytes().u32(1).u32(0).u32(0));                              // start func 1
    c.section(11, Bytes().u32(1).u8(0x00).name("out").u8(0x01).u32(1).u8(0x01).u8(0x01).u32(0));
    return c.b;
  };
  auto r = parse_component(build(true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Component& c = *r;
  ASSERT_EQ(c.components.size(), 1u);
  ASSERT_NE(c.components[0].nested, nullptr);
  EXPECT_EQ(c.components[0].nested->depth, 1u);
  EXPECT_EQ(c.components[0].nested->types.size(), 1u);  // the outer alias
  ASSERT_EQ(c.instances.size(), 1u);
  EXPECT_EQ(c.instances[0].kind, InstanceDef::Kind::Instantiate);
  ASSERT_NE(c.instances[0].type->find("h"), nullptr);
  ASSERT_GE(c.funcs.size(), 2u);
  EXPECT_EQ(c.funcs[1].kind, FuncDef::Kind::AliasExport);
  EXPECT_EQ(c.funcs[1].name, "h");
  EXPECT_EQ(to_string(*c.funcs[1].type), "func()");
  EXPECT_EQ(to_string(*c.core_funcs[0].signature), "() -> ()");
  ASSERT_TRUE(c.start.has_value());
  EXPECT_EQ(c.start->func, 1u);
  ASSERT_TRUE(c.find_export("out")->ascribed.has_value());

  EXPECT_NE(refusal(build(false)).find("gives no argument for import 'g'"), std::string::npos) << refusal(build(false));
}

TEST(ComponentParser, EveryTruncationIsRefusedWithAPosition) {
  auto full = adder();
  ASSERT_TRUE(parse_component(full).ok());
  auto ends = section_ends(full);
  ends.pop_back();  // the full length is not a strict prefix
  EXPECT_EQ(accepted_prefixes(full), ends);
}

TEST(ComponentParser, SingleByteCorruptionsNeverCrash) {
  auto full = adder();
  size_t refused = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      auto bytes = full;
      if (bytes[i] == v) continue;
      bytes[i] = v;
      auto r = parse_component(bytes);
      if (!r.ok()) {
        ++refused;
        EXPECT_NE(r.error().message.find("at byte offset"), std::string::npos) << r.error().message;
      }
    }
  }
  EXPECT_GT(refused, full.size());  // most corruptions are caught, each with a position
}

}  // namespace
}  // namespace wink::component
