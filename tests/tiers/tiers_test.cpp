// Tiering in `wink up` (docs/compile.md, "Tiering"): with the quick-tier
// threshold lowered to one byte, a module (also one with `init`, each tier
// from its own snapshot) and a wasi:http component are
// served from their quick -O0 artifacts at once, the optimized artifacts are
// built in the background and swapped in while a client keeps sending
// requests (no error, identical answers); a failing optimized build keeps
// the quick tier serving; a stop during a background build is prompt and
// leaves the cache loadable.
//
// The C compiler is a wrapper script ($WINK_CC) that holds or fails the -O2
// compiles only, so each test sees the quick tier serve before the swap.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/wink_up.h"
#include "support/http_client.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#ifdef WINK_COMPONENT_EXAMPLES
constexpr const char* kExamples = WINK_COMPONENT_EXAMPLES;
#else
constexpr const char* kExamples = "";
#endif

std::string manifest_for(const std::string& source) {
  return "manifest_version = 1\n[app]\nname = \"tiers\"\n[component.app]\nsource = \"" + source +
         "\"\n[[route]]\npath = \"/...\"\ncomponent = \"app\"\n";
}

// A $WINK_CC for the test: the real compiler, except that a compile at -O2
// first runs `o2_action` (shell). It records its pid in <dir>/cc-o2.pids.
fs::path write_cc(const fs::path& dir, const std::string& o2_action) {
  const char* real = ::access("/usr/bin/clang", X_OK) == 0 ? "/usr/bin/clang" : "cc";
  fs::path script = dir / "cc.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "case \" $* \" in *\" -O2 \"*) echo $$ >> '" << (dir / "cc-o2.pids").string()
                        << "'; " << o2_action << " ;; esac\n"
                        << "exec " << real << " \"$@\"\n";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

// Sets an environment variable for the servers this test starts.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// Sets $WINK_CC for the servers this test starts.
class ScopedCc {
 public:
  explicit ScopedCc(const fs::path& script) { ::setenv("WINK_CC", script.c_str(), 1); }
  ~ScopedCc() { ::unsetenv("WINK_CC"); }
};

std::string tier_of(WinkUp& up) {
  std::string m = up.get("/metrics").body;
  for (const char* tier : {"quick", "optimized"}) {
    if (m.find("wink_component_tier{app=\"tiers\",component=\"app\",tier=\"" + std::string(tier) + "\"} 1") !=
        std::string::npos)
      return tier;
  }
  return "none: " + m.substr(0, 200);
}

// Files of the artifact cache that are not a complete entry or its lock.
std::vector<std::string> leftovers(const fs::path& data) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data / "artifacts", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos) out.push_back(name);
  }
  return out;
}

size_t artifacts(const fs::path& data) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data / "artifacts", ec)) n += e.path().extension() == ".so";
  return n;
}

struct Answer {
  int status = 0;
  std::string content_type, body;
  bool operator==(const Answer&) const = default;
};

Answer answer_of(const HttpResponse& r) { return {r.status, r.header("content-type"), r.body}; }

class Tiers : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = scratch_dir("tiers-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path data() const { return dir_ / "data"; }
  std::vector<std::string> args() const {
    return {"--data-dir", data().string(), "--quick-tier-threshold", "1"};
  }
  // The first answer comes from the quick tier; a client then sends
  // requests without pause until the optimized tier has been swapped in and
  // a few more after; every answer equals the first.
  void expect_swap_under_load(WinkUp& up, const std::string& path) {
    const Answer first = answer_of(up.get(path));
    EXPECT_EQ(first.status, 200) << up.output();
    EXPECT_EQ(tier_of(up), "quick");
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0}, wrong{0};
    std::string first_wrong;
    std::thread client([&] {
      while (!stop) {
        Answer a = answer_of(http_request(up.port(), "GET", path));
        if (!(a == first) && wrong++ == 0) first_wrong = std::to_string(a.status) + " " + a.body;
        ++sent;
      }
    });
    // Released here, so the swap happens while the client is sending.
    std::ofstream(dir_ / "release");
    const bool swapped = up.wait_for_output("\"msg\":\"optimized tier swapped in\"", 120s);
    const int at_swap = sent.load();
    // wink's output is read by the Process's own thread meanwhile, so its
    // access log can never fill the pipe and stop its workers mid-request.
    const auto until = Clock::now() + 60s;
    while (sent.load() < at_swap + 20 && Clock::now() < until) std::this_thread::sleep_for(1ms);
    stop = true;
    client.join();
    EXPECT_TRUE(swapped) << up.output();
    EXPECT_EQ(wrong.load(), 0) << "first differing answer: " << first_wrong;
    EXPECT_GT(at_swap, 0) << "no request was sent before the swap";
    EXPECT_EQ(tier_of(up), "optimized");
    EXPECT_EQ(answer_of(up.get(path)), first);
  }
  fs::path dir_;
};

