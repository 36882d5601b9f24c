// A released linear-memory slot is clean for whoever gets it next, at every
// size boundary: 64 KiB, one page below and at the 1 MiB memset limit,
// 4095 MiB and the full 4 GiB (65536 pages, whose byte size does not fit
// wasm-rt's 32-bit `size`). Writer and reader are different modules, as two
// tenants' components would be; the reader is checked to sit in the slot the
// writer released.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "compiler/wat.h"
#include "engine/engine.h"
#include "runtime/memory_pool.h"
#include "runtime/runtime.h"

namespace wink::engine {
namespace {

constexpr uint64_t kPage = 64 * 1024;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSecret = 0x3234544552434553;  // "SECRET42"

Engine& engine() {
  static Engine* e = [] {
    EngineConfig config;
    config.data_dir = WINK_TEST_CACHE_DIR;
    config.compile.opt_level = 1;
    return new Engine(config);
  }();
  return *e;
}

// A module with `pages` of memory (optionally growable), and exports to store
// and load 8 bytes; `role` makes writer and reader distinct modules.
std::shared_ptr<Module> memory_module(uint32_t pages, const std::string& role) {
  std::string text = "(module (memory (export \"memory\") " + std::to_string(pages) + ")\n"
                     "  (func (export \"store\") (param i32 i64) (i64.store (local.get 0) (local.get 1)))\n"
                     "  (func (export \"load\") (param i32) (result i64) (i64.load (local.get 0)))\n"
                     "  (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n"
                     "  (func (export \"fill_end\") (param i32)\n"
                     "    (memory.fill (i32.sub (i32.mul (memory.size) (i32.const 65536)) (local.get 0))\n"
                     "                 (i32.const 0x5a) (local.get 0)))\n"
                     "  (func (export \"" + role + "\")))\n";
  auto m = engine().load_bytes(test::wat(text));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

std::unique_ptr<Instance> instantiate(const std::shared_ptr<Module>& module, uint32_t limit_pages) {
  InstanceLimits limits;
  limits.max_memory_pages = limit_pages;
  auto i = Instance::create(module, {}, limits);
  EXPECT_TRUE(i.ok()) << (i.ok() ? "" : i.error().message);
  return i.ok() ? std::move(*i) : nullptr;
}

// Addresses (of 8-byte values) worth writing in a memory of `bytes`: the
// first and last words, around the 1 MiB memset limit and 64 KiB, and 100000.
std::vector<uint64_t> addresses(uint64_t bytes) {
  std::vector<uint64_t> a = {0, bytes - 8, kPage - 8, 100000, kMiB - 8, kMiB, kMiB + 4096, bytes / 2};
  a.erase(std::remove_if(a.begin(), a.end(), [&](uint64_t x) { return x + 8 > bytes; }), a.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

void store(Instance& inst, uint64_t addr, uint64_t value) {
  auto r = inst.invoke("store", std::vector<Value>{{'i', addr}, {'I', value}});
  ASSERT_TRUE(r.ok()) << "store at " << addr << ": " << r.error().message;
}

uint64_t load(Instance& inst, uint64_t addr) {
  auto r = inst.invoke("load", std::vector<Value>{{'i', addr}});
  EXPECT_TRUE(r.ok()) << "load at " << addr << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? (*r)[0].bits : ~0ull;
}

// Writes the secret everywhere worth it; returns the slot's base.
const uint8_t* write_secrets(const std::shared_ptr<Module>& writer, uint32_t pages) {
  auto w = instantiate(writer, pages);
  if (!w) return nullptr;
  const uint64_t bytes = uint64_t{pages} * kPage;
  for (uint64_t a : addresses(bytes)) store(*w, a, kSecret);
  for (uint64_t a : addresses(bytes)) EXPECT_EQ(load(*w, a), kSecret) << a;
  const uint8_t* base = w->memory()->data;
  w.reset();
  // A released slot may wait for its batch clear: cleared now, it is the
  // next one handed out.
  runtime::MemoryPool::instance().clear_released();
  return base;
}

class MemoryReuse : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MemoryReuse, NextInstanceOfAnotherModuleReadsZeros) {
  const uint32_t pages = GetParam();
  const uint64_t bytes = uint64_t{pages} * kPage;
  auto writer = memory_module(pages, "writer");
  auto reader = memory_module(pages, "reader");
  ASSERT_TRUE(writer && reader);

  // Same size: the pool hands the writer's slot to the reader.
  const uint8_t* base = write_secrets(writer, pages);
  ASSERT_NE(base, nullptr);
  {
    auto r = instantiate(reader, pages);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->memory()->data, base) << "the reader did not get the writer's slot";
    for (uint64_t a : addresses(bytes)) EXPECT_EQ(load(*r, a), 0u) << "left behind at " << a;
  }

  // A smaller component (1 MiB limit, 2 pages): take free slots until one is
  // the writer's; every one of them must read zeros.
  base = write_secrets(writer, pages);
  ASSERT_NE(base, nullptr);
  auto small = memory_module(2, "small_reader");
  ASSERT_TRUE(small);
  std::vector<std::unique_ptr<Instance>> held;
  bool found = false;
  // (Free slots of the small size go first: as many as earlier tests in this process left.)
  for (uint64_t i = 0; i < runtime::MemoryPool::instance().slots_total() && !found; ++i) {
    held.push_back(instantiate(small, 16));
    ASSERT_TRUE(held.back());
    found = held.back()->memory()->data == base;
    for (uint64_t a : addresses(2 * kPage)) EXPECT_EQ(load(*held.back(), a), 0u) << "left behind at " << a;
  }
  EXPECT_TRUE(found) << "no small instance got the writer's slot";
}

INSTANTIATE_TEST_SUITE_P(Boundaries, MemoryReuse,
                         ::testing::Values(1u, 15u, 16u, 4095u * 16u, 65536u),
                         [](const auto& info) { return std::to_string(info.param) + "pages"; });

// Growing to the full 4 GiB works (65536 pages is a valid Wasm memory), bulk
// operations reach its last byte, and the slot is clean afterwards.
TEST(MemoryReuse, GrowToFourGiBThenReleaseIsClean) {
  auto grower = memory_module(1, "grower");
  auto reader = memory_module(65536, "reader4g");
  ASSERT_TRUE(grower && reader);
  const uint8_t* base = nullptr;
  {
    auto g = instantiate(grower, 65536);
    ASSERT_TRUE(g);
    auto r = g->invoke("grow", std::vector<Value>{{'i', 65535}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)[0].bits, 1u) << "memory.grow to 65536 pages failed";
    auto again = g->invoke("grow", std::vector<Value>{{'i', 1}});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(static_cast<uint32_t>((*again)[0].bits), UINT32_MAX) << "grew past 4 GiB";
    store(*g, (4ull << 30) - 8, kSecret);
    store(*g, 100000, kSecret);
    EXPECT_EQ(load(*g, (4ull << 30) - 8), kSecret);
    // memory.fill of the last 4096 bytes: bounds-checked against wasm-rt's
    // 32-bit size, saturated at 4 GiB, so it stays within the memory.
    runtime::Outcome o;
    (void)g->invoke("fill_end", std::vector<Value>{{'i', 4096}}, &o);
    EXPECT_TRUE(o.ok() || o.trap == runtime::Trap::kOutOfBounds) << runtime::trap_message(o.trap);
    base = g->memory()->data;
  }
  auto r = instantiate(reader, 65536);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->memory()->data, base);
  EXPECT_EQ(load(*r, (4ull << 30) - 8), 0u);
  EXPECT_EQ(load(*r, (4ull << 30) - 4096), 0u);
  EXPECT_EQ(load(*r, 100000), 0u);
}

// A release clears the pages the last clear of the slot left resident
// without looking at the page tables, when the process took no page fault
// since. The attacker writes only such pages (no fault): each next instance
// must still read zeros there; a write to a page never touched (a fault)
// must make the release look again and clear it too. Each release is
// cleared at once here (clear_released), so the next instance gets the slot back.
TEST(MemoryReuse, AReleaseWithoutAScanStillClearsEveryWrittenPage) {
  auto attacker = memory_module(2, "attacker");
  ASSERT_TRUE(attacker);
  auto& pool = runtime::MemoryPool::instance();
  const std::vector<uint64_t> resident = {0, 4096, 65536 + 4096 * 3, 2 * kPage - 8};
  const uint8_t* base = nullptr;
  {
    auto a = instantiate(attacker, 2);
    ASSERT_TRUE(a);
    for (uint64_t addr : resident) store(*a, addr, kSecret);  // faults them in
    base = a->memory()->data;
  }
  pool.clear_released();
  const uint64_t skipped_before = pool.resets_without_scan();
  for (int round = 0; round < 20; ++round) {
    {
      auto a = instantiate(attacker, 2);
      ASSERT_TRUE(a);
      ASSERT_EQ(a->memory()->data, base) << "round " << round << ": another slot";
      for (uint64_t addr : resident) {
        ASSERT_EQ(load(*a, addr), 0u) << "round " << round << ": left behind at " << addr;
        store(*a, addr, kSecret);  // resident already: no fault
      }
    }
    pool.clear_released();
  }
  // Most rounds took no fault (a stray one elsewhere in the process makes a
  // round look at the page tables, which is also correct).
  EXPECT_GE(pool.resets_without_scan() - skipped_before, 10u);
  {
    auto a = instantiate(attacker, 2);
    ASSERT_TRUE(a);
    ASSERT_EQ(a->memory()->data, base);
    for (uint64_t addr : resident) EXPECT_EQ(load(*a, addr), 0u) << addr;
    store(*a, 65536 + 4096 * 9, kSecret);  // a page never touched: a fault
  }
  pool.clear_released();
  auto a = instantiate(attacker, 2);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->memory()->data, base);
  EXPECT_EQ(load(*a, 65536 + 4096 * 9), 0u) << "the newly touched page was left behind";
  for (uint64_t addr : resident) EXPECT_EQ(load(*a, addr), 0u) << addr;
}

// Released slots wait, handed to nobody, until they are checked together
// with one read of the fault count (an acquire finding no free slot, once
// per MemoryPool::kCheckInterval). The attacker leaves
// its secret in every page it writes, round after round, as slots rotate
// through the batch; a second module must read zeros in every slot it gets,
// and slots must come back (the batch was cleared, not leaked).
TEST(MemoryReuse, SlotsReleasedInABatchAreClearedBeforeAnyoneGetsThem) {
  auto attacker = memory_module(2, "attacker");
  auto reader = memory_module(2, "reader");
  ASSERT_TRUE(attacker && reader);
  auto& pool = runtime::MemoryPool::instance();
  const std::vector<uint64_t> addrs = {0, 4096, 65536 + 4096 * 3, 2 * kPage - 8};
  std::map<const uint8_t*, int> seen;
  const uint64_t skipped_before = pool.resets_without_scan();
  const uint64_t in_use_before = pool.slots_in_use();
  for (int round = 0; round < 6 * int(runtime::MemoryPool::kMaxUnchecked); ++round) {
    {
      auto a = instantiate(round % 2 ? reader : attacker, 3);
      ASSERT_TRUE(a);
      ++seen[a->memory()->data];
      for (uint64_t addr : addrs) {
        ASSERT_EQ(load(*a, addr), 0u) << "round " << round << ": left behind at " << addr;
        store(*a, addr, kSecret + uint64_t(round));
      }
      // Growth in one round: the slot's size changes, so its next release looks again.
      if (round == 20) {
        auto grown = a->invoke("grow", std::vector<Value>{{'i', 1}});
        ASSERT_TRUE(grown.ok() && (*grown)[0].bits == 2u) << "memory.grow by 1 page failed";
        store(*a, 3 * kPage - 8, kSecret);
      }
    }
    // Released slots are neither in use nor lost.
    EXPECT_EQ(pool.slots_in_use(), in_use_before) << "round " << round;
  }
  int reused = 0;
  for (const auto& [base, n] : seen) reused += n > 1;
  EXPECT_GE(reused, 1) << seen.size() << " slots, none came back";
  EXPECT_LE(seen.size(), runtime::MemoryPool::kMaxUnchecked + 2) << "slots are not coming back from the batch";
  // Some slots skipped the page-table scan (69 of 72 on an idle machine;
  // 7-8 with both cores busy, where stray faults elsewhere in the process
  // send whole batches to the scan, which is also correct).
  EXPECT_GE(pool.resets_without_scan() - skipped_before, 1u);
}

// The check an idle I/O thread makes between batches: a released slot
// waiting for its batch is cleared and freed once kCheckInterval passed since
// the last check; the attacker's secret is gone from it.
TEST(MemoryReuse, AnIdleCheckFreesTheWaitingSlots) {
  auto& pool = runtime::MemoryPool::instance();
  constexpr uint64_t kBytes = 2 * kPage;
  pool.clear_released_if_due(std::chrono::steady_clock::now());  // nothing waits: nothing to do
  uint8_t* b = pool.acquire(kBytes, 2);
  ASSERT_NE(b, nullptr);
  std::memcpy(b + 4096, &kSecret, 8);
  pool.release(b);  // the first release of a slot is cleared at once and leaves it known
  pool.clear_released();
  ASSERT_EQ(pool.acquire(kBytes, 2), b) << "the slot just freed is handed out first";
  std::memcpy(b + 4096, &kSecret, 8);  // resident already: no fault
  pool.release(b);
  EXPECT_EQ(pool.slots_waiting(), 1u) << "a known slot waits for its batch";
  std::this_thread::sleep_for(runtime::MemoryPool::kCheckInterval * 2);
  pool.clear_released_if_due(std::chrono::steady_clock::now());
  EXPECT_EQ(pool.slots_waiting(), 0u);
  ASSERT_EQ(pool.acquire(kBytes, 2), b) << "the checked slot is free again";
  uint64_t v;
  std::memcpy(&v, b + 4096, 8);
  EXPECT_EQ(v, 0u) << "left behind";
  pool.release(b);
  pool.clear_released();
}

// A page can become resident without a fault: the kernel may put a 2 MiB
// huge page under a range on its own (khugepaged, with transparent huge
// pages "always"; MADV_COLLAPSE here does it at once). A guest's write to a
// page the last clear saw absent then takes no fault, and a release trusting
// the unchanged fault count would leave it for the next tenant. The pool's
// slots refuse huge pages.
TEST(MemoryReuse, AHugePageCollapseCannotHideAWrittenPage) {
  auto& pool = runtime::MemoryPool::instance();
  constexpr uint64_t kBytes = 4 * kMiB;  // covers a whole 2 MiB huge page range
  constexpr int kMadvCollapse = 25;      // MADV_COLLAPSE (Linux 6.1; not in every libc's headers)
  constexpr uint64_t kWhere = 64 * 4096 + 8;  // inside the memset part, never touched before
  auto attack = [&](uint8_t* b, const char* what) {
    SCOPED_TRACE(what);
    std::memcpy(b, &kSecret, 8);
    pool.release(b);  // cleared by a look at the page tables: page 0 known resident
    pool.clear_released();
    ASSERT_EQ(pool.acquire(kBytes, 64), b);
    std::memcpy(b, &kSecret, 8);  // resident already: no fault
    EXPECT_NE(::madvise(b, 2 * kMiB, kMadvCollapse), 0) << "the kernel put a huge page under a memory slot";
    std::memcpy(b + kWhere, &kSecret, 8);
    pool.release(b);
    pool.clear_released();
    ASSERT_EQ(pool.acquire(kBytes, 64), b);
    uint64_t v;
    std::memcpy(&v, b + kWhere, 8);
    EXPECT_EQ(v, 0u) << "a page written under a huge page was left behind";
    std::memcpy(&v, b, 8);
    EXPECT_EQ(v, 0u);
  };
  uint8_t* b = pool.acquire(kBytes, 64);
  ASSERT_NE(b, nullptr);
  attack(b, "a slot of the reserved arena");
  // A slot that held a snapshot image is a new mapping after its release.
  const int fd = ::memfd_create("image", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, kBytes), 0);
  ASSERT_TRUE(pool.map_image(b, fd, kBytes));
  ::close(fd);
  pool.release(b);
  ASSERT_EQ(pool.acquire(kBytes, 64), b);
  attack(b, "a slot remapped after holding an image");
  pool.release(b);
  pool.clear_released();
}

