// Component instance images (linker::capture_image / restore): a component
// instance captured right after instantiation, and later instances
// restored from it copy-on-write, with every pointer rebound to the new
// instance. Attacker's view: what one restored instance writes (memory,
// globals, table entries, memory.grow) never reaches another; function
// references that point into *another* core instance (an element segment
// of a later instance filling an earlier instance's table) call the
// restored instance, not the captured one; start-function state is kept
// and the start function does not run again; modules that differ only in
// data share one artifact and still restore their own data; an instance
// holding a live handle at capture is refused with the reason. With
// recycled slots (set_recycled_slots, the per-request path), an instance
// that wrote all over its memory and grew it leaves nothing for the next
// one restored into the same slot, which still maps what it only read.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/wat.h"
#include "engine/snapshot_pages.h"
#include "component/component_builder.h"
#include "component/image_file_format.h"
#include "component/state_component.h"
#include "component/test_host.h"
#include "linker/linker.h"

namespace wink::linker {
namespace {

using namespace component;
using component::testing::Bytes;
using component::testing::CanonOpts;
using component::testing::ComponentWriter;
using component::testing::TestHost;
using W = ComponentWriter;
using component::testing::kStateModule;
using component::testing::lift_all;
using component::testing::prim;
using component::testing::state_component;
namespace fs = std::filesystem;
using wink::test::wat;

constexpr uint8_t kS32 = 0x7a, kU32 = 0x79;

// One module whose only difference between apps is its data segment.
std::vector<uint8_t> data_component(const std::string& data) {
  W w;
  w.core_module(wat(R"((module (memory 1) (data (i32.const 64) ")" + data + R"(")
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "poke") (param i32 i32) (result i32) (i32.store (local.get 0) (local.get 1)) (local.get 1))))"));
  w.core_instantiate(0);
  lift_all(w, {{0, "peek", 1}, {0, "poke", 2}});
  return w.c.b;
}

// A memory of 5 pages (80 pages of 4 KiB) with data in two places and
// zeros elsewhere; `fill` writes bytes [from, from+len), `scatter` one word
// in every second 4 KiB page from page `first`, `read-all` reads one word
// per 4 KiB page and writes nothing.
const char* kRecycleModule = R"((module
  (memory 5 16)
  (data (i32.const 100) "image data at the start")
  (data (i32.const 200000) "image data far in")
  (func $end (result i32) (i32.mul (memory.size) (i32.const 65536)))
  (func (export "fill") (param $from i32) (param $len i32) (param $v i32) (result i32)
    (local $a i32)
    (local.set $a (local.get $from))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $a) (i32.add (local.get $from) (local.get $len))))
      (i32.store (local.get $a) (local.get $v))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br $next)))
    (memory.size))
  (func (export "scatter") (param $v i32) (param $first i32) (result i32)
    (local $a i32)
    (local.set $a (i32.mul (local.get $first) (i32.const 4096)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $a) (call $end)))
      (i32.store (i32.add (local.get $a) (i32.const 40)) (local.get $v))
      (local.set $a (i32.add (local.get $a) (i32.const 8192)))
      (br $next)))
    (memory.size))
  (func (export "read-all") (result i32)
    (local $a i32) (local $sum i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $a) (call $end)))
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $a))))
      (local.set $a (i32.add (local.get $a) (i32.const 4096)))
      (br $next)))
    (local.get $sum))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size)))
)";

std::vector<uint8_t> recycle_component() {
  W w;
  w.core_module(wat(kRecycleModule));
  w.core_instantiate(0);
  lift_all(w, {{0, "fill", 3}, {0, "scatter", 2}, {0, "read-all", 0}, {0, "grow", 1}, {0, "pages", 0}});
  return w.c.b;
}

class InstanceImageTest : public ::testing::Test {
 protected:
  engine::Engine engine{config(WINK_TEST_CACHE_DIR)};
  TestHost host;

