// Standby and wake of stateful long-lived instances, at the engine and the
// node: incremental standby (only the pages changed since the last wake are
// written, into the instance's own image, byte-for-byte right across many
// cycles of random writes, zeroed pages and memory growth, with no chain of
// images growing), and the working set mapped at wake before guest code runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <cstdio>
#include <cstring>
#include <thread>
#include <mutex>
#include <random>
#include <set>

#include "engine/snapshot.h"
#include "engine/snapshot_pages.h"
#include "lifecycle/node.h"
#include "lifecycle/reactor_guest_fixture.h"
#include "host/reactor.h"
#include "runtime/memory_pool.h"
#include "runtime/runtime.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
constexpr uint64_t kPage = 4096;

class StandbyTest : public ReactorGuestFixture<StandbyTest> {
 public:
  static constexpr const char* kGuest = "life_pages";

 protected:
  // An instance restored from `snap` with fresh host contexts.
  struct Live {
    std::string out;
    wasi::Stdio so{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
    std::unique_ptr<wasi::Context> ctx;
    host::ReactorContext rc;
    std::unique_ptr<engine::Instance> inst;
  };
  // A node on a manual clock without timer threads (tick() runs the
  // standbys), its log kept, with the guest deployed as one stateful
  // component of at most one instance.
  struct Rig {
    std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
    std::mutex log_mu;
    std::vector<std::string> log;
    std::unique_ptr<Node> node;
    Node::Component* component = nullptr;
    // One request to the guest (its command in QUERY_STRING), expected to run.
    CallResult request(const std::string& q) {
      std::vector<std::string> vars = {"REQUEST_METHOD=GET", "QUERY_STRING=" + q};
      CallResult r = node->call(*component, vars, {});
      EXPECT_EQ(r.rejected, 0) << r.reason;
      EXPECT_TRUE(r.outcome.ok()) << r.err;
      return r;
    }
  };
  // What the guest answers for this heap and grown memory ("hash=..."), hashed as it does.
  static std::string expected_hash(const std::vector<uint8_t>& heap, const std::vector<uint8_t>& grown) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : heap) h = (h ^ b) * 0x100000001b3ull;
    for (uint8_t b : grown) h = (h ^ b) * 0x100000001b3ull;
    char buf[32];
    std::snprintf(buf, sizeof buf, "hash=%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
  static std::unique_ptr<Rig> deploy_pages(uint64_t memory_limit_bytes, uint32_t max_memory_pages,
                                           std::chrono::seconds deadline, uint32_t instances = 1) {
    auto rig = std::make_unique<Rig>();
    NodeOptions o;
    o.clock = rig->clock;
    o.background = false;
    o.log = [r = rig.get()](std::string_view line) {
      std::lock_guard lock(r->log_mu);
      r->log.emplace_back(line);
    };
    rig->node = std::make_unique<Node>(o);
    ComponentSpec s;
    s.app = "app";
    s.component = "pages";
    s.init = *init_;
    s.wasi = *wasi_;
    s.memory_limit_bytes = memory_limit_bytes;
    s.limits.max_memory_pages = max_memory_pages;
    s.limits.deadline = deadline;
    s.policy.stateful = true;
    s.policy.idle_timeout = milliseconds(100);
    s.policy.scale.max_instances = instances;
    if (instances > 1) s.policy.scale.min_instances = instances;  // all started at deploy
    auto c = rig->node->deploy(s);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (c.ok()) rig->component = *c;
    return rig;
  }

  static std::unique_ptr<Live> restore(const engine::Snapshot& snap, uint32_t max_pages = 1024) {
    auto l = std::make_unique<Live>();
    l->ctx = std::make_unique<wasi::Context>(*wasi_, nullptr, &l->so, nullptr);
    runtime::HostModule* hosts[] = {l->ctx.get(), &l->rc};
    engine::InstanceLimits limits;
    limits.max_memory_pages = max_pages;
    auto inst = snap.instantiate(hosts, limits);
    EXPECT_TRUE(inst.ok()) << inst.error().message;
    if (inst.ok()) l->inst = std::move(*inst);
    return l;
  }
};

// Writes from the host land in the instance's memory exactly like guest
// stores (copy-on-write of the mapped image), so the test drives them
// directly and keeps its own copy to compare with, byte for byte.
TEST_F(StandbyTest, IncrementalCaptureIsByteForByteAcrossManyCyclesOfRandomWrites) {
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  wasm_rt_memory_t* mem = live->inst->memory();
  const uint64_t bytes = uint64_t{mem->pages} * 65536;
  const uint64_t npages = bytes / kPage;
  // A whole non-zero memory first (the worst case for a full capture).
  for (uint64_t i = 0; i < bytes; i += 8) std::memcpy(mem->data + i, &i, 8), mem->data[i] |= 1;
  std::vector<uint8_t> expect(mem->data, mem->data + bytes);
  auto first = engine::Snapshot::capture(*live->inst);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE((*first)->stats().incremental);
  std::shared_ptr<engine::Snapshot> saved = *first;
  live.reset();
  const uint64_t backing_after_first = engine::image_backing().memory_bytes;

  std::mt19937_64 rng(1234);
  for (int cycle = 0; cycle < 200; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    live = restore(*saved);
    ASSERT_TRUE(live->inst);
    mem = live->inst->memory();
    ASSERT_EQ(std::memcmp(mem->data, expect.data(), bytes), 0) << "restored memory differs";
    // 0-8 random changes: whole pages (some zeroed: they become holes
    // again), single bytes, and a byte set to the value it already had.
    std::set<uint64_t> touched;
    const int changes = static_cast<int>(rng() % 9);
    for (int k = 0; k < changes; ++k) {
      const uint64_t page = rng() % npages;
      touched.insert(page);
      uint8_t* p = mem->data + page * kPage;
      switch (rng() % 4) {
        case 0: std::memset(p, 0, kPage); break;
        case 1: std::memset(p, static_cast<int>(rng() % 255 + 1), kPage); break;
        case 2: p[rng() % kPage] = static_cast<uint8_t>(rng()); break;
        default: *reinterpret_cast<volatile uint8_t*>(p) = p[0]; break;  // same value: still a copied page
      }
      std::memcpy(expect.data() + page * kPage, p, kPage);
    }
    auto next = engine::Snapshot::capture_onto(*live->inst, saved);
    ASSERT_TRUE(next.ok()) << next.error().message;
    const auto& st = (*next)->stats();
    EXPECT_TRUE(st.incremental);
    // Exactly the pages written since this wake (the restore maps the
    // previous working set shared, it copies nothing).
    EXPECT_EQ(st.written_bytes, touched.size() * kPage);
    saved = *next;
    live.reset();
    // The chain never grows: one image, updated in place.
    EXPECT_LE(engine::image_backing().memory_bytes, backing_after_first + bytes);
  }
  live = restore(*saved);
  ASSERT_TRUE(live->inst);
  EXPECT_EQ(std::memcmp(live->inst->memory()->data, expect.data(), bytes), 0);
  // A zeroed page is a hole again, not a stored page.
  EXPECT_LT(saved->stats().nonzero_bytes, bytes);
}

TEST_F(StandbyTest, CaptureOntoAnOwnCopyOfTheStartSnapshotKeepsTheStartSnapshotIntact) {
  auto copy = (*init_)->own_copy();
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_TRUE((*copy)->exclusive());
  EXPECT_FALSE((*init_)->exclusive());
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  const uint32_t at = live->inst->memory()->size - 3 * kPage;
  live->inst->memory()->data[at] = 0x77;
  auto mine = engine::Snapshot::capture_onto(*live->inst, *copy);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  EXPECT_EQ((*mine)->stats().written_bytes, kPage);
  live.reset();
  auto back = restore(**mine);
  EXPECT_EQ(back->inst->memory()->data[at], 0x77);
  auto fresh = restore(**init_);
  EXPECT_EQ(fresh->inst->memory()->data[at], 0) << "the shared start snapshot was written";
  // A consumed base cannot be restored or used again.
  EXPECT_FALSE((*copy)->instantiate({}, {}).ok());
  auto again = engine::Snapshot::capture_onto(*back->inst, *copy);
  EXPECT_FALSE(again.ok());
  // Shared (sealed) snapshots are never written in place.
  EXPECT_FALSE(engine::Snapshot::capture_onto(*fresh->inst, *init_).ok());
}

TEST_F(StandbyTest, WakeMapsTheWorkingSetBeforeTheGuestRuns) {
  // Awake: writes 3 pages and reads 40, far apart; the rest stays untouched.
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  wasm_rt_memory_t* mem = live->inst->memory();
  const uint64_t bytes = uint64_t{mem->pages} * 65536;
  const std::vector<uint64_t> written = {10, 700, 1500};
  std::vector<uint64_t> read;
  for (uint64_t k = 0; k < 40; ++k) read.push_back(200 + k * 32);
  for (uint64_t p : written) mem->data[p * kPage + 5] = 9;
  volatile uint8_t sink = 0;
  for (uint64_t p : read) sink = sink + mem->data[p * kPage];
  auto asleep = engine::Snapshot::capture(*live->inst);
  ASSERT_TRUE(asleep.ok()) << asleep.error().message;
  live.reset();

  live = restore(**asleep);
  mem = live->inst->memory();
  const auto states = engine::page_states(mem->data, bytes / kPage);
  ASSERT_FALSE(states.empty()) << "no /proc/self/pagemap";
  for (uint64_t p : written) {
    EXPECT_TRUE(states[p] & engine::kPagePresent) << "written page " << p << " not mapped at wake";
    // Mapped, not copied: the next standby must see only what the guest writes again.
    EXPECT_TRUE(states[p] & engine::kPageFromFile) << "page " << p << " was copied ahead";
  }
  for (uint64_t p : read) EXPECT_TRUE(states[p] & engine::kPagePresent) << "read page " << p << " not mapped at wake";
  // Pages far from anything touched stay unmapped: the restore is not a copy of the memory.
  uint64_t present = 0;
  for (uint8_t s : states) present += (s & engine::kPagePresent) != 0;
  EXPECT_LT(present, bytes / kPage / 2);
  EXPECT_EQ(mem->data[700 * kPage + 5], 9);
  // Untouched since the wake: an incremental standby writes nothing.
  auto again = engine::Snapshot::capture_onto(*live->inst, *asleep);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->stats().written_bytes, 0u);
}

