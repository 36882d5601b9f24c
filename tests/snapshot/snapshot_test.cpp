// Snapshots: init state visible to requests (engine and WAGI over real HTTP),
// isolation between instances of one snapshot, damaged/stale files refused
// and rebuilt, init failures (trap, deadline, open file, exit) reported.
#include <gtest/gtest.h>

#include <map>

#include <cstring>
#include <fstream>
#include <thread>

#include "engine/snapshot.h"
#include "engine/snapshot_pages.h"
#include "support/http_client.h"
#include "runtime/runtime.h"
#include "test_app.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;

class SnapshotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::EngineConfig config;
    config.data_dir = test_data_dir();
    engine_ = new engine::Engine(config);
    dir_ = new fs::path(make_scratch_dir("snapshot-test"));
  }
  static void TearDownTestSuite() {
    delete engine_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
#if WINK_ARTIFACT_ABI < 2
    if (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) !=
        "ManifestWarmupIsRefusedClearly") {
      GTEST_SKIP() << "artifact ABI 1: apply src/snapshot/abi-glue.patch (glue/ABI 2) to run snapshots";
    }
#endif
  }
  std::shared_ptr<engine::Module> load(const std::string& name) {
    auto m = engine_->load_file(guest(name));
    EXPECT_TRUE(m.ok()) << m.error().message;
    return *m;
  }
  static engine::InitSpec spec(std::vector<std::string> env = {"SNAP_WHO=test"}) {
    engine::InitSpec s;
    s.init_export = "wizer.initialize";
    s.env = std::move(env);
    s.deadline = std::chrono::seconds(10);
    return s;
  }
  // Runs `handle` in a fresh instance of `snap`, returning its stdout.
  static std::string run_handle(const engine::Snapshot& snap) {
    auto prepared = wasi::Prepared::create({});
    std::string out;
    wasi::Stdio out_stdio{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
    wasi::Context ctx(*prepared, nullptr, &out_stdio, nullptr);
    runtime::HostModule* hosts[] = {&ctx};
    auto inst = snap.instantiate(hosts, {});
    EXPECT_TRUE(inst.ok()) << inst.error().message;
    if (!inst.ok()) return {};
    runtime::Outcome o;
    auto r = (*inst)->invoke("handle", {}, &o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return out;
  }

  static engine::Engine* engine_;
  static fs::path* dir_;
};
engine::Engine* SnapshotTest::engine_ = nullptr;
fs::path* SnapshotTest::dir_ = nullptr;

TEST_F(SnapshotTest, InitStateVisibleAndNoInitOnRestore) {
  auto module = load("snap_state");
  std::string output;
  auto snap = engine::Snapshot::create(module, spec(), &output);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_GT((*snap)->stats().nonzero_bytes, 400000u);  // squares[] is in the image
  std::string out = run_handle(**snap);
  EXPECT_NE(out.find("initialized=1 counter=1 squares[300]=90000 ops=42,42 greeting=hello from init, test"),
            std::string::npos) << out;
  // Every instance starts from the snapshot, not from the previous request.
  out = run_handle(**snap);
  EXPECT_NE(out.find("counter=1 "), std::string::npos) << out;
  // Without the snapshot nothing is initialized.
  auto prepared = wasi::Prepared::create({});
  wasi::Context ctx(*prepared);
  runtime::HostModule* hosts[] = {&ctx};
  auto plain = engine::Instance::create(module, hosts);
  ASSERT_TRUE(plain.ok());
  auto v = (*plain)->invoke("is_initialized", {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].bits, 0u);
}

TEST_F(SnapshotTest, ConcurrentInstancesDoNotShareWrites) {
  auto module = load("snap_state");
  auto snap = engine::Snapshot::create(module, spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  auto prepared = wasi::Prepared::create({});
  wasi::Context ca(*prepared), cb(*prepared);
  runtime::HostModule* ha[] = {&ca};
  runtime::HostModule* hb[] = {&cb};
  auto a = (*snap)->instantiate(ha, {});
  auto b = (*snap)->instantiate(hb, {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NE((*a)->memory()->data, (*b)->memory()->data);
  // squares[1024] = 1048576 after init.
  engine::Value v7{'i', 7};
  ASSERT_TRUE((*a)->invoke("poke", {&v7, 1}).ok());
  auto pa = (*a)->invoke("peek", {});
  auto pb = (*b)->invoke("peek", {});
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ((*pa)[0].bits, 14u);          // 7 + counter 7
  EXPECT_EQ((*pb)[0].bits, 1048576u);     // untouched image
  // Many threads at once, each writing its own value.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        wasi::Context c(*prepared);
        runtime::HostModule* h[] = {&c};
        auto inst = (*snap)->instantiate(h, {});
        if (!inst.ok()) { ++bad; continue; }
        auto before = (*inst)->invoke("peek", {});
        engine::Value val{'i', static_cast<uint64_t>(100 + t)};
        (void)(*inst)->invoke("poke", {&val, 1});
        auto after = (*inst)->invoke("peek", {});
        if (!before.ok() || (*before)[0].bits != 1048576u) ++bad;
        if (!after.ok() || (*after)[0].bits != 2u * (100 + t)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// A released instance's slot is reset in place and reused by the next
// instance (Snapshot::kMaxRecycledSlots). An attacker instance overwrites all
// it can reach: every byte of memory or a few pages (data and holes), the
// mutable global, table entries and size, memory.grow'n pages. Each next
// instance, on the very slot the attacker used, must hold exactly init's
// state: memory compared byte for byte with the first (freshly mapped) one.
TEST_F(SnapshotTest, RecycledSlotKeepsNothingOfThePreviousInstance) {
  auto module = load("snap_recycle");
  auto snap = engine::Snapshot::create(module, spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  (*snap)->set_recycled_slots(1);
  auto call = [](engine::Instance& inst, const char* name) -> uint64_t {
    runtime::Outcome o;
    auto r = inst.invoke(name, {}, &o);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().message;
    return r.ok() && !r->empty() ? (*r)[0].bits : ~0ull;
  };
  std::vector<uint8_t> reference;
  {
    auto first = (*snap)->instantiate({}, {});
    ASSERT_TRUE(first.ok()) << first.error().message;
    const wasm_rt_memory_t* mem = (*first)->memory();
    ASSERT_EQ(mem->pages, 8u);
    reference.assign(mem->data, mem->data + uint64_t{mem->pages} * 65536);
    ASSERT_EQ(reference[7], (7 * 7 % 256) | 1);
    ASSERT_EQ(reference[393216], 0x11);
  }
  const uint8_t* attacked = nullptr;
  for (int round = 0; round < 6; ++round) {
    auto inst = (*snap)->instantiate({}, {});
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    const wasm_rt_memory_t* mem = (*inst)->memory();
    if (attacked) {
      EXPECT_EQ(mem->data, attacked) << "round " << round << ": the attacker's slot was not reused";
    }
    ASSERT_EQ(mem->pages, 8u) << "round " << round;
    ASSERT_EQ(call(**inst, "memory_pages"), 8u);
    ASSERT_EQ(std::memcmp(mem->data, reference.data(), reference.size()), 0)
        << "round " << round << ": memory differs from the snapshot's";
    EXPECT_EQ(call(**inst, "global"), 42u) << "round " << round;
    EXPECT_EQ(call(**inst, "table_size"), 2u) << "round " << round;
    EXPECT_EQ(call(**inst, "call0"), 1u) << "round " << round;
    EXPECT_EQ(call(**inst, "entry1_is_null"), 1u) << "round " << round;
    call(**inst, round % 2 ? "attack_some" : "attack_all");
    ASSERT_EQ(call(**inst, "memory_pages"), 12u);
    ASSERT_EQ(call(**inst, "global"), 666u);
    ASSERT_EQ(call(**inst, "call0"), 2u);
    attacked = mem->data;
  }
  // The grown part of a reused slot is inaccessible again: a fresh instance
  // growing by 4 pages sees zeros there, not the attacker's 0xA5.
  auto inst = (*snap)->instantiate({}, {});
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ((*inst)->memory()->data, attacked);
  engine::Value four{'i', 4};
  const uint8_t* base = (*inst)->memory()->data;
  auto grown = (*inst)->invoke("grow", {&four, 1});
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  EXPECT_EQ((*grown)[0].bits, 8u);
  for (uint64_t off = 8 * 65536; off < 12 * 65536; off += 512) ASSERT_EQ(base[off], 0) << off;
}

// A reset skips the page-table scan when the process took no page fault
// since the slot's last reset. The attacker here writes only pages that are
// private already (no fault), the case that path serves: each next instance
// must still see init's memory byte for byte. A write to a new page faults,
// so its reset scans and finds it.
TEST_F(SnapshotTest, RecycledSlotResetWithoutAScanStillResetsEveryWrittenPage) {
  auto module = load("snap_recycle");
  auto snap = engine::Snapshot::create(module, spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  (*snap)->set_recycled_slots(1);
  std::vector<uint8_t> reference;
  {
    auto first = (*snap)->instantiate({}, {});
    ASSERT_TRUE(first.ok()) << first.error().message;
    const wasm_rt_memory_t* mem = (*first)->memory();
    reference.assign(mem->data, mem->data + uint64_t{mem->pages} * 65536);
    ASSERT_TRUE((*first)->invoke("attack_some", {}).ok());  // makes its 4 pages private in this slot
  }
  auto attack_and_release = [&](const char* attack) {
    auto inst = (*snap)->instantiate({}, {});
    EXPECT_TRUE(inst.ok()) << inst.error().message;
    if (!inst.ok()) return;
    const wasm_rt_memory_t* mem = (*inst)->memory();
    EXPECT_EQ(std::memcmp(mem->data, reference.data(), reference.size()), 0) << "before " << attack;
    EXPECT_TRUE((*inst)->invoke(attack, {}).ok()) << attack;
  };
  int unscanned = 0;
  for (int round = 0; round < 20; ++round) {
    const uint64_t before = (*snap)->recycled_without_scan();
    attack_and_release("attack_private");
    unscanned += (*snap)->recycled_without_scan() > before;
  }
  EXPECT_GE(unscanned, 1) << "no reset skipped the scan: the path under test never ran";
  const uint64_t before = (*snap)->recycled_without_scan();
  attack_and_release("attack_new_page");
  EXPECT_EQ((*snap)->recycled_without_scan(), before) << "a page fault happened: the reset must scan";
  auto last = (*snap)->instantiate({}, {});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(std::memcmp((*last)->memory()->data, reference.data(), reference.size()), 0)
      << "the last attacker's writes survived the reset";
}

// Released slots wait, handed to nobody, and are reset in batches of
// Snapshot::kResetBatch after two reads of the fault count. Instances come
// and go as the per-request path uses them (a few alive at once); every one
// must see init's memory byte for byte whichever slot it got, while the
// attackers before it wrote private pages (no fault) and new ones (a fault).
TEST_F(SnapshotTest, SlotsResetInBatchesKeepNothingOfThePreviousInstances) {
  auto module = load("snap_recycle");
  auto snap = engine::Snapshot::create(module, spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  (*snap)->set_recycled_slots(engine::Snapshot::kMaxRecycledSlots);
  std::vector<uint8_t> reference;
  {
    auto first = (*snap)->instantiate({}, {});
    ASSERT_TRUE(first.ok()) << first.error().message;
    const wasm_rt_memory_t* mem = (*first)->memory();
    reference.assign(mem->data, mem->data + uint64_t{mem->pages} * 65536);
  }
  std::map<const uint8_t*, int> seen;
  const uint64_t unscanned_before = (*snap)->recycled_without_scan();
  const char* attacks[] = {"attack_private", "attack_private", "attack_some", "attack_new_page", "attack_all"};
  std::vector<std::unique_ptr<engine::Instance>> alive;
  for (int round = 0; round < 8 * int(engine::Snapshot::kResetBatch); ++round) {
    auto inst = (*snap)->instantiate({}, {});
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    const wasm_rt_memory_t* mem = (*inst)->memory();
    ++seen[mem->data];
    ASSERT_EQ(uint64_t{mem->pages} * 65536, reference.size()) << "round " << round;
    ASSERT_EQ(std::memcmp(mem->data, reference.data(), reference.size()), 0)
        << "round " << round << ": memory differs from the snapshot's";
    const char* attack = attacks[round % 5];
    ASSERT_TRUE((*inst)->invoke(attack, {}).ok()) << attack;
    alive.push_back(std::move(*inst));
    // Up to three alive at once, released out of order.
    if (alive.size() == 3 || round % 4 == 3) {
      alive.erase(alive.begin() + (round % alive.size()));
    }
  }
  alive.clear();
  int reused = 0;
  for (const auto& [base, n] : seen) reused += n > 1;
  EXPECT_GE(reused, 1) << seen.size() << " slots, none came back from its batch";
  EXPECT_LE(seen.size(), engine::Snapshot::kMaxRecycledSlots + 3) << "slots are not coming back";
  // Attackers writing only pages private already (no fault): once every
  // slot in rotation has them, whole batches reset without a scan.
  constexpr int kRounds = 20 * int(engine::Snapshot::kMaxRecycledSlots);
  for (int round = 0; round < kRounds; ++round) {
    auto inst = (*snap)->instantiate({}, {});
    ASSERT_TRUE(inst.ok()) << inst.error().message;
    ASSERT_EQ(std::memcmp((*inst)->memory()->data, reference.data(), reference.size()), 0)
        << "private round " << round << ": memory differs from the snapshot's";
    ASSERT_TRUE((*inst)->invoke(round < kRounds / 2 ? "attack_some" : "attack_private", {}).ok());
  }
  EXPECT_GE((*snap)->recycled_without_scan() - unscanned_before, 1u) << "no reset skipped the scan";
  // Those still waiting are reset on demand too.
  (*snap)->reset_recycled_now();
  auto last = (*snap)->instantiate({}, {});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(std::memcmp((*last)->memory()->data, reference.data(), reference.size()), 0);
}

// The point of reusing the slot: pages the previous instance only read are
// still mapped (the image's, shared), so the next instance's guest takes no
// page fault on them and its restore no mmap. On the old path (the slot
// remapped at every release) none of them is present.
TEST_F(SnapshotTest, RecycledSlotKeepsThePagesThePreviousInstanceRead) {
  auto module = load("snap_recycle");
  auto snap = engine::Snapshot::create(module, spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  (*snap)->set_recycled_slots(1);
  {
    auto reader = (*snap)->instantiate({}, {});
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->invoke("read_all", {}).ok());
  }
  auto next = (*snap)->instantiate({}, {});
  ASSERT_TRUE(next.ok());
  const std::vector<uint8_t> states = engine::page_states((*next)->memory()->data, 8 * 16);
  if (states.empty()) GTEST_SKIP() << "/proc/self/pagemap is not readable here";
  int shared = 0;
  for (uint8_t s : states) shared += (s & engine::kPagePresent) && (s & engine::kPageFromFile);
  EXPECT_GE(shared, 32) << "the pages read by the previous instance are not mapped any more";
}

TEST_F(SnapshotTest, FileRoundTripDamagedAndStale) {
  auto module = load("snap_state");
  fs::path file = *dir_ / "state.snap";
  bool rebuilt = false;
  std::string why;
  auto first = engine::Snapshot::load_or_create(file, module, spec(), &rebuilt, &why);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(rebuilt);
  auto again = engine::Snapshot::load_or_create(file, module, spec(), &rebuilt, &why);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(rebuilt) << why;
  EXPECT_NE(run_handle(**again).find("greeting=hello from init, test"), std::string::npos);

  // Damage one byte of the memory data (last page of the file).
  auto size = fs::file_size(file);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 100));
    f.put('\x5a');
  }
  auto damaged = engine::Snapshot::load(file, module, spec());
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().message.find("damaged snapshot"), std::string::npos) << damaged.error().message;
  auto rebuilt_snap = engine::Snapshot::load_or_create(file, module, spec(), &rebuilt, &why);
  ASSERT_TRUE(rebuilt_snap.ok());
  EXPECT_TRUE(rebuilt);
  EXPECT_NE(why.find("damaged"), std::string::npos) << why;
  EXPECT_TRUE(engine::Snapshot::load(file, module, spec()).ok());

  // Truncated.
  fs::resize_file(file, size / 2);
  auto truncated = engine::Snapshot::load(file, module, spec());
  ASSERT_FALSE(truncated.ok());

  // Stale: other init options, another module.
  ASSERT_TRUE(engine::Snapshot::load_or_create(file, module, spec()).ok());
  auto other = engine::Snapshot::load(file, module, spec({"SNAP_WHO=other"}));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("other init options"), std::string::npos);
  auto fail_module = load("snap_fail");
  auto wrong = engine::Snapshot::load(file, fail_module, spec());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("another module"), std::string::npos) << wrong.error().message;
}

TEST_F(SnapshotTest, InitFailuresAreClear) {
  auto module = load("snap_fail");
  auto with_mode = [&](const std::string& mode) {
    engine::InitSpec s = spec({"SNAP_MODE=" + mode});
    s.deadline = std::chrono::milliseconds(300);
    fs::create_directories(*dir_ / "data");
    write_text(*dir_ / "data/input.txt", "x");
    s.preopens.push_back({*dir_ / "data", "/data", true});
    return engine::Snapshot::create(module, s);
  };
  auto trap = with_mode("trap");
  ASSERT_FALSE(trap.ok());
  EXPECT_NE(trap.error().message.find("init `wizer.initialize` trapped: unreachable"), std::string::npos)
      << trap.error().message;
  auto t0 = std::chrono::steady_clock::now();
  auto loop = with_mode("loop");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("ran past its deadline of 300 ms"), std::string::npos) << loop.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  auto file = with_mode("file");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("cannot hold open host files"), std::string::npos) << file.error().message;
  auto exit = with_mode("exit");
  ASSERT_FALSE(exit.ok());
  EXPECT_NE(exit.error().message.find("proc_exit(3)"), std::string::npos) << exit.error().message;
  EXPECT_TRUE(with_mode("ok").ok());
  engine::InitSpec missing = spec();
  missing.init_export = "no.such.export";
  auto m = engine::Snapshot::create(module, missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("no.such.export"), std::string::npos);
}

// The whole path: manifest `init`, `wink up`'s executor, real HTTP.
TEST_F(SnapshotTest, WagiOverHttpStartsFromSnapshot) {
  fs::path app = *dir_ / "app";
  write_text(app / "wink.toml", R"([app]
name = "snapapp"

[[route]]
path = "/..."
component = "state"

[component.state]
source = ")" + guest("snap_state").string() + R"("
entrypoint = "handle"
init = "wizer.initialize"
init_environment = { SNAP_WHO = "manifest" }
)");
  RunningApp running;
  ASSERT_TRUE(running.start(app / "wink.toml")) << running.load_error;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = http_request(running.port(), "GET", "/x");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("initialized=1 counter=1 squares[300]=90000 ops=42,42 greeting=hello from init, "
                          "manifest method=GET"),
              std::string::npos)
        << r.body;
  }
  EXPECT_NE(running.errors->get().find("snapshot"), std::string::npos);
}