  static engine::EngineConfig config(const fs::path& dir) {
    engine::EngineConfig c;
    c.data_dir = dir;
    return c;
  }
  std::shared_ptr<const LoadedComponent> load(engine::Engine& e, const std::vector<uint8_t>& bytes) {
    auto r = load_component(e, bytes, host);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : nullptr;
  }
  // The image of a fresh instance; the captured instance is gone afterwards,
  // so any pointer left to it would be a use after free.
  std::shared_ptr<const InstanceImage> image_of(std::shared_ptr<const LoadedComponent> c) {
    auto fresh = instantiate(c);
    EXPECT_TRUE(fresh.ok()) << fresh.error().message;
    if (!fresh.ok()) return nullptr;
    auto image = capture_image(**fresh);
    EXPECT_TRUE(image.ok()) << image.error().message;
    return image.ok() ? *image : nullptr;
  }
  std::unique_ptr<ComponentInstance> restored(std::shared_ptr<const LoadedComponent> c,
                                              std::shared_ptr<const InstanceImage> image) {
    auto r = restore(std::move(c), std::move(image));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
};

int64_t call(ComponentInstance& inst, const std::string& f, std::vector<int64_t> args = {}) {
  std::vector<Value> values;
  for (int64_t a : args) values.push_back(Value::s(a));
  auto r = inst.call("", f, values);
  EXPECT_TRUE(r.ok()) << f << ": " << r.error().message;
  return r.ok() && !r->empty() ? r->at(0).as_signed() : INT64_MIN;
}

TEST_F(InstanceImageTest, WritesOfOneRestoredInstanceNeverReachTheNext) {
  auto c = load(engine, state_component());
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  auto a = restored(c, image);
  ASSERT_TRUE(a);
  EXPECT_EQ(call(*a, "peek", {100}), 42);  // the data segment
  call(*a, "poke", {100, 5});
  call(*a, "poke", {65536 - 4, 9});        // the last word of the captured memory
  call(*a, "set-g", {1234});
  call(*a, "set-entry", {3});
  EXPECT_EQ(call(*a, "call-entry", {3, 0}), -1);
  EXPECT_EQ(call(*a, "grow", {2}), 1);
  EXPECT_EQ(call(*a, "pages"), 3);
  call(*a, "poke", {3 * 65536 - 4, 11});
  EXPECT_EQ(call(*a, "bump-mine", {5}), 1005);

  auto b = restored(c, image);
  ASSERT_TRUE(b);
  EXPECT_EQ(call(*b, "peek", {100}), 42);
  EXPECT_EQ(call(*b, "peek", {65536 - 4}), 0);
  EXPECT_EQ(call(*b, "get-g"), 7);
  EXPECT_EQ(call(*b, "pages"), 1);
  EXPECT_EQ(call(*b, "bump-mine", {0}), 1000);
  // The entry `a` set is null again here: calling it traps.
  auto null_entry = b->call("", "call-entry", {Value::s(3), Value::s(0)});
  ASSERT_FALSE(null_entry.ok());
  EXPECT_NE(null_entry.error().message.find("trap"), std::string::npos) << null_entry.error().message;
  // Past the captured size: `a`'s growth is not `b`'s.
  auto c2 = restored(c, image);
  ASSERT_TRUE(c2);
  auto oob = c2->call("", "peek", {Value::s(3 * 65536 - 4)});
  ASSERT_FALSE(oob.ok());
  EXPECT_NE(oob.error().message.find("out of bounds"), std::string::npos) << oob.error().message;
  // `a` still sees its own writes.
  EXPECT_EQ(call(*a, "peek", {100}), 5);
  EXPECT_EQ(call(*a, "get-g"), 1234);
}

TEST_F(InstanceImageTest, TableEntriesIntoAnotherCoreInstanceCallTheRestoredInstance) {
  auto c = load(engine, state_component());
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  auto a = restored(c, image);
  auto b = restored(c, image);
  ASSERT_TRUE(a && b);
  call(*a, "set-g", {100});
  call(*a, "bump-mine", {50});
  // Entry 0: instance 0's own function (reads g). Entry 1: instance 1's
  // import of instance 0's `double`, through instance 1's link table.
  // Entry 2: instance 1's own function (reads instance 1's global).
  EXPECT_EQ(call(*a, "call-entry", {0, 2}), 6 + 100);
  EXPECT_EQ(call(*a, "call-entry", {1, 2}), 4 + 100);
  EXPECT_EQ(call(*a, "call-entry", {2, 2}), 1050 + 2);
  EXPECT_EQ(call(*b, "call-entry", {0, 2}), 6 + 7);
  EXPECT_EQ(call(*b, "call-entry", {1, 2}), 4 + 7);
  EXPECT_EQ(call(*b, "call-entry", {2, 2}), 1000 + 2);
  // Destroying one leaves the other's references intact.
  a.reset();
  EXPECT_EQ(call(*b, "call-entry", {1, 3}), 6 + 7);
}

TEST_F(InstanceImageTest, StartFunctionStateIsKeptAndTheStartDoesNotRunAgain) {
  auto c = load(engine, state_component());
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  for (int i = 0; i < 3; ++i) {
    auto r = restored(c, image);
    ASSERT_TRUE(r);
    EXPECT_EQ(call(*r, "started"), 1);
    EXPECT_EQ(call(*r, "peek", {200}), 99);
  }
}

TEST_F(InstanceImageTest, ModulesDifferingOnlyInDataShareOneArtifactAndRestoreTheirOwnData) {
  const fs::path dir = fs::temp_directory_path() / ("wink-image-data-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    engine::Engine fresh(config(dir));
    auto one = load(fresh, data_component("one!"));
    ASSERT_TRUE(one);
    EXPECT_EQ(fresh.compile_count(), 1u);
    auto two = load(fresh, data_component("two!"));
    ASSERT_TRUE(two);
    EXPECT_EQ(fresh.compile_count(), 1u) << "the second app's code module came from the cache";
    auto image_one = image_of(one), image_two = image_of(two);
    ASSERT_TRUE(image_one && image_two);
    auto a = restored(one, image_one), b = restored(two, image_two);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(call(*a, "peek", {64}), 0x21656e6f);  // "one!"
    EXPECT_EQ(call(*b, "peek", {64}), 0x216f7774);  // "two!"
    call(*a, "poke", {64, 1});
    EXPECT_EQ(call(*b, "peek", {64}), 0x216f7774);
    EXPECT_EQ(call(*restored(two, image_two), "peek", {64}), 0x216f7774);
    // An image restores only the component it was captured from.
    auto wrong = restore(one, image_two);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("another component"), std::string::npos) << wrong.error().message;
  }
  fs::remove_all(dir);
}