TEST_F(StandbyTest, AParkedSlotKeepsReadPagesMappedAndDropsWrittenOnes) {
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  wasm_rt_memory_t* mem = live->inst->memory();
  const uint64_t bytes = uint64_t{mem->pages} * 65536;
  for (uint64_t i = 0; i < bytes; i += kPage) mem->data[i] = static_cast<uint8_t>(i / kPage % 200 + 1);
  auto first = engine::Snapshot::capture(*live->inst);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE((*first)->park_slot(*live->inst)) << "a full capture's images are not what the instance maps";
  live.reset();

  live = restore(**first);
  mem = live->inst->memory();
  volatile uint8_t sink = 0;
  for (uint64_t p = 300; p < 400; ++p) sink = sink + mem->data[p * kPage];
  for (uint64_t p : {5u, 900u, 1800u}) mem->data[p * kPage + 1] = 0xee;
  std::vector<uint8_t> expect(mem->data, mem->data + bytes);
  auto next = engine::Snapshot::capture_onto(*live->inst, *first);
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_TRUE((*next)->park_slot(*live->inst));
  EXPECT_EQ(live->inst->memory()->data, nullptr) << "the slot left the instance";
  live.reset();  // must not give the parked slot back

  live = restore(**next);
  mem = live->inst->memory();
  const auto states = engine::page_states(mem->data, bytes / kPage);
  ASSERT_FALSE(states.empty());
  for (uint64_t p = 300; p < 400; ++p) EXPECT_TRUE(states[p] & engine::kPagePresent) << p;
  for (uint64_t p : {5u, 900u, 1800u}) {
    // Its private copy was freed at standby; mapped again from the image at wake.
    EXPECT_TRUE(states[p] & engine::kPageFromFile) << p;
  }
  EXPECT_EQ(std::memcmp(mem->data, expect.data(), bytes), 0);
  // Written again and captured again: still right, and the slot is parked again.
  mem->data[900 * kPage + 2] = 0xab;
  expect[900 * kPage + 2] = 0xab;
  auto third = engine::Snapshot::capture_onto(*live->inst, *next);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE((*third)->park_slot(*live->inst));
  live.reset();
  live = restore(**third);
  EXPECT_EQ(std::memcmp(live->inst->memory()->data, expect.data(), bytes), 0);
  // A snapshot destroyed with its slot parked gives the slot back.
  auto fourth = engine::Snapshot::capture_onto(*live->inst, *third);
  ASSERT_TRUE(fourth.ok());
  ASSERT_TRUE((*fourth)->park_slot(*live->inst));
  live.reset();
  const uint64_t in_use = runtime::MemoryPool::instance().slots_in_use();
  (*fourth).reset();
  EXPECT_EQ(runtime::MemoryPool::instance().slots_in_use(), in_use - 1);
}

