// The runtime's signal paths under pressure, and the funcref values of the
// export boundary.
//
// Deadlines arrive as a signal at any instruction: while the guest runs,
// while a trap (unreachable, an out-of-bounds access in a guard page) is
// already unwinding, while host code holds a lock. Whatever the moment, the
// call ends with one of the outcomes its code allows, locks are not left
// held, and the thread runs guests again. Threads that ran guests give back
// their signal stacks when they end.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <wasm-rt.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "runtime/artifact_abi.h"
#include "runtime/runtime.h"

namespace wink::runtime {
namespace {

using std::chrono::steady_clock;

void spin_for(std::chrono::microseconds d) {
  auto until = steady_clock::now() + d;
  while (steady_clock::now() < until) {
  }
}

struct Work {
  wasm_rt_memory_t* memory = nullptr;
  wasm_rt_funcref_table_t table{};  // owned like an instance's: freed after the call
  int kind = 0;  // 0 return, 1 unreachable, 2 out of bounds, 3 spin forever, 4 free() in host code
  std::chrono::microseconds spin{0};
};

void run_work(void* p) {
  auto* w = static_cast<Work*>(p);
  spin_for(w->spin);
  switch (w->kind) {
    case 0: return;
    case 1: wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
    case 2: {
      // Past the 4 GiB a wasm32 memory can address: the slot's guard pages.
      volatile uint8_t* past = w->memory->data + (uint64_t{1} << 32) + 4096;
      *past = 1;
      return;
    }
    case 3:
      for (;;) spin_for(std::chrono::microseconds(100));
    case 4:
      // A release inside guest context, as an instance freed in a host call
      // does: the memory is given back under its HostScope.
      for (int i = 0; i < 50; ++i) {
        wasm_rt_allocate_funcref_table(&w->table, 64, 64);
        wasm_rt_free_funcref_table(&w->table);
      }
      return;
  }
}

void allocate(void* p) { wasm_rt_allocate_memory(static_cast<wasm_rt_memory_t*>(p), 1, 1); }
void free_table(void* p) { wasm_rt_free_funcref_table(static_cast<wasm_rt_funcref_table_t*>(p)); }
void release(void* p) { wasm_rt_free_memory(static_cast<wasm_rt_memory_t*>(p)); }

bool outcome_allowed(int kind, Trap trap) {
  if (trap == Trap::kDeadline) return true;  // any call may run into its deadline
  switch (kind) {
    case 0:
    case 4: return trap == Trap::kNone;
    case 1: return trap == Trap::kUnreachable;
    case 2: return trap == Trap::kOutOfBounds;
    default: return false;  // 3 never returns by itself
  }
}

bool deadline_signal_blocked() {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, SIGURG) == 1;
}

// Deadlines of 1 ms against work of 0-2 ms that ends in a return, a trap or
// a fault: the signal lands before, during and after the trap's jump.
TEST(RuntimeSignals, DeadlinesRacingTrapsLeaveEveryThreadSound) {
  std::atomic<int> bad_outcomes{0}, blocked_after{0}, deadlines{0}, failures{0};
  auto worker = [&](int seed) {
    wasm_rt_memory_t memory{};
    if (!guarded_call(allocate, &memory).ok()) {
      ++failures;
      return;
    }
    for (int i = 0; i < 600; ++i) {
      Work w;
      w.memory = &memory;
      w.kind = (i + seed) % 5;
      w.spin = std::chrono::microseconds((i * 337 + seed * 101) % 2000);
      Outcome out = guarded_call(run_work, &w, {std::chrono::milliseconds(1)});
      failures += !guarded_call(free_table, &w.table).ok();  // what a stopped call left, as an instance's free
      bad_outcomes += !outcome_allowed(w.kind, out.trap);
      deadlines += out.trap == Trap::kDeadline;
      blocked_after += deadline_signal_blocked();
    }
    // The thread still runs guests normally, without a deadline too.
    Work last;
    last.memory = &memory;
    failures += !guarded_call(run_work, &last).ok();
    failures += guarded_call(release, &memory).trap != Trap::kNone;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(bad_outcomes.load(), 0);
  EXPECT_EQ(blocked_after.load(), 0) << "the deadline signal must be deliverable again after every call";
  EXPECT_GT(deadlines.load(), 0) << "the deadlines never fired: the race was not exercised";
  // Nothing was left locked: allocations and a fresh guest call work.
  std::vector<std::string> heap(1000, std::string(100, 'x'));
  EXPECT_EQ(heap.back().size(), 100u);
  Work fine;
  EXPECT_TRUE(guarded_call(run_work, &fine).ok());
}

// The watchdog watches every thread that ran a guarded call; threads come
// and go (executors, I/O threads taking a loop over). Threads that ended while
// others keep being watched do not disturb it: a later deadline still fires.
TEST(RuntimeSignals, DeadlinesStillFireAfterWatchedThreadsEnded) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  // A long-lived thread whose calls keep the watchdog scanning meanwhile.
  std::thread steady([&] {
    while (!stop.load()) {
      Work w;
      w.kind = 3;
      bad += guarded_call(run_work, &w, {std::chrono::milliseconds(2)}).trap != Trap::kDeadline;
    }
  });
  for (int round = 0; round < 10; ++round) {
    std::vector<std::thread> brief;
    for (int i = 0; i < 10; ++i) {
      brief.emplace_back([&] {
        Work w;
        bad += !guarded_call(run_work, &w, {std::chrono::seconds(30)}).ok();
      });
    }
    for (auto& t : brief) t.join();
  }
  stop = true;
  steady.join();
  EXPECT_EQ(bad.load(), 0);
  std::thread([&] {
    Work w;
    w.kind = 3;
    auto start = steady_clock::now();
    EXPECT_EQ(guarded_call(run_work, &w, {std::chrono::milliseconds(20)}).trap, Trap::kDeadline);
    auto elapsed = steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(20));
    EXPECT_LT(elapsed, std::chrono::seconds(10));
  }).join();
}

