// Stack exhaustion with frames bigger than a page: a frame must never step
// over the guard below a guest thread's stack (into another thread's stack
// or the heap). Generated code is compiled with -fstack-clash-protection (it
// touches each page of a big frame in order), and the runtime puts a guard
// region of kGuestStackGuardBytes at the bottom of every thread that runs a
// guest. Checked on a thread whose stack has writable memory right below it
// (no guard of its own), and end to end through `wink run` and `wink up` with
// a guest whose native frames are ~5 KiB (600 live locals), more than the one
// guard page glibc puts below a thread stack.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>

#include "compiler/wat.h"
#include "runtime/runtime.h"
#include "support/wink_up.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;

// Compiled with -fstack-clash-protection (tests/engine/CMakeLists.txt), like
// generated code: a 256 KiB frame, written at both ends, recursing forever.
volatile int g_depth_limit = 1 << 30;  // never reached: the stack runs out first
__attribute__((noinline)) int big_frame(int depth) {
  if (depth > g_depth_limit) return 0;
  volatile char buf[256 * 1024];
  buf[0] = static_cast<char>(depth);
  buf[sizeof buf - 1] = static_cast<char>(depth);
  return big_frame(depth + 1) + buf[0] + buf[sizeof buf - 1];
}
void run_big_frame(void*) { (void)big_frame(0); }

struct ThreadRun {
  runtime::Outcome outcome;
};
void* thread_main(void* p) {
  static_cast<ThreadRun*>(p)->outcome = runtime::guarded_call(run_big_frame, nullptr);
  return nullptr;
}

TEST(StackGuard, BigFramesStopAtTheGuardNotInTheMemoryBelow) {
  // [no access 64 KiB][canary 2 MiB, writable][stack 1 MiB]: what lies below
  // a thread stack is often another thread's stack, writable.
  constexpr size_t kBelow = 64 << 10, kCanary = 2 << 20, kStack = 1 << 20;
  auto* map = static_cast<uint8_t*>(::mmap(nullptr, kBelow + kCanary + kStack, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(map, MAP_FAILED);
  ASSERT_EQ(::mprotect(map, kBelow, PROT_NONE), 0);
  uint8_t* canary = map + kBelow;
  std::memset(canary, 0xa5, kCanary);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, canary + kCanary, kStack);
  ThreadRun run;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, &attr, thread_main, &run), 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(run.outcome.trap, runtime::Trap::kStackExhausted) << runtime::trap_message(run.outcome.trap);
  size_t touched = 0;
  for (size_t i = 0; i < kCanary; ++i) touched += canary[i] != 0xa5;
  EXPECT_EQ(touched, 0u) << "the guest wrote below its stack";
  ::munmap(map, kBelow + kCanary + kStack);
}

// A WASI command whose recursive function keeps `locals` i64 values live
// across its call: wasm2c makes each a C local, and since each is loaded from
// linear memory (which the call may change) the C compiler must keep them
// all in the native frame (8 bytes each) rather than recompute them after.
fs::path big_frame_guest(const fs::path& dir, int locals) {
  std::string w = "(module (memory (export \"memory\") 1)\n"
                  "  (func $deep (param $n i64) (result i64)\n    (local";
  for (int i = 0; i < locals; ++i) w += " i64";
  w += ")\n";
  for (int i = 1; i <= locals; ++i) {
    w += "    (local.set " + std::to_string(i) + " (i64.add (local.get 0) (i64.load offset=" +
         std::to_string((8 * i) % 65536) + " (i32.const 0))))\n";
  }
  w += "    (i64.store (i32.const 0) (local.get 0))\n";
  w += "    (call $deep (i64.add (local.get 0) (i64.const 1)))\n";
  for (int i = 1; i <= locals; ++i) w += "    (local.get " + std::to_string(i) + ") (i64.xor)\n";
  w += "  )\n  (func (export \"_start\") (drop (call $deep (i64.const 1)))))\n";
  auto bytes = wat(w);
  fs::path out = dir / "big_frame.wasm";
  std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
  return out;
}

TEST(StackGuard, WinkRunReportsExhaustionForHugeFrames) {
  auto dir = scratch_dir("stack-run");
  fs::path guest = big_frame_guest(dir, 600);
  RunResult r = run_wink({"run", "--data-dir", shared_data_dir().string(), guest.string()});
  ASSERT_EQ(r.signal, 0) << "wink died of signal " << r.signal << ": " << r.err;
  EXPECT_EQ(r.exit_code, 134) << r.err;  // 128 + SIGABRT, as wasmtime on a trap
  EXPECT_NE(r.err.find("call stack exhausted"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(StackGuard, WinkUpAnswersExhaustionAndKeepsServing) {
  auto dir = scratch_dir("stack-up");
  fs::path guest = big_frame_guest(dir, 600);
  WinkUp up;
  ASSERT_TRUE(up.start(dir / "app", R"([app]
name = "frames"

[[route]]
path = "/deep"
component = "deep"

[[route]]
path = "/other"
component = "other"

[component.deep]
source = ")" + guest.string() + R"("

[component.other]
source = ")" + guest_wasm("mem_reader_1mib").string() + R"("
)", {"--workers", "2"}))
      << up.output();
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = up.get("/deep");
    ASSERT_EQ(r.status, 500) << "server: " << (up.exited() ? up.status() : "running") << "\n" << up.output();
    HttpResponse other = up.get("/other");
    ASSERT_EQ(other.status, 200) << up.output();
  }
  EXPECT_NE(up.output().find("stack"), std::string::npos) << up.output();
  EXPECT_EQ(up.stop(), 0) << up.output();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