TEST_F(Tiers, ModuleServedQuickThenOptimizedSwappedUnderLoad) {
  fs::copy_file(guest_wasm("example_hello"), dir_ / "hello.wasm");
  // -O2 compiles wait for the test's go (bounded: 60 s).
  ScopedCc cc(write_cc(dir_, "i=0; while [ ! -e '" + (dir_ / "release").string() +
                                 "' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"));
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest_for("hello.wasm"), args())) << up.output();
  EXPECT_NE(up.output().find("serving the quick tier"), std::string::npos) << up.output();
  expect_swap_under_load(up, "/");
  EXPECT_EQ(up.stop(), 0) << up.output();
  EXPECT_EQ(artifacts(data()), 2u);  // quick and optimized
  EXPECT_TRUE(leftovers(data()).empty());
  // The next start finds the optimized artifact: no quick tier, no compile.
  WinkUp again;
  ASSERT_TRUE(again.start(dir_, manifest_for("hello.wasm"), args())) << again.output();
  EXPECT_EQ(tier_of(again), "optimized");
  EXPECT_EQ(again.output().find("quick tier"), std::string::npos) << again.output();
  again.stop();
}

TEST_F(Tiers, ComponentServedQuickThenOptimizedSwappedWhole) {
  if (!*kExamples) GTEST_SKIP() << "built without the component toolchain (npm/node missing)";
  fs::copy_file(fs::path(kExamples) / "c-http.wasm", dir_ / "c-http.wasm");
  ScopedCc cc(write_cc(dir_, "i=0; while [ ! -e '" + (dir_ / "release").string() +
                                 "' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"));
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest_for("c-http.wasm"), args())) << up.output();
  expect_swap_under_load(up, "/");
  // One swap for the whole component (all its core modules at once).
  const std::string out = up.output();
  size_t swaps = 0;
  for (size_t p = 0; (p = out.find("optimized tier swapped in", p)) != std::string::npos; ++p) ++swaps;
  EXPECT_EQ(swaps, 1u) << out;
  EXPECT_EQ(up.stop(), 0) << up.output();
  EXPECT_TRUE(leftovers(data()).empty());
}

// A module with `init` is tiered too: the quick artifact serves from a
// snapshot taken on it, and the optimized artifact gets its own (init runs
// again: a snapshot holds offsets into the code it was taken on) before it is
// swapped in. Every answer, before and after, is the init state's.
TEST_F(Tiers, InitModuleServedQuickThenOptimizedEachFromItsOwnSnapshot) {
  fs::copy_file(guest_wasm("snap_funcref_global"), dir_ / "fg.wasm");
  ScopedCc cc(write_cc(dir_, "i=0; while [ ! -e '" + (dir_ / "release").string() +
                                 "' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"));
  const std::string manifest = "manifest_version = 1\n[app]\nname = \"tiers\"\n[component.app]\n"
                               "source = \"fg.wasm\"\ninit = \"wizer.initialize\"\n"
                               "[[route]]\npath = \"/...\"\ncomponent = \"app\"\n";
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest, args())) << up.output();
  EXPECT_NE(up.output().find("serving the quick tier"), std::string::npos) << up.output();
  EXPECT_EQ(up.get("/").body, "v=42\n") << up.output();
  expect_swap_under_load(up, "/");
  EXPECT_EQ(up.get("/").body, "v=42\n") << up.output();
  const std::string out = up.output();
  size_t built = 0;
  for (size_t p = 0; (p = out.find("\"msg\":\"snapshot built\"", p)) != std::string::npos; ++p) ++built;
  EXPECT_EQ(built, 2u) << "one snapshot per tier\n" << out;
  EXPECT_EQ(up.stop(), 0) << up.output();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(data() / "snapshots")) files += e.path().extension() == ".snap";
  EXPECT_EQ(files, 2u);
  // The next start finds the optimized artifact and its snapshot: no init runs.
  WinkUp again;
  ASSERT_TRUE(again.start(dir_, manifest, args())) << again.output();
  EXPECT_EQ(tier_of(again), "optimized");
  EXPECT_NE(again.output().find("\"msg\":\"snapshot loaded\""), std::string::npos) << again.output();
  EXPECT_EQ(again.get("/").body, "v=42\n");
  again.stop();
}