// Before an own copy of the start snapshot is ready, a standby can be a
// delta over the shared start snapshot: only the pages changed since the
// instance mapped it (cumulative: a wake copies them in as private pages),
// byte for byte right across wakes from the parked slot and from fresh ones,
// pages zeroed that the start image has non-zero, and never a chain (every
// delta lies over the start snapshot itself). The shared image is never
// written. Past kMaxDeltaPages it is refused with the instance untouched,
// and a capture onto an own copy of the start snapshot takes the state over.
TEST_F(StandbyTest, ADeltaOverTheStartSnapshotIsByteForByteAndNeverAChain) {
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  wasm_rt_memory_t* mem = live->inst->memory();
  const uint64_t bytes = uint64_t{mem->pages} * 65536;
  const uint64_t npages = bytes / kPage;
  const std::vector<uint8_t> start(mem->data, mem->data + bytes);
  std::vector<uint8_t> expect = start;
  uint64_t nonzero_page = npages;
  for (uint64_t p = 0; p < npages && nonzero_page == npages; ++p) {
    for (uint64_t i = 0; i < kPage; ++i) {
      if (start[p * kPage + i]) {
        nonzero_page = p;
        break;
      }
    }
  }
  ASSERT_LT(nonzero_page, npages) << "the start image has no non-zero page";
  std::set<uint64_t> changed;  // every page written since the start snapshot
  std::mt19937_64 rng(77);
  auto change = [&](uint64_t page) {
    uint8_t* p = mem->data + page * kPage;
    switch (rng() % 3) {
      case 0: std::memset(p, 0, kPage); break;
      case 1: std::memset(p, static_cast<int>(rng() % 255 + 1), kPage); break;
      default: p[rng() % kPage] = static_cast<uint8_t>(rng() | 1); break;
    }
    std::memcpy(expect.data() + page * kPage, p, kPage);
    changed.insert(page);
  };
  std::memset(mem->data + nonzero_page * kPage, 0, kPage);
  std::memset(expect.data() + nonzero_page * kPage, 0, kPage);
  changed.insert(nonzero_page);
  change(npages - 1);

  auto delta = engine::Snapshot::capture_delta(*live->inst);
  ASSERT_TRUE(delta.ok()) << delta.error().message;
  std::shared_ptr<engine::Snapshot> saved = *delta;
  for (int cycle = 0; cycle < 40; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    EXPECT_TRUE(saved->delta());
    EXPECT_FALSE(saved->exclusive()) << "a delta is never updated in place";
    EXPECT_EQ(&saved->origin(), init_->get()) << "a delta over a delta";
    EXPECT_TRUE(saved->stats().incremental);
    EXPECT_EQ(saved->stats().written_bytes, changed.size() * kPage);
    if (cycle % 3 != 0) {
      EXPECT_TRUE(saved->park_slot(*live->inst));
    }  // else the slot goes back to the pool
    live.reset();
    if (cycle % 5 == 0) {
      auto other = restore(**init_);
      ASSERT_TRUE(other->inst);
      EXPECT_EQ(std::memcmp(other->inst->memory()->data, start.data(), bytes), 0) << "the shared start image changed";
    }
    live = restore(*saved);
    ASSERT_TRUE(live->inst);
    mem = live->inst->memory();
    ASSERT_EQ(std::memcmp(mem->data, expect.data(), bytes), 0) << "restored memory differs";
    // 0-4 changes among 120 pages spread over the memory: the delta stays under its cap.
    const int n = static_cast<int>(rng() % 5);
    for (int k = 0; k < n; ++k) change((rng() % 120) * (npages / 120));
    auto next = engine::Snapshot::capture_delta(*live->inst);
    ASSERT_TRUE(next.ok()) << next.error().message;
    saved = *next;
  }
  // Too many changed pages for a delta: refused, nothing of the instance lost.
  ASSERT_GT(npages, engine::Snapshot::kMaxDeltaPages + 8);
  for (uint64_t p = 0; p <= engine::Snapshot::kMaxDeltaPages; ++p) change(p);
  auto big = engine::Snapshot::capture_delta(*live->inst);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, engine::Snapshot::kDeltaTooLarge);
  EXPECT_EQ(std::memcmp(live->inst->memory()->data, expect.data(), bytes), 0);
  auto copy = (*init_)->own_copy();
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  auto whole = engine::Snapshot::capture_onto(*live->inst, *copy);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ((*whole)->stats().written_bytes, changed.size() * kPage);
  live.reset();
  live = restore(**whole);
  EXPECT_EQ(std::memcmp(live->inst->memory()->data, expect.data(), bytes), 0);
  // A whole capture of an instance woken from a delta, which touched almost
  // nothing since: the start image's pages it still maps are in it too.
  {
    auto fresh = restore(**init_);
    ASSERT_TRUE(fresh->inst);
    fresh->inst->memory()->data[3 * kPage + 1] = 0x3c;
    auto small = engine::Snapshot::capture_delta(*fresh->inst);
    ASSERT_TRUE(small.ok()) << small.error().message;
    fresh.reset();
    auto woken = restore(**small);
    ASSERT_TRUE(woken->inst);
    auto full = engine::Snapshot::capture(*woken->inst);
    ASSERT_TRUE(full.ok()) << full.error().message;
    EXPECT_FALSE((*full)->delta());
    woken.reset();
    auto back = restore(**full);
    ASSERT_TRUE(back->inst);
    std::vector<uint8_t> want = start;
    want[3 * kPage + 1] = 0x3c;
    EXPECT_EQ(std::memcmp(back->inst->memory()->data, want.data(), bytes), 0) << "the start image's pages were lost";
  }
  // A delta is made only over a shared snapshot, and never written to a file or copied.
  EXPECT_FALSE(engine::Snapshot::capture_delta(*live->inst).ok());
  EXPECT_FALSE(saved->own_copy().ok());
  EXPECT_FALSE(saved->write(fs::temp_directory_path() / "wink-delta-never-written.snap").ok());
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "wink-delta-never-written.snap"));
}