// A handle of the component's own resource, made while it started, is
// carried over: its rep lives in guest memory, restored with it, and the
// handle table is copied, so every restored instance holds it at the same
// index (and can drop it, running the destructor there). A module with no
// state at all (wasm2c's `char dummy_member;`) is captured too.
TEST_F(InstanceImageTest, HandlesOfItsOwnResourcesAreCarriedIntoEveryRestoredInstance) {
  W w;
  w.core_module(wat(R"((module (func (export "dtor") (param i32))))"));
  w.core_module(wat(R"((module
    (import "r" "new" (func $new (param i32) (result i32)))
    (global $h (mut i32) (i32.const 0))
    (func $start (global.set $h (call $new (i32.const 5))))
    (start $start)
    (func (export "handle") (result i32) (global.get $h))))"));
  w.core_instantiate(0);
  w.alias_core(W::kCoreFunc, 0, "dtor");                            // core func 0
  w.type(Bytes().u8(0x3f).u8(0x7f).u8(0x01).u32(0));                // type 0: resource
  w.resource_builtin(0x02, 0);                                      // core func 1: resource.new
  w.core_exports({{"new", W::kCoreFunc, 1}});                       // core instance 1
  w.core_instantiate(1, {{"r", 1}});                                // core instance 2
  w.alias_core(W::kCoreFunc, 2, "handle");                          // core func 2
  Bytes u32 = prim(kU32);
  w.type(component::testing::func_type({}, &u32));                  // type 1
  w.lift(2, CanonOpts().bytes(), 1);
  w.export_item("handle", W::kFunc, 0);
  auto c = load(engine, w.c.b);
  ASSERT_TRUE(c);
  auto fresh = instantiate(c);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  const uint32_t handle = call(**fresh, "handle", {});
  EXPECT_NE(handle, 0u);
  auto image = capture_image(**fresh);
  ASSERT_TRUE(image.ok()) << image.error().message;
  for (int i = 0; i < 2; ++i) {
    auto r = restore(c, *image);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(call(**r, "handle", {}), handle);
    EXPECT_EQ((*r)->abi_state().handles.live(), 1u);
  }
}