// One translation for both tiers: the optimized build compiles the C the
// quick build's translation left in its build directory instead of running
// wasm2c again. Seen from outside with $WINK_KEEP_BUILD (each translation's
// build directory is kept and named on stderr): one directory, holding the
// translation only, in which the -O2 compiles ran; the optimized tier then
// serves the same answers.
TEST_F(Tiers, OptimizedTierCompilesTheQuickTiersTranslation) {
  fs::copy_file(guest_wasm("example_hello"), dir_ / "hello.wasm");
  const fs::path tmp = dir_ / "tmp";
  fs::create_directories(tmp);
  ScopedEnv tmpdir("TMPDIR", tmp.string());
  ScopedEnv keep("WINK_KEEP_BUILD", "1");
  ScopedCc cc(write_cc(dir_, "pwd >> '" + (dir_ / "o2-dirs").string() + "'"));
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest_for("hello.wasm"), args())) << up.output();
  EXPECT_EQ(up.get("/").body, "Hello, world!\n");
  ASSERT_TRUE(up.wait_for_output("\"msg\":\"optimized tier swapped in\"", 120s)) << up.output();
  EXPECT_EQ(tier_of(up), "optimized");
  for (int i = 0; i < 5; ++i) {
    auto r = up.get("/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello, world!\n");
  }
  EXPECT_EQ(up.stop(), 0) << up.output();
  EXPECT_EQ(artifacts(data()), 2u);

  std::vector<fs::path> kept;
  for (const auto& e : fs::directory_iterator(tmp))
    if (e.path().filename().string().rfind("wink-build-", 0) == 0) kept.push_back(e.path());
  ASSERT_EQ(kept.size(), 1u) << "one translation for both tiers\n" << up.output();
  EXPECT_NE(up.output().find("build directory kept: " + kept[0].string()), std::string::npos) << up.output();
  std::ifstream dirs(dir_ / "o2-dirs");
  size_t o2_compiles = 0;
  for (std::string line; std::getline(dirs, line); ++o2_compiles)
    EXPECT_TRUE(fs::equivalent(line, kept[0])) << line << ": an -O2 compile ran outside the quick tier's translation";
  EXPECT_GT(o2_compiles, 0u);
  // Each compile removed what it added: the directory is the translation.
  bool has_part = false;
  for (const auto& e : fs::directory_iterator(kept[0])) {
    const std::string name = e.path().filename().string();
    EXPECT_FALSE(name.ends_with(".o") || name.ends_with(".log") || name == "glue.c") << name;
    has_part |= name.ends_with(".c");
  }
  EXPECT_TRUE(has_part);
}

TEST_F(Tiers, FailedOptimizedBuildLogsTheErrorAndKeepsServingTheQuickTier) {
  fs::copy_file(guest_wasm("example_hello"), dir_ / "hello.wasm");
  ScopedCc cc(write_cc(dir_, "echo 'simulated -O2 failure' >&2; exit 1"));
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest_for("hello.wasm"), args())) << up.output();
  EXPECT_TRUE(up.wait_for_output("\"msg\":\"optimized build failed; the quick tier keeps serving\"", 60s))
      << up.output();
  EXPECT_NE(up.output().find("simulated -O2 failure"), std::string::npos) << up.output();
  for (int i = 0; i < 20; ++i) {
    auto r = up.get("/");
    ASSERT_EQ(r.status, 200) << up.output();
    EXPECT_EQ(r.body, "Hello, world!\n");
  }
  EXPECT_EQ(tier_of(up), "quick");
  EXPECT_EQ(up.stop(), 0) << up.output();
  EXPECT_TRUE(leftovers(data()).empty());
}

TEST_F(Tiers, StopDuringTheBackgroundBuildIsPromptAndTheCacheStaysLoadable) {
  fs::copy_file(guest_wasm("example_hello"), dir_ / "hello.wasm");
  {
    // -O2 compiles hang (5 minutes): only a kill ends them.
    ScopedCc cc(write_cc(dir_, "sleep 300"));
    WinkUp up;
    ASSERT_TRUE(up.start(dir_, manifest_for("hello.wasm"), args())) << up.output();
    EXPECT_EQ(up.get("/").status, 200) << up.output();
    // Wait until the background build runs its compiler.
    auto until = Clock::now() + 30s;
    while (!fs::exists(dir_ / "cc-o2.pids") && Clock::now() < until) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(fs::exists(dir_ / "cc-o2.pids")) << up.output();
    const auto t0 = Clock::now();
    EXPECT_EQ(up.stop(), 0) << up.output();
    EXPECT_LT(Clock::now() - t0, 10s) << "shutdown waited for the background build";
    // The compilers it started are gone too (the wrapper and its sleep).
    std::ifstream pids(dir_ / "cc-o2.pids");
    for (pid_t pid; pids >> pid;) {
      for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(10ms);
      EXPECT_NE(::kill(pid, 0), 0) << "compiler " << pid << " still runs";
    }
    EXPECT_TRUE(leftovers(data()).empty());
    EXPECT_EQ(artifacts(data()), 1u);  // the quick one; the optimized one never appeared
  }
  // Next start (same compiler identity, now working): the quick artifact is
  // reused, the optimized one rebuilt and swapped in.
  fs::remove(dir_ / "cc-o2.pids");
  ScopedCc cc(write_cc(dir_, "true"));
  WinkUp up;
  ASSERT_TRUE(up.start(dir_, manifest_for("hello.wasm"), args())) << up.output();
  auto r = up.get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, world!\n");
  EXPECT_TRUE(up.wait_for_output("\"msg\":\"optimized tier swapped in\"", 60s)) << up.output();
  EXPECT_EQ(up.get("/").body, "Hello, world!\n");
  EXPECT_EQ(up.stop(), 0) << up.output();
  EXPECT_EQ(artifacts(data()), 2u);
}

}  // namespace
}  // namespace wink::test