// The cap is exact: kMaxDeltaPages changed pages make a delta, one more does not.
TEST_F(StandbyTest, ADeltaTakesUpToItsCapOfChangedPagesAndNoMore) {
  auto live = restore(**init_);
  ASSERT_TRUE(live->inst);
  wasm_rt_memory_t* mem = live->inst->memory();
  const uint64_t npages = uint64_t{mem->pages} * 65536 / kPage;
  ASSERT_GT(npages, 2 * engine::Snapshot::kMaxDeltaPages + 2);
  for (uint64_t k = 0; k < engine::Snapshot::kMaxDeltaPages; ++k) mem->data[2 * k * kPage + 7] ^= 0x5a;  // apart: many runs
  auto at_cap = engine::Snapshot::capture_delta(*live->inst);
  ASSERT_TRUE(at_cap.ok()) << at_cap.error().message;
  EXPECT_EQ((*at_cap)->stats().written_bytes, engine::Snapshot::kMaxDeltaPages * kPage);
  mem->data[(2 * engine::Snapshot::kMaxDeltaPages + 1) * kPage] ^= 1;
  auto past = engine::Snapshot::capture_delta(*live->inst);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().message, engine::Snapshot::kDeltaTooLarge);
  // The delta at the cap restores right.
  std::vector<uint8_t> want(mem->data, mem->data + npages * kPage);
  want[(2 * engine::Snapshot::kMaxDeltaPages + 1) * kPage] ^= 1;  // (written after that delta)
  live.reset();
  auto back = restore(**at_cap);
  ASSERT_TRUE(back->inst);
  EXPECT_EQ(std::memcmp(back->inst->memory()->data, want.data(), want.size()), 0);
}