// Over rounds on one recycled slot, each instance writes all over its
// memory in another pattern (long runs, which the reset drops, and single
// pages, which it copies back from the image; the data and the zero
// region), grows it and writes there too. The next instance, restored into
// the same slot, must hold exactly what a fresh instantiation holds.
TEST_F(InstanceImageTest, RecycledSlotKeepsNothingOfThePreviousInstance) {
  auto c = load(engine, recycle_component());
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  set_recycled_slots(*image, 1);
  auto fresh = instantiate(c);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  const std::span<const uint8_t> fresh_memory = (*fresh)->core_memory(0);
  const std::vector<uint8_t> expected(fresh_memory.begin(), fresh_memory.end());
  ASSERT_EQ(expected.size(), 5u * 65536);
  const int64_t expected_sum = call(**fresh, "read-all");
  const uint8_t* previous_slot = nullptr;
  for (int round = 0; round < 9; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto r = restored(c, image);
    ASSERT_TRUE(r);
    const std::span<const uint8_t> memory = r->core_memory(0);
    ASSERT_EQ(memory.size(), expected.size());
    if (previous_slot) {
      EXPECT_EQ(memory.data(), previous_slot) << "the released slot was not reused";
    }
    previous_slot = memory.data();
    const auto diff = std::mismatch(memory.begin(), memory.end(), expected.begin());
    EXPECT_TRUE(diff.first == memory.end())
        << "byte " << (diff.first - memory.begin()) << " holds " << int(*diff.first) << " instead of "
        << int(*diff.second);
    EXPECT_EQ(call(*r, "read-all"), expected_sum);
    EXPECT_EQ(call(*r, "pages"), 5);
    const int64_t v = 0x5a5a0000 + round;
    switch (round % 3) {
      case 0:  // every page, then the grown ones: one long run
        EXPECT_EQ(call(*r, "grow", {3}), 5);
        call(*r, "fill", {0, 8 * 65536, v});
        break;
      case 1:  // single pages (copied back), then more in the grown memory
        call(*r, "scatter", {v, 0});
        EXPECT_EQ(call(*r, "grow", {2}), 5);
        call(*r, "scatter", {v, 1});
        break;
      default:  // a short run, a long one past the copy budget, single pages
        call(*r, "fill", {0, 10 * 4096, v});
        call(*r, "fill", {12 * 4096, 60 * 4096, v});
        call(*r, "scatter", {v, 73});
        EXPECT_EQ(call(*r, "grow", {1}), 5);
        call(*r, "fill", {5 * 65536, 65536, v});
        break;
    }
  }
}

// The point of recycling: the next instance does not fault again on the
// pages the previous one only read (they are still mapped from the image).
TEST_F(InstanceImageTest, RecycledSlotKeepsThePagesThePreviousInstanceRead) {
  auto c = load(engine, recycle_component());
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  set_recycled_slots(*image, 1);
  {
    auto reader = restored(c, image);
    ASSERT_TRUE(reader);
    call(*reader, "read-all");
  }
  auto next = restored(c, image);
  ASSERT_TRUE(next);
  const std::span<const uint8_t> memory = next->core_memory(0);
  const std::vector<uint8_t> states = engine::page_states(memory.data(), memory.size() / 4096);
  if (states.empty()) GTEST_SKIP() << "/proc/self/pagemap is not readable here";
  int mapped = 0;
  for (uint8_t s : states) mapped += (s & engine::kPagePresent) && (s & engine::kPageFromFile);
  EXPECT_GE(mapped, 40) << "of 80 pages read by the previous instance, only " << mapped << " are still mapped";
}

// ---- Images kept in files (save_image / load_image) ----

