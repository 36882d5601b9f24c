// Modules that differ only in data share one compiled artifact
// (compiler/data_split.h): the second module loads without a compile, each
// instance sees its own data, and everything the split cannot keep exact
// (start functions, passive segments, memory.init) is compiled whole.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "compiler/data_split.h"
#include "compiler/wat.h"
#include "engine/engine.h"
#include "engine/snapshot.h"

namespace wink::engine {
namespace {

namespace fs = std::filesystem;

// A fresh data directory per test, so compile counts start at zero.
class SharedCode : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "wink-shared-code-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Engine> engine() {
    EngineConfig config;
    config.data_dir = dir_;
    config.compile.opt_level = 0;
    return std::make_unique<Engine>(config);
  }

  static int32_t call_i32(const std::shared_ptr<Module>& module, const char* fn, int32_t arg) {
    auto inst = Instance::create(module, {});
    EXPECT_TRUE(inst.ok()) << (inst.ok() ? "" : inst.error().message);
    if (!inst.ok()) return -1;
    auto r = (*inst)->invoke(fn, std::vector<Value>{{'i', static_cast<uint32_t>(arg)}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? static_cast<int32_t>((*r)[0].bits) : -1;
  }

  fs::path dir_;
};

// Same code, own data: reads the byte at an address.
std::string reader_with_data(const std::string& data) {
  return R"((module
    (memory 1)
    (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
    )" + data + ")";
}

TEST_F(SharedCode, SecondModuleWithOtherDataLoadsWithoutCompileAndSeesItsOwnData) {
  auto a = test::wat(reader_with_data(R"((data (i32.const 16) "A") (data (i32.const 100) "xyz"))"));
  // Other contents, other sizes, other number of segments: still the same code.
  auto b = test::wat(reader_with_data(R"((data (i32.const 16) "B") (data (i32.const 200) "0123456789"))"));
  auto e = engine();
  auto ma = e->load_bytes(a);
  ASSERT_TRUE(ma.ok()) << ma.error().message;
  EXPECT_EQ(e->compile_count(), 1u);
  auto mb = e->load_bytes(b);
  ASSERT_TRUE(mb.ok()) << mb.error().message;
  EXPECT_EQ(e->compile_count(), 1u) << "the second module compiled again";
  EXPECT_EQ((*ma)->path(), (*mb)->path());
  EXPECT_EQ(call_i32(*ma, "byte", 16), 'A');
  EXPECT_EQ(call_i32(*mb, "byte", 16), 'B');
  EXPECT_EQ(call_i32(*ma, "byte", 101), 'y');
  EXPECT_EQ(call_i32(*ma, "byte", 201), 0);  // b's data is not a's
  EXPECT_EQ(call_i32(*mb, "byte", 201), '1');
  EXPECT_EQ(call_i32(*mb, "byte", 101), 0);

  // Another process (a new engine on the same data directory) finds it too.
  auto e2 = engine();
  auto mb2 = e2->load_bytes(b);
  ASSERT_TRUE(mb2.ok()) << mb2.error().message;
  EXPECT_EQ(e2->compile_count(), 0u);
  EXPECT_EQ(call_i32(*mb2, "byte", 16), 'B');
}

TEST_F(SharedCode, DifferentCodeNeverSharesAnArtifact) {
  auto a = test::wat(reader_with_data(R"((data (i32.const 16) "A"))"));
  // Same data, one instruction different.
  auto b = test::wat(R"((module (memory 1)
    (func (export "byte") (param i32) (result i32) (i32.load8_s (local.get 0)))
    (data (i32.const 16) "A")))");
  auto e = engine();
  auto ma = e->load_bytes(a);
  auto mb = e->load_bytes(b);
  ASSERT_TRUE(ma.ok() && mb.ok());
  EXPECT_EQ(e->compile_count(), 2u);
  EXPECT_NE((*ma)->path(), (*mb)->path());
}

TEST_F(SharedCode, SegmentsApplyInOrderAndTheLastWriteWins) {
  auto m = engine()->load_bytes(test::wat(reader_with_data(R"((data (i32.const 0) "aaaa") (data (i32.const 1) "bb"))")));
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_NE((*m)->data(), nullptr) << "this module should have been split";
  EXPECT_EQ(call_i32(*m, "byte", 0), 'a');
  EXPECT_EQ(call_i32(*m, "byte", 1), 'b');
  EXPECT_EQ(call_i32(*m, "byte", 2), 'b');
  EXPECT_EQ(call_i32(*m, "byte", 3), 'a');
}

TEST_F(SharedCode, SegmentPastTheMemoryFailsInstantiation) {
  // Ends one byte past the 64 KiB memory; a negative offset is a huge unsigned one.
  for (const char* seg : {R"((data (i32.const 65535) "ab"))", R"((data (i32.const -1) "a"))"}) {
    auto m = engine()->load_bytes(test::wat(reader_with_data(seg)));
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto inst = Instance::create(*m, {});
    ASSERT_FALSE(inst.ok()) << seg;
    EXPECT_NE(inst.error().message.find("out of bounds memory access: data segment 0"), std::string::npos)
        << inst.error().message;
  }
  // Exactly up to the end is fine.
  auto m = engine()->load_bytes(test::wat(reader_with_data(R"((data (i32.const 65534) "ab"))")));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(call_i32(*m, "byte", 65535), 'b');
}