// The node saves an instance restored from the start snapshot (or from a
// delta over it) as a delta while it changed few pages: two instances going
// idle in one tick both keep only what they changed, not a copy of the start
// image each. Once a delta would outgrow its cap (memory grown and written
// over the cycles), the standby goes onto the copy the node made meanwhile
// (or captures the whole state) and is incremental in place from then on.
// Both instances keep their heaps (each checked against the test's copy of
// it) across all of it.
TEST_F(StandbyTest, NodeStandbyFromTheStartSnapshotIsADeltaUntilItOutgrowsItsCap) {
  auto rig = deploy_pages(128 << 20, 1024, std::chrono::seconds(10), 2);
  ASSERT_TRUE(rig->component);
  Node& node = *rig->node;
  auto running = [&] {
    size_t n = 0;
    for (const auto& i : node.instances()) n += i.state == State::kRunning;
    return n;
  };
  ASSERT_EQ(running(), 2u);
  ScaleConfig zero_to_two;
  zero_to_two.min_instances = 0;
  zero_to_two.max_instances = 2;
  ASSERT_TRUE(node.set_scale(*rig->component, zero_to_two).ok());

  struct Heap {
    std::vector<uint8_t> heap = std::vector<uint8_t>(8u << 20, 0), grown;
  };
  std::map<std::string, Heap> heaps;  // by instance name
  auto request = [&](const std::string& q, auto&& apply) {
    CallResult r = rig->request(q);
    Heap& h = heaps[r.instance];
    apply(h);
    EXPECT_NE(r.out.find(expected_hash(h.heap, h.grown)), std::string::npos) << r.instance << " " << q << ": " << r.out;
  };
  auto standby_lines = [&] {
    std::vector<std::string> lines;
    std::lock_guard lock(rig->log_mu);
    for (const auto& l : rig->log) {
      if (l.find("\"instance standby\"") != std::string::npos) lines.push_back(l);
    }
    return lines;
  };
  std::mt19937 rng(5);
  auto random_request = [&] {
    const unsigned page = rng() % 2048;
    switch (rng() % 4) {
      case 0: {
        const unsigned v = rng() % 2 ? 0 : rng() % 255 + 1;
        request("set=" + std::to_string(page) + ":" + std::to_string(v),
                [&](Heap& h) { std::fill_n(h.heap.begin() + page * kPage, kPage, static_cast<uint8_t>(v)); });
        break;
      }
      case 1: {
        const unsigned off = rng() % kPage, v = rng() % 256;
        request("poke=" + std::to_string(page) + ":" + std::to_string(off) + ":" + std::to_string(v),
                [&](Heap& h) { h.heap[page * kPage + off] = static_cast<uint8_t>(v); });
        break;
      }
      case 2:
        request("grow=1", [&](Heap& h) {
          const size_t old = h.grown.size();
          h.grown.resize(old + 65536, 0);
          for (size_t i = 0; i < 65536; i += kPage) h.grown[old + i] = static_cast<uint8_t>(1 + ((old + i) / kPage) % 251);
        });
        break;
      default:
        request("hash", [](Heap&) {});
    }
  };
  for (int k = 0; k < 6; ++k) random_request();
  request("set=77:9", [&](Heap& h) { std::fill_n(h.heap.begin() + 77 * kPage, kPage, 9); });
  rig->clock->advance(milliseconds(150));
  node.tick();  // both idle: both to standby in this tick
  EXPECT_EQ(running(), 0u);
  auto lines = standby_lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) {
    EXPECT_NE(l.find("\"delta\":true"), std::string::npos) << l;
    EXPECT_NE(l.find("\"incremental\":true"), std::string::npos) << l;
  }
  for (const auto& i : node.instances()) {
    EXPECT_LT(i.memory_bytes, 64 * kPage) << i.name << " keeps more than it changed";
  }

  for (int cycle = 0; cycle < 30; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    random_request();
    random_request();
    rig->clock->advance(milliseconds(150));
    node.tick();
  }
  size_t deltas = 0, in_place_after_delta = 0;
  std::map<std::string, bool> was_delta;  // by instance
  for (const auto& l : standby_lines()) {
    const size_t at = l.find("\"instance\":\"");
    const std::string name = l.substr(at + 12, l.find('"', at + 12) - at - 12);
    const bool delta = l.find("\"delta\":true") != std::string::npos;
    deltas += delta;
    if (!delta && was_delta[name]) ++in_place_after_delta;
    was_delta[name] = delta;
  }
  std::printf("[ figures ] %zu of %zu standbys were deltas\n", deltas, standby_lines().size());
  EXPECT_GE(in_place_after_delta, 1u) << "no delta outgrew its cap: grow the test's writes";
  // Every instance's heap once more, after a standby.
  for (int k = 0; k < 4; ++k) request("hash", [](Heap&) {});
}