class ImageFileTest : public InstanceImageTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wink-image-file-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static ImageFileKey key(char spec = 'b') { return {std::string(64, 'a'), std::string(64, spec)}; }
  // An image of the state component after calls changed every kind of
  // state: memory, a global, a table entry (now its own $evil), written to
  // a file; returns the file's bytes.
  std::vector<uint8_t> saved_state(const fs::path& file) {
    auto c = load(engine, state_component());
    auto inst = instantiate(c);
    EXPECT_TRUE(inst.ok());
    call(**inst, "poke", {300, 77});
    call(**inst, "set-g", {55});
    call(**inst, "set-entry", {3});
    auto image = capture_image(**inst);
    EXPECT_TRUE(image.ok()) << image.error().message;
    auto saved = save_image(*c, **image, file, key());
    EXPECT_TRUE(saved.ok()) << saved.error().message;
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // load_image of `bytes` (resealed) for a new load of the state component.
  Result<std::shared_ptr<const InstanceImage>> load_bytes(std::vector<uint8_t> bytes, bool reseal = true) {
    if (reseal) wink::test::reseal_image_file(bytes);
    const fs::path file = dir_ / "tampered.cimg";
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    return load_image(load(engine, state_component()), file, key());
  }
  fs::path dir_;
};

// Another load of the same component (a restart) restores the saved state,
// with every function reference (its own, and those another core instance's
// element segment put in its table) bound to the new instance; the start
// function does not run again.
TEST_F(ImageFileTest, AnotherLoadRestoresTheSavedState) {
  const fs::path file = dir_ / "state.cimg";
  saved_state(file);
  auto c = load(engine, state_component());
  auto image = load_image(c, file, key());
  ASSERT_TRUE(image.ok()) << image.error().message;
  for (int i = 0; i < 2; ++i) {
    auto r = restored(c, *image);
    ASSERT_TRUE(r);
    EXPECT_EQ(call(*r, "peek", {300}), 77);
    EXPECT_EQ(call(*r, "peek", {100}), 42);
    EXPECT_EQ(call(*r, "get-g"), 55);
    EXPECT_EQ(call(*r, "started"), 1);
    EXPECT_EQ(call(*r, "call-entry", {3, 0}), -1);   // $evil, set before the capture
    EXPECT_EQ(call(*r, "call-entry", {0, 2}), 61);   // $triple: 2*3 + g
    EXPECT_EQ(call(*r, "call-entry", {1, 2}), 59);   // instance 1's import of `double`: 2*2 + g
    EXPECT_EQ(call(*r, "call-entry", {2, 2}), 1002); // instance 1's own function, its own global
    call(*r, "set-g", {1});
  }
}

TEST_F(ImageFileTest, AnotherKeyOrComponentIsStale) {
  const fs::path file = dir_ / "state.cimg";
  saved_state(file);
  auto c = load(engine, state_component());
  auto other_spec = load_image(c, file, key('c'));
  ASSERT_FALSE(other_spec.ok());
  EXPECT_NE(other_spec.error().message.find("stale component image: made with other init options or configuration"),
            std::string::npos)
      << other_spec.error().message;
  auto other_component = load_image(c, file, {std::string(64, 'd'), std::string(64, 'b')});
  ASSERT_FALSE(other_component.ok());
  EXPECT_NE(other_component.error().message.find("stale component image: made for another component"),
            std::string::npos)
      << other_component.error().message;
  // Another component's code: data_component's single module is not the state component's.
  auto d = load(engine, data_component("x"));
  auto other_code = load_image(d, file, key());
  ASSERT_FALSE(other_code.ok());
  EXPECT_NE(other_code.error().message.find("stale component image: made on another artifact"), std::string::npos)
      << other_code.error().message;
}

