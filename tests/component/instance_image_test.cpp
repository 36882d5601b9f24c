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
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/wat.h"
#include "engine/snapshot_pages.h"
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
using W = ComponentWriter;
namespace fs = std::filesystem;
using wink::test::wat;

constexpr uint8_t kS32 = 0x7a, kU32 = 0x79;

// Instance 0: memory, global, table (entry 0 its own function), data, a
// start function that counts its runs in a global and in memory.
const char* kStateModule = R"((module
  (type $fn (func (param i32) (result i32)))
  (memory (export "mem") 1 8)
  (global $g (export "g") (mut i32) (i32.const 7))
  (global $started (mut i32) (i32.const 0))
  (table $t (export "t") 4 funcref)
  (elem (i32.const 0) $triple)
  (elem declare func $evil)
  (data (i32.const 100) "\2a\00\00\00")
  (func $triple (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 3)) (global.get $g)))
  (func $evil (param i32) (result i32) (i32.const -1))
  (func $start
    (global.set $started (i32.add (global.get $started) (i32.const 1)))
    (i32.store (i32.const 200) (i32.add (i32.load (i32.const 200)) (i32.const 99))))
  (start $start)
  (func (export "double") (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 2)) (global.get $g)))
  (func (export "get-g") (result i32) (global.get $g))
  (func (export "set-g") (param i32) (result i32) (global.set $g (local.get 0)) (local.get 0))
  (func (export "started") (result i32) (global.get $started))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "poke") (param i32 i32) (result i32) (i32.store (local.get 0) (local.get 1)) (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "set-entry") (param i32) (result i32) (table.set $t (local.get 0) (ref.func $evil)) (local.get 0))
  (func (export "call-entry") (param i32 i32) (result i32)
    (call_indirect (type $fn) (local.get 1) (local.get 0))))
)";

// Instance 1 (instantiated after 0): its element segment puts its imported
// `double` (entry 1) and its own function reading its own global (entry 2)
// into instance 0's table.
const char* kUserModule = R"((module
  (import "m" "t" (table 4 funcref))
  (import "m" "double" (func $double (param i32) (result i32)))
  (global $mine (mut i32) (i32.const 1000))
  (elem (i32.const 1) $double $own)
  (func $own (param i32) (result i32) (i32.add (global.get $mine) (local.get 0)))
  (func (export "bump-mine") (param i32) (result i32)
    (global.set $mine (i32.add (global.get $mine) (local.get 0))) (global.get $mine)))
)";

Bytes prim(uint8_t b) { return Bytes().u8(b); }

// Lifts `fns` (core instance, export, parameter count; results: one s32)
// and exports them under their names.
void lift_all(W& w, const std::vector<std::tuple<uint32_t, std::string, int>>& fns) {
  Bytes s32 = prim(kS32);
  uint32_t core = 0, types = 0;
  for (const auto& [inst, name, nparams] : fns) {
    std::vector<std::pair<std::string, Bytes>> params;
    for (int p = 0; p < nparams; ++p) params.emplace_back(std::string(1, char('a' + p)), s32);
    w.alias_core(W::kCoreFunc, inst, name);
    w.type(component::testing::func_type(params, &s32));
    w.lift(core++, CanonOpts().bytes(), types++);
  }
  for (uint32_t i = 0; i < fns.size(); ++i) w.export_item(std::get<1>(fns[i]), W::kFunc, i);
}

std::vector<uint8_t> state_component() {
  W w;
  w.core_module(wat(kStateModule)).core_module(wat(kUserModule));
  w.core_instantiate(0).core_instantiate(1, {{"m", 0}});
  lift_all(w, {{0, "get-g", 0}, {0, "set-g", 1}, {0, "started", 0}, {0, "peek", 1}, {0, "poke", 2},
               {0, "grow", 1}, {0, "pages", 0}, {0, "set-entry", 1}, {0, "call-entry", 2}, {1, "bump-mine", 1}});
  return w.c.b;
}

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

}  // namespace
}  // namespace wink::linker