// The same through a node: standbys after the first are incremental, the
// guest's heap (8 MiB, all non-zero) stays right across cycles of random
// writes, zeroed pages and memory growth, and the saved state does not grow.
TEST_F(StandbyTest, NodeStandbyWritesOnlyChangedPagesAndKeepsTheHeapRight) {
  auto rig = deploy_pages(64 << 20, 1024, std::chrono::seconds(10));
  ASSERT_TRUE(rig->component);
  Node& node = *rig->node;
  auto& clock = rig->clock;
  auto& log = rig->log;
  auto& log_mu = rig->log_mu;

  // The test's own copy of the guest's heap and grown memory, hashed as the guest does.
  std::vector<uint8_t> heap(8u << 20, 0), grown;
  auto expected = [&] { return expected_hash(heap, grown); };
  auto request = [&](const std::string& q) { return rig->request(q); };
  auto standby = [&] {
    clock->advance(milliseconds(150));
    node.tick();
    EXPECT_EQ(node.instances().at(0).state, State::kStandby);
    std::lock_guard lock(log_mu);
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      if (it->find("\"instance standby\"") != std::string::npos) return *it;
    }
    return std::string();
  };
  auto field = [](const std::string& line, const std::string& key) {
    size_t p = line.find("\"" + key + "\":");
    return p == std::string::npos ? std::string() : line.substr(p + key.size() + 3, line.find_first_of(",}", p) - p - key.size() - 3);
  };

  std::fill(heap.begin(), heap.end(), 7);
  EXPECT_NE(request("fill=7").out.find(expected()), std::string::npos);
  std::string line = standby();
  // The timer thread is off here: tick() made the spare copy of the start
  // snapshot first, so even the first standby writes only changed pages.
  EXPECT_EQ(field(line, "incremental"), "true") << line;

  std::mt19937 rng(99);
  for (int cycle = 0; cycle < 40; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    std::string q;
    const unsigned page = rng() % 2048;
    switch (rng() % 5) {
      case 0:
        q = "set=" + std::to_string(page) + ":0";
        std::fill_n(heap.begin() + page * kPage, kPage, 0);
        break;
      case 1: {
        const unsigned v = rng() % 255 + 1;
        q = "set=" + std::to_string(page) + ":" + std::to_string(v);
        std::fill_n(heap.begin() + page * kPage, kPage, static_cast<uint8_t>(v));
        break;
      }
      case 2: {
        const unsigned off = rng() % kPage, v = rng() % 256;
        q = "poke=" + std::to_string(page) + ":" + std::to_string(off) + ":" + std::to_string(v);
        heap[page * kPage + off] = static_cast<uint8_t>(v);
        break;
      }
      case 3: {
        if (grown.size() >= (2u << 20)) continue;
        const size_t old = grown.size();
        grown.resize(old + 65536, 0);
        for (size_t i = 0; i < 65536; i += kPage) grown[old + i] = static_cast<uint8_t>(1 + ((old + i) / kPage) % 251);
        q = "grow=1";
        break;
      }
      default:
        q = "hash";
    }
    CallResult r = request(q);
    EXPECT_TRUE(r.woke) << "the request woke the instance";
    EXPECT_NE(r.out.find(expected()), std::string::npos) << q << ": " << r.out;
    line = standby();
    EXPECT_EQ(field(line, "incremental"), "true") << line;
    // One request changed one heap page (or a grown block) plus the guest's
    // stack and stdio pages: far below the 8 MiB heap a full capture writes.
    EXPECT_LE(std::stoull(field(line, "written_bytes")), 64u * kPage) << line;
  }
  CallResult r = request("hash");
  EXPECT_NE(r.out.find(expected()), std::string::npos) << r.out;
}