// A pool with no free slot left but some waiting for their batch clears
// them for the next acquire, which must find zeros there.
TEST(MemoryReuse, AnExhaustedPoolClearsTheSlotsWaitingForTheirBatch) {
  // A small pool when this process has none yet (ctest runs each test alone).
  ::setenv("WINK_MEMORY_SLOTS", "16", 0);
  auto& pool = runtime::MemoryPool::instance();
  constexpr uint64_t kBytes = 2 * kPage;
  auto fill = [](uint8_t* base) {
    for (uint64_t off : {uint64_t{0}, uint64_t{4096}, kBytes - 8}) std::memcpy(base + off, &kSecret, 8);
  };
  // Every slot once (their first release is cleared at once and leaves
  // them known), then every slot again, all held.
  std::vector<uint8_t*> held;
  while (uint8_t* b = pool.acquire(kBytes, 2)) {
    fill(b);
    held.push_back(b);
  }
  ASSERT_EQ(pool.slots_free(), 0u);
  for (uint8_t* b : held) pool.release(b);
  pool.clear_released();
  const size_t total = held.size();
  held.clear();
  while (uint8_t* b = pool.acquire(kBytes, 2)) {
    fill(b);  // resident already: no fault
    held.push_back(b);
  }
  ASSERT_EQ(held.size(), total);
  // Fewer than a batch go back: they wait, and the pool has nothing else.
  const size_t waiting = std::min(runtime::MemoryPool::kMaxUnchecked - 1, held.size());
  for (size_t i = 0; i < waiting; ++i) {
    pool.release(held.back());
    held.pop_back();
  }
  for (size_t i = 0; i < waiting; ++i) {
    uint8_t* b = pool.acquire(kBytes, 2);
    ASSERT_NE(b, nullptr) << "slot " << i << " of those waiting was not handed out";
    for (uint64_t off : {uint64_t{0}, uint64_t{4096}, kBytes - 8}) {
      uint64_t v;
      std::memcpy(&v, b + off, 8);
      EXPECT_EQ(v, 0u) << "slot " << i << ": left behind at " << off;
    }
    held.push_back(b);
  }
  EXPECT_EQ(pool.acquire(kBytes, 2), nullptr);
  for (uint8_t* b : held) pool.release(b);
  pool.clear_released();
}

}  // namespace
}  // namespace wink::engine
