// The quick tier (-O0) compiled by TinyCC: what it builds is a normal
// artifact (calls, traps, a GNU build id, nothing but wink_artifact
// exported), its cache key names tcc, and since TinyCC has no stack probes a
// guest's frames can never step over the guard region below a guest
// thread's stack: a part with a frame over kUnprobedFrameLimit is compiled
// again by cc with -fstack-clash-protection, and recursion with the largest
// frames TinyCC keeps stops at the guard ("call stack exhausted") without
// writing a byte of the memory below the stack. Skipped without tcc.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "common/files.h"
#include "compiler/compiler.h"
#include "compiler/frame_check.h"
#include "compiler/toolchain.h"
#include "compiler/wat.h"
#include "runtime/artifact_abi.h"
#include "runtime/runtime.h"

namespace {

namespace fs = std::filesystem;
using wink::compiler::compile_module;
using wink::compiler::CompileReport;
using wink::compiler::Options;

fs::path scratch_dir() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "wink-quick-tier-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    static const std::string* const to_remove = new std::string(tmpl);
    std::atexit([] { std::error_code ec; fs::remove_all(*to_remove, ec); });
    return fs::path(tmpl);
  }();
  return dir;
}

Options quick() {
  Options o;
  o.opt_level = 0;
  o.jobs = 2;
  return o;
}

#define REQUIRE_TCC()                                                                        \
  if (wink::compiler::quick_c_compiler().empty()) GTEST_SKIP() << "tcc is not installed"

// `deep(n)` recurses forever; each frame holds `locals` i64 locals. With
// `all_live`, each local is loaded from memory before the call and summed
// after it (so every compiler keeps all of them in the frame); otherwise
// only the last local is used (wasm2c still declares and zeroes them all).
std::vector<uint8_t> deep_module(int locals, bool all_live) {
  std::string w = "(module (memory 1)\n  (func $deep (export \"deep\") (param i64) (result i64) (local";
  for (int i = 0; i < locals; ++i) w += " i64";
  w += ")\n";
  if (all_live) {
    for (int i = 1; i <= locals; ++i)
      w += "    (local.set " + std::to_string(i) + " (i64.load offset=" + std::to_string((8 * i) % 65528) +
           " (i32.const 0)))\n";
  } else {
    w += "    (local.set " + std::to_string(locals) + " (i64.load (i32.const 8)))\n";
  }
  w += "    (i64.store (i32.const 0) (local.get 0))\n";
  w += "    (call $deep (i64.add (local.get 0) (i64.const 1)))\n";
  for (int i = all_live ? 1 : locals; i <= locals; ++i) w += "    (local.get " + std::to_string(i) + ") (i64.add)\n";
  w += "  ))\n";
  return wink::test::wat(w);
}

struct Artifact {
  void* so = nullptr;
  const wink_artifact_t* a = nullptr;
  std::map<std::string, const wink_export_t*> exports;
  ~Artifact() {
    if (so) ::dlclose(so);
  }
};

void load(const fs::path& path, Artifact& out) {
  out.so = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(out.so, nullptr) << ::dlerror();
  out.a = static_cast<const wink_artifact_t*>(::dlsym(out.so, "wink_artifact"));
  ASSERT_NE(out.a, nullptr);
  for (uint32_t i = 0; i < out.a->num_exports; ++i) out.exports[out.a->exports[i].name] = &out.a->exports[i];
}

// Instantiates the artifact and calls deep(0) on a thread whose stack has
// writable memory right below it (as another thread's stack often is),
// filled with a pattern. Returns the trap and how many bytes below the stack
// changed.
struct DeepRun {
  const wink_artifact_t* a;
  const wink_export_t* deep;
  wink::runtime::Outcome outcome;
};

void* deep_thread(void* p) {
  auto* run = static_cast<DeepRun*>(p);
  std::vector<uint8_t> storage(run->a->instance_size + 64);
  void* inst = storage.data();
  struct Ctx {
    DeepRun* run;
    void* inst;
  } ctx{run, inst};
  run->outcome = wink::runtime::guarded_call(
      [](void* c) { auto* x = static_cast<Ctx*>(c); x->run->a->instantiate(x->inst, nullptr); }, &ctx);
  if (!run->outcome.ok()) return nullptr;
  run->outcome = wink::runtime::guarded_call(
      [](void* c) {
        auto* x = static_cast<Ctx*>(c);
        uint64_t args[1] = {0}, results[1] = {0};
        x->run->deep->call(x->inst, args, results);
      },
      &ctx);
  run->a->free_instance(inst);
  return nullptr;
}