// The quick tier (-O0, TinyCC) and the optimized one are other code for the
// same component: each has its own file, and one's image is never restored
// onto the other's code (its function offsets would land elsewhere).
TEST_F(ImageFileTest, AnImageOfTheOtherTierIsStale) {
  const fs::path file = dir_ / "optimized.cimg";
  saved_state(file);  // default engine: -O2
  engine::EngineConfig quick_config = config(WINK_TEST_CACHE_DIR);
  quick_config.compile.opt_level = 0;
  engine::Engine quick(quick_config);
  auto q = load(quick, state_component());
  ASSERT_TRUE(q);
  auto o = load(engine, state_component());
  auto quick_path = image_path_for(*q, key(), dir_);
  auto optimized_path = image_path_for(*o, key(), dir_);
  ASSERT_TRUE(quick_path.ok() && optimized_path.ok());
  EXPECT_NE(*quick_path, *optimized_path);
  auto stale = load_image(q, file, key());
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().message.find("stale component image: made on another artifact"), std::string::npos)
      << stale.error().message;
  // Its own image restores on its own code.
  auto inst = instantiate(q);
  ASSERT_TRUE(inst.ok());
  call(**inst, "set-g", {9});
  auto image = capture_image(**inst);
  ASSERT_TRUE(image.ok());
  ASSERT_TRUE(save_image(*q, **image, *quick_path, key()).ok());
  auto back = load_image(q, *quick_path, key());
  ASSERT_TRUE(back.ok()) << back.error().message;
  auto r = restored(q, *back);
  ASSERT_TRUE(r);
  EXPECT_EQ(call(*r, "get-g"), 9);
  EXPECT_EQ(call(*r, "call-entry", {1, 2}), 13);  // instance 1's import of `double`: 2*2 + g
}