TEST_F(SharedCode, StartFunctionSeesTheDataSoSuchModulesCompileWhole) {
  auto with_start = [](const char* text) {
    return test::wat(std::string(R"((module (memory 1) (global $g (mut i32) (i32.const 0))
      (func $init (global.set $g (i32.load8_u (i32.const 16))))
      (start $init)
      (func (export "byte") (param i32) (result i32) (global.get $g))
      (data (i32.const 16) ")") + text + "\"))");
  };
  auto e = engine();
  auto a = e->load_bytes(with_start("A"));
  auto b = e->load_bytes(with_start("B"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->data(), nullptr);
  EXPECT_EQ(e->compile_count(), 2u);
  EXPECT_EQ(call_i32(*a, "byte", 0), 'A');
  EXPECT_EQ(call_i32(*b, "byte", 0), 'B');
}

TEST_F(SharedCode, PassiveSegmentsAndMemoryInitCompileWhole) {
  // memory.init reads a passive segment: its bytes must stay in the artifact.
  auto passive = test::wat(R"((module (memory 1)
    (func (export "byte") (param i32) (result i32)
      (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
      (i32.load8_u (local.get 0)))
    (data "P")))");
  // data.drop of an active segment needs the data count section: the code
  // alone would not validate, so the module is compiled whole.
  auto drop = test::wat(R"((module (memory 1)
    (func (export "byte") (param i32) (result i32) (data.drop 0) (i32.load8_u (local.get 0)))
    (data (i32.const 0) "D")))");
  auto e = engine();
  auto p = e->load_bytes(passive);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ((*p)->data(), nullptr);
  EXPECT_EQ(call_i32(*p, "byte", 0), 'P');
  auto d = e->load_bytes(drop);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->data(), nullptr);
  EXPECT_EQ(call_i32(*d, "byte", 0), 'D');
}

// Snapshots name what the instance started from, data included: two apps
// sharing code never restore each other's memory.
TEST_F(SharedCode, SnapshotsOfModulesSharingCodeAreTheirOwn) {
  auto with_init = [](const char* text) {
    return test::wat(std::string(R"((module (memory 1)
      (func (export "init") (i32.store8 (i32.const 17) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1))))
      (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (data (i32.const 16) ")") + text + "\"))");
  };
  auto e = engine();
  auto ma = e->load_bytes(with_init("A"));
  auto mb = e->load_bytes(with_init("B"));
  ASSERT_TRUE(ma.ok() && mb.ok());
  ASSERT_EQ(e->compile_count(), 1u);
  EXPECT_NE((*ma)->identity(), (*mb)->identity());
  InitSpec spec;
  spec.init_export = "init";
  const fs::path file_a = snapshot_path_for(**ma, spec, dir_);
  const fs::path file_b = snapshot_path_for(**mb, spec, dir_);
  EXPECT_NE(file_a, file_b);
  fs::create_directories(file_a.parent_path());
  auto sa = Snapshot::load_or_create(file_a, *ma, spec);
  ASSERT_TRUE(sa.ok()) << sa.error().message;
  // B never accepts A's snapshot, even handed the file.
  EXPECT_FALSE(Snapshot::load(file_a, *mb, spec).ok());
  auto sb = Snapshot::load_or_create(file_b, *mb, spec);
  ASSERT_TRUE(sb.ok()) << sb.error().message;
  for (auto [snap, expect] : {std::pair{*sa, 'A'}, std::pair{*sb, 'B'}}) {
    auto inst = snap->instantiate({}, InstanceLimits{});
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    auto r16 = (*inst)->invoke("byte", std::vector<Value>{{'i', 16}});
    auto r17 = (*inst)->invoke("byte", std::vector<Value>{{'i', 17}});
    ASSERT_TRUE(r16.ok() && r17.ok());
    EXPECT_EQ(static_cast<char>((*r16)[0].bits), expect);
    EXPECT_EQ(static_cast<char>((*r17)[0].bits), expect + 1);  // init ran on this app's data
  }
}

TEST(DataSplit, KeepsWhatDecidesTheCodeAndDropsOnlyDataAndCustomSections) {
  auto a = test::wat(reader_with_data(R"((data (i32.const 16) "A"))"));
  auto split = compiler::split_data(a);
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->data->segments.size(), 1u);
  EXPECT_EQ(split->data->segments[0].offset, 16u);
  EXPECT_EQ(split->data->bytes, std::vector<uint8_t>{'A'});
  // The code module is a module: memory, function and export sections survive.
  auto code_module = test::wat(R"((module (memory 1)
    (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))))");
  EXPECT_EQ(split->code, code_module);
}

TEST(DataSplit, RefusesMalformedDataSoValidationReportsIt) {
  auto a = test::wat(reader_with_data(R"((data (i32.const 16) "ABCD"))"));
  // Truncate the module inside the data payload, and lengthen a segment past its section.
  std::vector<uint8_t> truncated(a.begin(), a.end() - 2);
  EXPECT_FALSE(compiler::split_data(truncated).has_value());
  std::vector<uint8_t> longer = a;
  const std::string needle = "ABCD";
  auto at = std::search(longer.begin(), longer.end(), needle.begin(), needle.end());
  ASSERT_NE(at, longer.end());
  at[-1] = 0x7f;  // the segment's length byte
  EXPECT_FALSE(compiler::split_data(longer).has_value());
  // A second data section (invalid) is not split either.
  std::vector<uint8_t> twice = a;
  std::vector<uint8_t> tail = {0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 'Z'};
  twice.insert(twice.end(), tail.begin(), tail.end());
  EXPECT_FALSE(compiler::split_data(twice).has_value());
}

}  // namespace
}  // namespace wink::engine