size_t run_deep_above_canary(const Artifact& art, wink::runtime::Outcome& outcome) {
  constexpr size_t kBelow = 64 << 10, kCanary = 4 << 20, kStack = 1 << 20;
  auto* map = static_cast<uint8_t*>(::mmap(nullptr, kBelow + kCanary + kStack, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  EXPECT_NE(map, MAP_FAILED);
  EXPECT_EQ(::mprotect(map, kBelow, PROT_NONE), 0);
  uint8_t* canary = map + kBelow;
  std::memset(canary, 0xa5, kCanary);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, canary + kCanary, kStack);
  art.a->init_module();
  DeepRun run{art.a, art.exports.at("deep"), {}};
  pthread_t t;
  EXPECT_EQ(pthread_create(&t, &attr, deep_thread, &run), 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  outcome = run.outcome;
  size_t touched = 0;
  for (size_t i = 0; i < kCanary; ++i) touched += canary[i] != 0xa5;
  ::munmap(map, kBelow + kCanary + kStack);
  return touched;
}

TEST(QuickTier, TinyCcBuildsANormalArtifact) {
  REQUIRE_TCC();
  auto wasm = deep_module(4, true);
  auto out = scratch_dir() / "small.so";
  CompileReport report;
  auto r = compile_module(wasm, quick(), out, &report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(report.probed_parts, 0u);
  Artifact art;
  load(out, art);
  EXPECT_EQ(std::string(art.a->compile_flags).rfind("tcc", 0), 0u) << art.a->compile_flags;
  // The parts TinyCC compiled export nothing (it ignores visibility; the
  // link's version script hides them), so only the descriptor is visible.
  EXPECT_EQ(::dlsym(art.so, "Z_guest_instantiate"), nullptr);
  EXPECT_EQ(::dlsym(art.so, "w2c_deep"), nullptr);
  // Snapshots are bound to an artifact by its GNU build id: the link by cc gives one.
  auto bytes = wink::read_file(out);
  ASSERT_TRUE(bytes.ok());
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  EXPECT_NE(text.find(".note.gnu.build-id"), std::string_view::npos);
}

// TinyCC computes a float's -x as a subtraction, which keeps a NaN's sign;
// Wasm's neg flips the sign bit of every value. Bit-exact through the quick tier.
TEST(QuickTier, FloatNegFlipsTheSignBitOfNaNs) {
  REQUIRE_TCC();
  auto wasm = wink::test::wat(R"((module
    (func (export "negf") (param f32) (result f32) (f32.neg (local.get 0)))
    (func (export "negd") (param f64) (result f64) (f64.neg (local.get 0)))))");
  auto out = scratch_dir() / "neg.so";
  auto r = compile_module(wasm, quick(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  Artifact art;
  load(out, art);
  ASSERT_TRUE(art.exports.count("negf") && art.exports.count("negd"));
  std::vector<uint8_t> storage(art.a->instance_size + 64);
  art.a->init_module();
  art.a->instantiate(storage.data(), nullptr);
  auto call = [&](const char* name, uint64_t arg) {
    uint64_t args[1] = {arg}, results[1] = {0};
    art.exports.at(name)->call(storage.data(), args, results);
    return results[0];
  };
  EXPECT_EQ(call("negf", 0xffc00000u), 0x7fc00000u);
  EXPECT_EQ(call("negf", 0x7fa00001u), 0xffa00001u);
  EXPECT_EQ(call("negf", 0x00000000u), 0x80000000u);
  EXPECT_EQ(call("negd", 0xfff8000000000000ull), 0x7ff8000000000000ull);
  EXPECT_EQ(call("negd", 0x7ff0000000000004ull), 0xfff0000000000004ull);
  EXPECT_EQ(call("negd", 0xbff8000000000000ull), 0x3ff8000000000000ull);  // -1.5 -> 1.5
  art.a->free_instance(storage.data());
}

// One translation serves both tiers: its C is marked for TinyCC's float
// negation once, and TinyCC and cc each read it their way. Each artifact is
// byte for byte what a compile of its own translation gives, and both flip
// the sign bit of NaNs.
TEST(QuickTier, OneTranslationServesBothTiers) {
  REQUIRE_TCC();
  auto wasm = wink::test::wat(R"((module
    (memory 1)
    (func (export "negf") (param f32) (result f32) (f32.neg (local.get 0)))
    (func (export "negd") (param f64) (result f64) (f64.neg (local.get 0)))
    (func (export "negd_mem") (param i32) (result f64) (f64.neg (f64.load (local.get 0))))))");
  CompileReport translated;
  auto translation = wink::compiler::translate_module(wasm, quick(), &translated);
  ASSERT_TRUE(translation.ok()) << translation.error().message;
  EXPECT_GT(translated.translate_seconds, 0);
  Options o2 = quick();
  o2.opt_level = 2;
  for (const Options& o : {quick(), o2}) {
    const std::string level = "-O" + std::to_string(o.opt_level);
    SCOPED_TRACE(level);
    const fs::path shared = scratch_dir() / ("shared" + level + ".so");
    const fs::path alone = scratch_dir() / ("alone" + level + ".so");
    CompileReport report;
    auto r = wink::compiler::compile_translation(**translation, o, shared, &report);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(report.translation_reused, o.opt_level == 2);
    EXPECT_EQ(report.translate_seconds, 0);
    ASSERT_TRUE(compile_module(wasm, o, alone).ok());
    EXPECT_EQ(wink::read_file(shared).value(), wink::read_file(alone).value());
    Artifact art;
    load(shared, art);
    EXPECT_EQ(std::string(art.a->compile_flags).rfind("tcc", 0) == 0, o.opt_level == 0) << art.a->compile_flags;
    std::vector<uint8_t> storage(art.a->instance_size + 64);
    art.a->init_module();
    art.a->instantiate(storage.data(), nullptr);
    auto call = [&](const char* name, uint64_t arg) {
      uint64_t args[1] = {arg}, results[1] = {0};
      art.exports.at(name)->call(storage.data(), args, results);
      return results[0];
    };
    EXPECT_EQ(call("negf", 0xffc00000u), 0x7fc00000u);
    EXPECT_EQ(call("negf", 0x7fa00001u), 0xffa00001u);
    EXPECT_EQ(call("negd", 0xfff8000000000000ull), 0x7ff8000000000000ull);
    EXPECT_EQ(call("negd", 0xbff8000000000000ull), 0x3ff8000000000000ull);
    wasm_rt_memory_t* mem = art.a->memory(storage.data());
    const uint64_t nan = 0x7ff0000000000004ull;
    std::memcpy(mem->data + 8, &nan, 8);
    EXPECT_EQ(call("negd_mem", 8), 0xfff0000000000004ull);
    art.a->free_instance(storage.data());
  }
}

TEST(QuickTier, CacheKeyNamesTheQuickCompiler) {
  REQUIRE_TCC();
  Options o0 = quick(), o2 = quick();
  o2.opt_level = 2;
  std::string k0 = wink::compiler::artifact_key_flags(o0), k2 = wink::compiler::artifact_key_flags(o2);
  EXPECT_NE(k0.find("quick_cc=" + wink::compiler::quick_c_compiler_identity()), std::string::npos) << k0;
  EXPECT_NE(wink::compiler::quick_c_compiler_identity().find("tcc version"), std::string::npos)
      << wink::compiler::quick_c_compiler_identity();
  EXPECT_EQ(k2.find("quick_cc="), std::string::npos) << k2;
}

// The frame check reads what TinyCC allocates: a 100,000-byte local array.
TEST(QuickTier, FrameCheckReadsTinyCcFrames) {
  REQUIRE_TCC();
  fs::path dir = scratch_dir() / "frames";
  fs::create_directories(dir);
  std::ofstream(dir / "f.c") << "int small(int a) { return a + 1; }\n"
                                "int big(int i) { volatile char x[100000]; x[i] = 1; return x[0]; }\n";
  std::string cmd;
  for (const auto& a : wink::compiler::quick_c_compiler()) cmd += a + " ";
  ASSERT_EQ(std::system((cmd + "-c " + (dir / "f.c").string() + " -o " + (dir / "f.o").string()).c_str()), 0);
  auto frame = wink::compiler::largest_stack_frame(dir / "f.o");
  ASSERT_TRUE(frame.ok()) << frame.error().message;
  EXPECT_GE(*frame, 100000u);
  EXPECT_LT(*frame, 100000u + 4096);
  std::ofstream(dir / "junk.o") << "not an object";
  auto junk = wink::compiler::largest_stack_frame(dir / "junk.o");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("junk.o"), std::string::npos) << junk.error().message;
}

// The largest frames TinyCC keeps (just under the limit: 3,600 live i64
// locals, ~29 KiB) recurse into the guard and stop there.
TEST(QuickTier, LargestUnprobedFramesStopAtTheGuard) {
  REQUIRE_TCC();
  auto out = scratch_dir() / "under.so";
  CompileReport report;
  auto r = compile_module(deep_module(3600, true), quick(), out, &report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(report.probed_parts, 0u) << "the test wants a frame TinyCC keeps";
  Artifact art;
  load(out, art);
  wink::runtime::Outcome outcome;
  size_t touched = run_deep_above_canary(art, outcome);
  EXPECT_EQ(outcome.trap, wink::runtime::Trap::kStackExhausted) << wink::runtime::trap_message(outcome.trap);
  EXPECT_EQ(touched, 0u) << "the guest wrote below its stack";
}

// An attacker's frames: 200,000 i64 locals (1.6 MB per frame, 25 times the
// guard). TinyCC's part is refused by the frame check and compiled by cc with
// stack probes; the recursion stops at the guard, nothing below is written.
TEST(QuickTier, HugeFramesAreCompiledWithProbes) {
  REQUIRE_TCC();
  auto out = scratch_dir() / "huge.so";
  CompileReport report;
  auto r = compile_module(deep_module(200000, false), quick(), out, &report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GE(report.probed_parts, 1u);
  Artifact art;
  load(out, art);
  wink::runtime::Outcome outcome;
  size_t touched = run_deep_above_canary(art, outcome);
  EXPECT_EQ(outcome.trap, wink::runtime::Trap::kStackExhausted) << wink::runtime::trap_message(outcome.trap);
  EXPECT_EQ(touched, 0u) << "the guest wrote below its stack";
}

}  // namespace