// An attacker who can write the file and fix its checksums: every index,
// offset and pointer is still checked, and the file is refused with the
// reason, never used.
TEST_F(ImageFileTest, TamperedValuesAreRefusedEvenWithGoodChecksums) {
  const std::vector<uint8_t> good = saved_state(dir_ / "state.cimg");
  {
    auto same = load_bytes(good);  // the mirror of the format is current
    ASSERT_TRUE(same.ok()) << same.error().message;
  }
  const auto map = wink::test::map_image_file(good);
  ASSERT_TRUE(map.ok);
  ASSERT_EQ(map.cores.size(), 2u);
  const auto& entries = map.cores[0].table_entries;
  ASSERT_EQ(entries.size(), 4u);
  ASSERT_NE(entries[1].kind, 0u);  // instance 1's element segment filled 1 and 2
  ASSERT_EQ(map.cores[0].table_relocs.size(), 4u);
  ASSERT_FALSE(map.cores[1].image_relocs.empty());
  struct Case {
    const char* what;
    std::function<void(std::vector<uint8_t>&)> change;
    const char* reason;
  };
  using wink::test::peek_image_file;
  using wink::test::poke_image_file;
  const std::vector<Case> cases = {
      {"a function in no artifact", [&](auto& f) { poke_image_file<uint32_t>(f, entries[0].artifact, 7); },
       "names no artifact of the component"},
      {"a type index past the artifact's", [&](auto& f) { poke_image_file<uint32_t>(f, entries[0].type_index, 99999); },
       "has a bad type"},
      {"a function offset outside its artifact",
       [&](auto& f) { poke_image_file<uint64_t>(f, entries[0].offset, uint64_t{1} << 40); },
       "points outside its artifact"},
      {"funcref indices swapped: instance 1's function in instance 0's code",
       [&](auto& f) {
         const uint32_t a = peek_image_file<uint32_t>(f, entries[0].artifact);
         poke_image_file<uint32_t>(f, entries[2].artifact, a);
       },
       "a table entry's instance|points outside its artifact"},
      {"an entry's instance moved to another core instance",
       [&](auto& f) {
         for (const auto& r : map.cores[0].table_relocs) {
           if (peek_image_file<uint64_t>(f, r.at) == 0) poke_image_file<uint32_t>(f, r.range, 2);
         }
       },
       "a table entry's instance"},
      {"a relocation past its range",
       [&](auto& f) { poke_image_file<uint64_t>(f, map.cores[0].table_relocs[0].offset, uint64_t{1} << 32); },
       "relocation out of range"},
      {"a relocation to a range that does not exist",
       [&](auto& f) { poke_image_file<uint32_t>(f, map.cores[0].table_relocs[0].range, 1000); },
       "relocation out of range"},
      {"a relocation of an entry past the table",
       [&](auto& f) { poke_image_file<uint64_t>(f, map.cores[0].table_relocs[0].at, 4); },
       "relocation out of range"},
      {"an imported table pointed at another instance's struct",
       [&](auto& f) {
         for (const auto& r : map.cores[1].image_relocs) {
           if (peek_image_file<uint32_t>(f, r.range) == 0) poke_image_file<uint64_t>(f, r.offset, 0);
         }
       },
       "does not point where the component's links do"},
      {"a struct relocation on a plain field",
       [&](auto& f) { poke_image_file<uint64_t>(f, map.cores[1].image_relocs[0].at, 1); },
       "relocation of no pointer field"},
      {"a byte of the linker's part changed",
       [&](auto& f) {
         wink::test::ImageFileHeader h;
         std::memcpy(&h, f.data(), sizeof h);
         f[h.meta_offset + h.meta_bytes - 5] ^= 0x7f;  // in the handle table's free list count
       },
       "damaged component image"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<uint8_t> bytes = good;
    c.change(bytes);
    auto r = load_bytes(bytes);
    ASSERT_FALSE(r.ok()) << "a tampered image was accepted";
    const std::string reasons = c.reason;  // alternatives separated by '|'
    bool named = false;
    for (size_t from = 0; from <= reasons.size();) {
      const size_t bar = std::min(reasons.find('|', from), reasons.size());
      named = named || r.error().message.find(reasons.substr(from, bar - from)) != std::string::npos;
      from = bar + 1;
    }
    EXPECT_TRUE(named) << r.error().message;
  }
  // Without resealing: the checksums catch it first.
  std::vector<uint8_t> flipped = good;
  flipped[flipped.size() - 100] ^= 1;
  auto r = load_bytes(flipped, /*reseal=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("damaged component image (memory checksum)"), std::string::npos)
      << r.error().message;
  // Every prefix of the file is refused (a write cut short).
  for (size_t n : {size_t{0}, size_t{100}, size_t{4096}, good.size() / 2, good.size() - 1}) {
    auto cut = load_bytes(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)), false);
    EXPECT_FALSE(cut.ok()) << n;
  }
}

// The handles and host resources of an instance are in the file too.
TEST_F(ImageFileTest, HandlesAreKept) {
  W w;
  w.core_module(wat(R"((module (func (export "dtor") (param i32))))"));
  w.core_module(wat(R"((module
    (import "r" "new" (func $new (param i32) (result i32)))
    (global $h (mut i32) (i32.const 0))
    (func $start (global.set $h (call $new (i32.const 5))))
    (start $start)
    (func (export "handle") (result i32) (global.get $h))))"));
  w.core_instantiate(0);
  w.alias_core(W::kCoreFunc, 0, "dtor");
  w.type(Bytes().u8(0x3f).u8(0x7f).u8(0x01).u32(0));
  w.resource_builtin(0x02, 0);
  w.core_exports({{"new", W::kCoreFunc, 1}});
  w.core_instantiate(1, {{"r", 1}});
  w.alias_core(W::kCoreFunc, 2, "handle");
  Bytes u32 = prim(kU32);
  w.type(component::testing::func_type({}, &u32));
  w.lift(2, CanonOpts().bytes(), 1);
  w.export_item("handle", W::kFunc, 0);
  auto c = load(engine, w.c.b);
  ASSERT_TRUE(c);
  auto image = image_of(c);
  ASSERT_TRUE(image);
  const fs::path file = dir_ / "handles.cimg";
  ASSERT_TRUE(save_image(*c, *image, file, key()).ok());
  auto c2 = load(engine, w.c.b);
  auto back = load_image(c2, file, key());
  ASSERT_TRUE(back.ok()) << back.error().message;
  auto r = restored(c2, *back);
  ASSERT_TRUE(r);
  EXPECT_NE(call(*r, "handle"), 0);
  EXPECT_EQ(r->abi_state().handles.live(), 1u);
}

}  // namespace
}  // namespace wink::linker