// A call made from inside another (a host function calling back into a
// guest) ends at its caller's deadline when that comes first: no inner
// budget outlives the request it runs for.
struct Nested {
  Outcome inner;
};
void call_nested_then_spin(void* p) {
  auto* n = static_cast<Nested*>(p);
  Work w;
  w.kind = 3;
  n->inner = guarded_call(run_work, &w, {std::chrono::seconds(60)});
  for (;;) spin_for(std::chrono::microseconds(100));
}

TEST(RuntimeSignals, ANestedCallEndsAtItsCallersDeadline) {
  Nested n;
  auto start = steady_clock::now();
  Outcome outer = guarded_call(call_nested_then_spin, &n, {std::chrono::milliseconds(30)});
  auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(n.inner.trap, Trap::kDeadline) << "the inner call ran on past its caller's deadline";
  EXPECT_EQ(outer.trap, Trap::kDeadline);
  EXPECT_GE(elapsed, std::chrono::milliseconds(30));
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  Work fine;
  EXPECT_TRUE(guarded_call(run_work, &fine, {std::chrono::seconds(1)}).ok());
}

// A deadline counts from the caller's clock read when it gives one
// (CallLimits::started: a request's own timing read): a call whose budget
// was spent before it began is stopped at once, not a whole budget later.
TEST(RuntimeSignals, ADeadlineCountsFromTheCallersClockRead) {
  Work w;
  w.kind = 3;  // spins until stopped
  auto start = steady_clock::now();
  Outcome out = guarded_call(run_work, &w, {std::chrono::seconds(20), start - std::chrono::seconds(30)});
  auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(out.trap, Trap::kDeadline);
  EXPECT_LT(elapsed, std::chrono::seconds(10)) << "the deadline counted from the call, not from `started`";
  Work fine;
  EXPECT_TRUE(guarded_call(run_work, &fine, {std::chrono::seconds(1), steady_clock::now()}).ok());
}

// Each thread that runs a guest gets a signal stack; it must be unmapped
// when the thread ends (kept, each would hold 64 KiB and, unless the kernel
// merges it with a neighbour, one of the process's limited mappings).
TEST(RuntimeSignals, ThreadsGiveBackTheirSignalStacks) {
  std::vector<void*> stacks;
  for (int i = 0; i < 20; ++i) {
    std::thread([&] {
      Work w;
      EXPECT_TRUE(guarded_call(run_work, &w).ok());
      stack_t ss{};
      sigaltstack(nullptr, &ss);
      stacks.push_back(ss.ss_flags & SS_DISABLE ? nullptr : ss.ss_sp);
    }).join();
  }
  size_t still_mapped = 0, had_one = 0;
  for (void* s : stacks) {
    if (s == nullptr) continue;
    ++had_one;
    unsigned char resident;
    // mincore fails with ENOMEM on an address that is not mapped.
    still_mapped += ::mincore(s, 4096, &resident) == 0;
  }
  EXPECT_EQ(had_one, stacks.size()) << "every thread that ran a guest had a signal stack";
  EXPECT_EQ(still_mapped, 0u) << "signal stacks left mapped after their threads ended";
}

// Funcref values at the export boundary (artifact_abi.h).
TEST(RuntimeFuncref, IdentitiesAreStableOpaqueAndNullIsZero) {
  int a_instance = 0, b_instance = 0;
  auto fa = reinterpret_cast<wasm_rt_function_ptr_t>(&spin_for);
  auto fb = reinterpret_cast<wasm_rt_function_ptr_t>(&run_work);
  wasm_rt_funcref_t a{1, fa, &a_instance}, a_again{1, fa, &a_instance};
  wasm_rt_funcref_t b{1, fb, &a_instance}, a_other{1, fa, &b_instance};
  EXPECT_EQ(wink_funcref_identity(&wasm_rt_funcref_null_value), 0u);
  const uint64_t ia = wink_funcref_identity(&a);
  EXPECT_NE(ia, 0u);
  EXPECT_EQ(ia, wink_funcref_identity(&a_again));
  EXPECT_NE(ia, wink_funcref_identity(&b)) << "another function";
  EXPECT_NE(ia, wink_funcref_identity(&a_other)) << "the same function of another instance";
  EXPECT_NE(ia, reinterpret_cast<uintptr_t>(fa)) << "an identity is not the address";
  EXPECT_NE(ia, reinterpret_cast<uintptr_t>(&a_instance));
}

void take_argument(void* p) {
  wasm_rt_funcref_t r = wink_funcref_argument(*static_cast<uint64_t*>(p));
  if (r.func != nullptr) std::abort();  // never: only null comes out
}

TEST(RuntimeFuncref, OnlyNullGoesIntoAnExport) {
  uint64_t slot = 0;
  EXPECT_TRUE(guarded_call(take_argument, &slot).ok());
  wasm_rt_funcref_t real{1, reinterpret_cast<wasm_rt_function_ptr_t>(&spin_for), nullptr};
  for (uint64_t forged : {uint64_t{1}, wink_funcref_identity(&real), reinterpret_cast<uint64_t>(&spin_for)}) {
    slot = forged;
    EXPECT_EQ(guarded_call(take_argument, &slot).trap, Trap::kIndirectCall) << forged;
  }
}

}  // namespace
}  // namespace wink::runtime