// A request arriving while its instance's standby is writing hundreds of MB
// takes the instance back at once, with its memory whole: the capture gives
// up (onto the spare copy of the start snapshot, and onto the instance's own
// saved state, which is then dropped), instead of the request waiting for it;
// the next standby then waits twice the idle timeout.
TEST_F(StandbyTest, ARequestDuringALongStandbyTakesTheInstanceBack) {
  constexpr uint32_t kGrowPages = 2048;  // 128 MiB, every 4 KiB page of it written
  auto rig = deploy_pages(512ull << 20, 8192, std::chrono::seconds(30));
  ASSERT_TRUE(rig->component);
  Node& node = *rig->node;
  auto& clock = rig->clock;
  auto& log = rig->log;
  auto& log_mu = rig->log_mu;

  std::vector<uint8_t> heap(8u << 20, 0), grown(size_t{kGrowPages} * 65536, 0);
  for (size_t i = 0; i < grown.size(); i += kPage) grown[i] = static_cast<uint8_t>(1 + (i / kPage) % 251);
  auto expected = [&] { return expected_hash(heap, grown); };
  auto request = [&](const std::string& q) { return rig->request(q); };
  auto count_lines = [&](const char* what) {
    std::lock_guard lock(log_mu);
    return std::count_if(log.begin(), log.end(), [&](const std::string& l) { return l.find(what) != std::string::npos; });
  };
  auto ms_of_last = [&](const char* what) {
    std::lock_guard lock(log_mu);
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      size_t p = it->find(what) == std::string::npos ? std::string::npos : it->find("\"ms\":");
      if (p != std::string::npos) return std::stod(it->substr(p + 5));
    }
    return -1.0;
  };
  // The idle timeout passes on another thread (its standby runs there); once
  // the instance is draining, a request comes. Returns that request and how
  // long it waited for the instance.
  auto request_during_standby = [&](const std::string& q, double& took_ms) {
    std::thread ticker([&] {
      clock->advance(milliseconds(150));
      node.tick();
    });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (node.instances().at(0).state != State::kDraining && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_EQ(node.instances().at(0).state, State::kDraining) << "the standby never began";
    CallResult r = request(q);
    took_ms = r.queue_ms;  // waiting for the instance (the guest's hash of 200 MB is not part of it)
    ticker.join();
    return r;
  };

  ASSERT_NE(request("grow=" + std::to_string(kGrowPages)).out.find(expected()), std::string::npos);

  // 1. The first standby writes every grown page onto the spare copy of the start snapshot.
  double took = 0;
  CallResult r = request_during_standby("hash", took);
  EXPECT_FALSE(r.woke) << "served by the instance whose standby gave up, not woken from a saved state";
  EXPECT_NE(r.out.find(expected()), std::string::npos) << r.out;
  EXPECT_EQ(count_lines("standby given up: a request came"), 1);
  EXPECT_EQ(node.instances().at(0).state, State::kRunning);

  // A standby given up waits twice the idle timeout before the next try (a
  // trickle of requests just past the idle timeout would waste copy after copy).
  EXPECT_EQ(count_lines("\"next_standby_after_idle_ms\":200"), 1);
  clock->advance(milliseconds(150));
  node.tick();
  EXPECT_EQ(node.instances().at(0).state, State::kRunning) << "idle 150 ms, under twice the idle timeout";
  // Then an uninterrupted standby of the same memory, for scale, and a wake: all there.
  clock->advance(milliseconds(100));
  node.tick();
  ASSERT_EQ(node.instances().at(0).state, State::kStandby);
  const double whole_ms = ms_of_last("\"instance standby\"");
  r = request("hash");
  EXPECT_TRUE(r.woke);
  EXPECT_NE(r.out.find(expected()), std::string::npos) << r.out;
  std::printf("a request during a standby of %u MiB waited %.1f ms for its instance; the whole standby takes %.1f ms\n",
              kGrowPages / 16, took, whole_ms);
  if (whole_ms > 200) {
    EXPECT_LT(took, whole_ms / 2);
  }

  // 2. Every grown page written again: the standby updates the instance's
  // own saved state in place, and gives up half-way; that state is dropped,
  // the instance serves on, and its next standby saves it whole.
  for (size_t i = 0; i < grown.size(); i += kPage) grown[i + 1] = 9;
  ASSERT_NE(request("mark=9").out.find(expected()), std::string::npos);
  r = request_during_standby("poke=5:5:5", took);
  heap[5 * kPage + 5] = 5;
  std::printf("a request during an update of the saved state in place waited %.1f ms\n", took);
  if (whole_ms > 200) {
    EXPECT_LT(took, whole_ms / 2);
  }
  EXPECT_FALSE(r.woke);
  EXPECT_NE(r.out.find(expected()), std::string::npos) << r.out;
  EXPECT_EQ(count_lines("standby given up: a request came"), 2);
  // (A completed standby since: twice the idle timeout again, not four times.)
  EXPECT_EQ(count_lines("\"next_standby_after_idle_ms\":200"), 2);
  clock->advance(milliseconds(250));
  node.tick();
  ASSERT_EQ(node.instances().at(0).state, State::kStandby);
  r = request("hash");
  EXPECT_TRUE(r.woke);
  EXPECT_NE(r.out.find(expected()), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wink::lifecycle