TEST_F(SnapshotTest, WagiInitFailureFailsTheLoad) {
  fs::path app = *dir_ / "badapp";
  write_text(app / "wink.toml", R"([app]
name = "bad"

[[route]]
path = "/..."
component = "fail"

[component.fail]
source = ")" + guest("snap_fail").string() + R"("
entrypoint = "handle"
init = "wizer.initialize"
init_environment = { SNAP_MODE = "trap" }
)");
  RunningApp running;
  ASSERT_FALSE(running.start(app / "wink.toml"));
  EXPECT_NE(running.load_error.find("component \"fail\""), std::string::npos) << running.load_error;
  EXPECT_NE(running.load_error.find("trapped"), std::string::npos) << running.load_error;
}

TEST_F(SnapshotTest, ManifestWarmupOnAWagiComponentIsRefusedClearly) {
  auto m = manifest::parse(R"([app]
name = "w"
[[route]]
path = "/"
component = "c"
[component.c]
source = ")" + guest("snap_state").string() + R"("
init = "wizer.initialize"
warmup = ["/"]
)", *dir_ / "w.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("warm-up requests need a long-lived instance (executor = \"reactor\")"), std::string::npos)
      << m.error().message;
  auto orphan = manifest::parse(R"([app]
name = "w"
[[route]]
path = "/"
component = "c"
[component.c]
source = ")" + guest("snap_state").string() + R"("
init_args = ["x"]
)", *dir_ / "w.toml");
  ASSERT_FALSE(orphan.ok());
  EXPECT_NE(orphan.error().message.find("only meaningful with `init"), std::string::npos);
}

}  // namespace
}  // namespace wink::test
