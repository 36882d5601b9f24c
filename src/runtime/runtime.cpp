// Our implementation of the wasm-rt.h contract, made for many threads:
// the trap jump target, exception state and deadline state are thread-local.

#include "runtime/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <wasm-rt.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "runtime/memory_pool.h"

namespace wink::runtime {
namespace {

constexpr int kDeadlineSignal = SIGURG;  // unused by the host otherwise; default action: ignore
constexpr size_t kAltStackBytes = 64 * 1024;
constexpr uintptr_t kStackGuardSlack = 1 << 20;  // faults this far below the stack are exhaustion

struct ThreadState {
  sigjmp_buf* trap_target = nullptr;
  WASM_RT_UNWIND_TARGET* unwind_target = nullptr;
  volatile sig_atomic_t in_guest = 0;
  volatile sig_atomic_t in_host = 0;
  volatile sig_atomic_t deadline_pending = 0;
  // The innermost armed call (the one a deadline signal may end) and its
  // deadline (steady-clock ns, 0: none), as the watchdog reads them: written by
  // this thread under watch_seq (odd while being written).
  std::atomic<uint64_t> call_id{0};
  std::atomic<int64_t> watch_ns{0};
  std::atomic<uint32_t> watch_seq{0};
  bool watched = false;  // known to the watchdog
  std::atomic<uint64_t> kill_id{0};
  Trap trap = Trap::kNone;
  int exit_code = 0;
  const char* detail = nullptr;
  // When the current guarded call's deadline fires (max: none); host code
  // sizes its own timeouts by it (call_time_left).
  std::chrono::steady_clock::time_point call_deadline = std::chrono::steady_clock::time_point::max();
  // Requested by host code, taken by finish_host_call().
  Trap requested = Trap::kNone;
  int requested_exit = 0;
  char requested_detail[256] = "";
  uintptr_t stack_lo = 0, stack_hi = 0;
  pthread_t thread{};
  bool ready = false;
  // Exception handling state (wasm EH proposal).
  uint32_t exception_tag = 0, exception_size = 0;
  unsigned char exception[256];

  ~ThreadState();  // leaves the watchdog
};

thread_local ThreadState t_state;

// The guard region at the bottom of a guest thread's stack (see
// kGuestStackGuardBytes), given back to the stack when the thread exits:
// glibc reuses stacks of finished threads for new ones.
struct StackGuard {
  uintptr_t lo = 0;
  ~StackGuard() {
    if (lo) ::mprotect(reinterpret_cast<void*>(lo), kGuestStackGuardBytes, PROT_READ | PROT_WRITE);
  }
};
thread_local StackGuard t_stack_guard;

// The alternate signal stack of a thread that ran a guest, unmapped when the
// thread exits: threads come and go (glibc reuses their stacks, not this), and
// each kept mapping would cost 64 KiB and one of the process's limited
// mappings (vm.max_map_count) for as long as the node runs.
struct AltStack {
  void* base = nullptr;
  ~AltStack() {
    if (base == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    ::munmap(base, kAltStackBytes);
  }
};
thread_local AltStack t_alt_stack;
thread_local MemoryPolicy t_policy;

std::once_flag g_init_once;
struct sigaction g_prev_segv, g_prev_bus;

[[noreturn]] void jump_out(ThreadState& ts, Trap trap) {
  ts.trap = trap;
  // From here to the landing in guarded_call (which restores in_guest) a
  // deadline signal (the watchdog repeats it; the handlers are SA_NODEFER)
  // must find nothing to do. The signal handlers clear in_guest themselves
  // before any call that does not return: ASan puts its
  // __asan_handle_no_return hook before each such call, and that hook is
  // not async-signal-safe (docs/testing.md).
  ts.in_guest = 0;
  siglongjmp(*ts.trap_target, 1);
}

void restore_and_return(int sig) {
  // Not a guest fault: fall back to the default action so the host crash is
  // reported as what it is (the faulting instruction runs again).
  signal(sig, SIG_DFL);
}

void on_fault(int sig, siginfo_t* info, void*) {
  ThreadState& ts = t_state;
  if (!ts.in_guest || ts.trap_target == nullptr) return restore_and_return(sig);
  // A fault in host code is a host bug: jumping over its frames would skip
  // destructors and leave locks held, so it is reported as what it is.
  if (ts.in_host) return restore_and_return(sig);
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  Trap trap = Trap::kNone;
  if (MemoryPool::instance().contains(info->si_addr)) {
    trap = Trap::kOutOfBounds;
  } else if (ts.stack_lo && addr + kStackGuardSlack >= ts.stack_lo && addr < ts.stack_hi) {
    trap = Trap::kStackExhausted;
  }
  if (trap != Trap::kNone) {
    // Cleared before the call below (see jump_out).
    ts.in_guest = 0;
    ts.in_host = 0;
    jump_out(ts, trap);
  }
  restore_and_return(sig);
}

// Where a deadline sends the interrupted guest: runs on the thread's own
// stack after the signal handler has returned, out of signal context.
[[noreturn]] void deadline_landing() { siglongjmp(*t_state.trap_target, 1); }

// Makes the interrupted context resume in deadline_landing, as if the guest
// had called it, on the guest's stack below its red zone. False when the
// architecture is not known or too little stack is left for the landing
// (a guest deep in recursion): then the handler jumps itself.
bool redirect_to_landing(const ThreadState& ts, void* context) {
  constexpr uintptr_t kLandingStack = 64 * 1024;  // generous for siglongjmp (and a sanitizer's hook)
  auto* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
  uintptr_t sp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  uintptr_t sp = static_cast<uintptr_t>(uc->uc_mcontext.sp);
#else
  return false;
#endif
  if (ts.stack_lo == 0 || sp < ts.stack_lo + kGuestStackGuardBytes + kLandingStack || sp > ts.stack_hi) return false;
  sp = ((sp - 128) & ~uintptr_t{15});  // below the x86-64 red zone, 16-byte aligned
#if defined(__x86_64__)
  sp -= 8;  // as after a call: the return address slot
  uc->uc_mcontext.gregs[REG_RSP] = static_cast<greg_t>(sp);
  uc->uc_mcontext.gregs[REG_RIP] = reinterpret_cast<greg_t>(&deadline_landing);
#elif defined(__aarch64__)
  uc->uc_mcontext.sp = sp;
  uc->uc_mcontext.pc = reinterpret_cast<uintptr_t>(&deadline_landing);
#endif
  return true;
}

void on_deadline(int, siginfo_t*, void* context) {
  ThreadState& ts = t_state;
  if (!ts.in_guest || ts.trap_target == nullptr) return;
  if (ts.kill_id.load(std::memory_order_acquire) != ts.call_id.load(std::memory_order_relaxed)) return;
  if (ts.in_host) {
    ts.deadline_pending = 1;  // taken when the host function returns to the guest
    return;
  }
  // The jump itself runs after this handler returns, on the guest's stack:
  // nothing but flag stores happens in signal context on the alternate
  // stack (a jump from there runs __asan_handle_no_return on it, which reads
  // /proc/self/maps through malloc: not async-signal-safe). Later deliveries
  // find in_guest cleared and return.
  ts.trap = Trap::kDeadline;
  ts.in_guest = 0;
  if (redirect_to_landing(ts, context)) return;
  siglongjmp(*ts.trap_target, 1);
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
  struct sigaction dl {};
  dl.sa_sigaction = on_deadline;
  dl.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
  sigemptyset(&dl.sa_mask);
  sigaction(kDeadlineSignal, &dl, nullptr);
}

// False when the thread cannot run guests (no memory for its signal stack).
bool prepare_thread(ThreadState& ts) {
  if (ts.ready) return true;
  // Per-thread alternate stack: the fault handler must run when the guest
  // has used up the normal stack. Without one, a guest's stack overflow
  // would kill the process: no guest runs then.
  void* alt = mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (alt == MAP_FAILED) return false;
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = kAltStackBytes;
  if (sigaltstack(&ss, nullptr) != 0) {
    ::munmap(alt, kAltStackBytes);
    return false;
  }
  t_alt_stack.base = alt;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* lo = nullptr;
    size_t size = 0;
    pthread_attr_getstack(&attr, &lo, &size);
    ts.stack_lo = reinterpret_cast<uintptr_t>(lo);
    ts.stack_hi = ts.stack_lo + size;
    pthread_attr_destroy(&attr);
  }
  // A guard region larger than any frame that is not probed page by page
  // (generated code is compiled with -fstack-clash-protection, so only host
  // frames and frames under a page remain), at the bottom of the stack:
  // glibc's own guard is a single page, which a frame can step over into the
  // mapping below (often another thread's stack). The main thread's stack
  // grows on demand and has the kernel's guard gap (1 MiB) instead.
  const bool main_thread = ::getpid() == static_cast<pid_t>(::gettid());
  if (!main_thread && ts.stack_lo && ts.stack_hi - ts.stack_lo >= 4 * kGuestStackGuardBytes &&
      ::mprotect(reinterpret_cast<void*>(ts.stack_lo), kGuestStackGuardBytes, PROT_NONE) == 0) {
    t_stack_guard.lo = ts.stack_lo;
  }
  // Threads that block signals (an HTTP worker leaves SIGTERM to a signalfd)
  // must still receive the ones guest faults and deadlines are made of.
  sigset_t ours;
  sigemptyset(&ours);
  sigaddset(&ours, SIGSEGV);
  sigaddset(&ours, SIGBUS);
  sigaddset(&ours, kDeadlineSignal);
  pthread_sigmask(SIG_UNBLOCK, &ours, nullptr);
  ts.thread = pthread_self();
  ts.ready = true;
  return true;
}

// Watchdog: one thread, sleeping until the earliest deadline of the threads
// it watches. Each thread publishes its innermost armed call (id, deadline)
// in its own ThreadState under a sequence count: arming and disarming a call
// take no lock and wake nobody unless the deadline is earlier than the
// watchdog's next wake-up.
class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog* w = new Watchdog();
    return *w;
  }

  // Publishes `ts`'s watched call: `id` with its deadline (`ns` on the
  // steady clock; 0: none), given `budget_ns` when it is armed (0: restored).
  // Called by the thread `ts` belongs to only.
  void watch(ThreadState& ts, uint64_t id, int64_t ns, int64_t budget_ns = 0) {
    if (!ts.watched) enroll(ts);
    if (budget_ns > 0 && budget_ns < min_budget_ns_.load(std::memory_order_relaxed)) {
      min_budget_ns_.store(budget_ns, std::memory_order_relaxed);  // (a lost race: a wake-up sooner or later)
    }
    const uint32_t seq = ts.watch_seq.load(std::memory_order_relaxed);
    ts.watch_seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    ts.call_id.store(id, std::memory_order_relaxed);
    ts.watch_ns.store(ns, std::memory_order_relaxed);
    // Sequentially consistent, as is the watchdog's store of next_wake_ns_
    // (before its scan): either it sees this deadline or this sees its wake-up.
    ts.watch_seq.store(seq + 2, std::memory_order_seq_cst);
    if (ns != 0 && ns < next_wake_ns_.load(std::memory_order_seq_cst)) {
      std::lock_guard lock(mu_);
      cv_.notify_one();
    }
  }

  // A thread leaves (ThreadState's destructor).
  void leave(ThreadState& ts) {
    std::lock_guard lock(mu_);
    std::erase(threads_, &ts);
  }

 private:
  static constexpr int64_t kNoWake = INT64_MAX;
  static constexpr int64_t kResignalNs = 1'000'000;  // a deferred signal is sent again after 1 ms
  static constexpr int64_t kLookAgainNs = 100'000'000;

  void enroll(ThreadState& ts) {
    std::lock_guard lock(mu_);
    threads_.push_back(&ts);
    ts.watched = true;
    if (!started_) {
      started_ = true;
      std::thread([this] { loop(); }).detach();
    }
  }

  static int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

  // Reads `ts`'s published call; false while the thread is writing it.
  static bool read(const ThreadState& ts, uint64_t& id, int64_t& ns) {
    const uint32_t before = ts.watch_seq.load(std::memory_order_acquire);
    if (before & 1) return false;
    id = ts.call_id.load(std::memory_order_relaxed);
    ns = ts.watch_ns.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    return ts.watch_seq.load(std::memory_order_relaxed) == before;
  }

  void loop() {
    std::unique_lock lock(mu_);
    bool active = true;  // a call was armed, or woke this thread, since it last slept
    for (;;) {
      // A call armed during the scan finds 0 here and notifies (under mu_,
      // so after this thread waits again): none is missed.
      next_wake_ns_.store(0, std::memory_order_seq_cst);
      const int64_t now = steady_ns();
      int64_t next = kNoWake;
      for (ThreadState* ts : threads_) {
        uint64_t id = 0;
        int64_t ns = 0;
        if (!read(*ts, id, ns)) {
          next = std::min(next, now + kResignalNs);  // being written: look again soon
          continue;
        }
        if (ns == 0) continue;
        active = true;
        if (ns <= now) {
          // Sent again every 1 ms until the call is gone: a signal that
          // hits host code is deferred, and the guest takes it on return.
          ts->kill_id.store(id, std::memory_order_release);
          pthread_kill(ts->thread, kDeadlineSignal);
          next = std::min(next, now + kResignalNs);
        } else {
          next = std::min(next, ns);
        }
      }
      // Nothing armed after calls came and went: more may be coming.
      // Sleeping for good now would make the next one's arming wake this
      // thread, so look again first, in under half the shortest budget any
      // call had (a call armed meanwhile ends no earlier than that wake-up).
      if (next == kNoWake && active) {
        next = now + std::min(kLookAgainNs, min_budget_ns_.load(std::memory_order_relaxed) / 2);
      }
      active = false;
      next_wake_ns_.store(next, std::memory_order_seq_cst);
      if (next == kNoWake) {
        cv_.wait(lock);
        active = true;
      } else if (cv_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next))) ==
                 std::cv_status::no_timeout) {
        active = true;
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ThreadState*> threads_;
  std::atomic<int64_t> next_wake_ns_{kNoWake};
  std::atomic<int64_t> min_budget_ns_{kLookAgainNs * 2};
  bool started_ = false;
};

ThreadState::~ThreadState() {
  if (watched) Watchdog::instance().leave(*this);
}

int64_t watch_ns_of(std::chrono::steady_clock::time_point deadline) {
  return deadline == std::chrono::steady_clock::time_point::max() ? 0 : deadline.time_since_epoch().count();
}

std::atomic<uint64_t> g_next_call_id{1};
uint64_t g_funcref_key = 0;  // set once by initialize()

struct FuncType {
  std::vector<wasm_rt_type_t> params, results;
};
std::mutex g_types_mu;
std::vector<FuncType>* g_types = new std::vector<FuncType>();

}  // namespace

void initialize() {
  // Every guarded call passes here: once done, one load (std::call_once
  // sets thread-local state on each call before it looks).
  static std::atomic<bool> done{false};
  if (done.load(std::memory_order_acquire)) return;
  std::call_once(g_init_once, [] {
    install_handlers();
    (void)MemoryPool::instance();
    std::random_device rd;
    g_funcref_key = (uint64_t{rd()} << 32) ^ rd();
  });
  done.store(true, std::memory_order_release);
}

Outcome guarded_call(void (*fn)(void*), void* arg, const CallLimits& limits) {
  initialize();
  ThreadState& ts = t_state;
  if (!prepare_thread(ts)) {
    Outcome refused;
    refused.trap = Trap::kHost;
    refused.detail = "no memory for the thread's signal stack";
    return refused;
  }

  // Save the outer call's state: host functions may call back into guests.
  sigjmp_buf* outer_target = ts.trap_target;
  WASM_RT_UNWIND_TARGET* outer_unwind = ts.unwind_target;
  sig_atomic_t outer_in_guest = ts.in_guest, outer_in_host = ts.in_host;
  uint64_t outer_id = ts.call_id.load(std::memory_order_relaxed);
  auto outer_deadline = ts.call_deadline;

  sigjmp_buf target;
  uint64_t id = 0;
  bool armed = limits.deadline.count() > 0;
  if (armed) {
    // A nested call ends by its own deadline or its caller's, whichever is first.
    id = g_next_call_id.fetch_add(1, std::memory_order_relaxed);
    const auto started = limits.started != std::chrono::steady_clock::time_point{}
                             ? limits.started
                             : std::chrono::steady_clock::now();
    ts.call_deadline = std::min(started + limits.deadline, outer_deadline);
    Watchdog::instance().watch(ts, id, watch_ns_of(ts.call_deadline), limits.deadline.count());
  }
  Outcome out;
  ts.trap = Trap::kNone;
  ts.detail = nullptr;
  ts.requested = Trap::kNone;
  ts.trap_target = &target;
  ts.unwind_target = reinterpret_cast<WASM_RT_UNWIND_TARGET*>(&target);
  if (sigsetjmp(target, 0) == 0) {
    ts.in_host = 0;
    ts.in_guest = 1;
    fn(arg);
  }
  ts.in_guest = outer_in_guest;
  ts.in_host = outer_in_host;
  ts.deadline_pending = 0;
  if (armed) Watchdog::instance().watch(ts, outer_id, watch_ns_of(outer_deadline));
  ts.call_deadline = outer_deadline;
  ts.trap_target = outer_target;
  ts.unwind_target = outer_unwind;
  out.trap = ts.trap;
  out.exit_code = ts.exit_code;
  if (ts.detail) out.detail = ts.detail;
  ts.trap = Trap::kNone;
  return out;
}

void exit_guest(int exit_code) {
  ThreadState& ts = t_state;
  ts.exit_code = exit_code;
  ts.in_host = 0;
  jump_out(ts, Trap::kExit);
}

void trap_from_host(Trap trap, const char* detail) {
  ThreadState& ts = t_state;
  ts.detail = detail;
  ts.in_host = 0;
  jump_out(ts, trap);
}

HostScope::HostScope() : saved_(t_state.in_host) { t_state.in_host = 1; }
HostScope::~HostScope() { t_state.in_host = saved_; }

void request_exit(int exit_code) {
  ThreadState& ts = t_state;
  ts.requested = Trap::kExit;
  ts.requested_exit = exit_code;
}

void request_trap(Trap trap, const char* detail) {
  ThreadState& ts = t_state;
  ts.requested = trap;
  std::snprintf(ts.requested_detail, sizeof ts.requested_detail, "%s", detail ? detail : "");
}

bool deadline_pending() { return t_state.deadline_pending != 0; }

uint64_t funcref_identity_key() { return g_funcref_key; }

std::chrono::nanoseconds call_time_left() {
  auto at = t_state.call_deadline;
  if (at == std::chrono::steady_clock::time_point::max()) return std::chrono::nanoseconds::max();
  return std::max(std::chrono::nanoseconds(0), at - std::chrono::steady_clock::now());
}

bool host_stack_low() {
  const ThreadState& ts = t_state;
  auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return ts.stack_lo != 0 && here < ts.stack_lo + kHostStackReserve;
}

void finish_host_call() {
  ThreadState& ts = t_state;
  if (ts.in_host || !ts.in_guest || ts.trap_target == nullptr) return;  // nested host code
  if (ts.requested == Trap::kExit) {
    ts.requested = Trap::kNone;
    exit_guest(ts.requested_exit);
  }
  if (ts.requested != Trap::kNone) {
    Trap trap = ts.requested;
    ts.requested = Trap::kNone;
    trap_from_host(trap, ts.requested_detail);
  }
  if (ts.deadline_pending) {
    ts.deadline_pending = 0;
    jump_out(ts, Trap::kDeadline);
  }
}

MemoryPolicyScope::MemoryPolicyScope(const MemoryPolicy& policy) : saved_(t_policy) {
  t_policy = policy;
}
MemoryPolicyScope::~MemoryPolicyScope() { t_policy = saved_; }

PoolStats pool_stats() {
  auto& pool = MemoryPool::instance();
  return {pool.slots_total(), pool.slots_in_use(), pool.slots_free()};
}

void set_reset_memset_limit(uint64_t bytes) { MemoryPool::instance().set_reset_memset_limit(bytes); }

uint32_t memory_size_field(uint64_t bytes) {
  return bytes > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(bytes);
}

std::string outcome_message(const Outcome& outcome) {
  std::string why = trap_message(outcome.trap);
  if (!outcome.detail.empty()) why += ": " + outcome.detail;
  return why;
}

const char* trap_message(Trap trap) {
  switch (trap) {
    case Trap::kNone: return "no trap";
    case Trap::kOutOfBounds: return "out of bounds memory access";
    case Trap::kIntegerOverflow: return "integer overflow";
    case Trap::kDivideByZero: return "integer divide by zero";
    case Trap::kInvalidConversion: return "invalid conversion to integer";
    case Trap::kUnreachable: return "unreachable executed";
    case Trap::kIndirectCall: return "indirect call type mismatch or null/out-of-range element";
    case Trap::kUncaughtException: return "uncaught exception";
    case Trap::kStackExhausted: return "call stack exhausted";
    case Trap::kDeadline: return "deadline exceeded";
    case Trap::kExit: return "exit";
    case Trap::kHost: return "host error";
  }
  return "unknown trap";
}

const char* trap_name(Trap trap) {
  switch (trap) {
    case Trap::kNone: return "none";
    case Trap::kOutOfBounds: return "out_of_bounds";
    case Trap::kIntegerOverflow: return "integer_overflow";
    case Trap::kDivideByZero: return "divide_by_zero";
    case Trap::kInvalidConversion: return "invalid_conversion";
    case Trap::kUnreachable: return "unreachable";
    case Trap::kIndirectCall: return "indirect_call";
    case Trap::kUncaughtException: return "uncaught_exception";
    case Trap::kStackExhausted: return "stack_exhausted";
    case Trap::kDeadline: return "deadline";
    case Trap::kExit: return "exit";
    case Trap::kHost: return "host";
  }
  return "unknown";
}

}  // namespace wink::runtime

namespace wink::runtime {
namespace {

// Tables stay small; plain heap arrays, bounded so a guest cannot exhaust the host.
constexpr uint32_t kMaxTableElements = 10'000'000;

template <typename Table, typename Elem>
void allocate_table(Table* table, uint32_t elements, uint32_t max_elements, Elem null_value) {
  wink::runtime::HostScope host;
  if (elements > kMaxTableElements) {
    wink::runtime::trap_from_host(Trap::kHost, "table too large");
  }
  table->size = elements;
  table->max_size = max_elements;
  table->data = nullptr;
  if (elements) {
    table->data = static_cast<Elem*>(std::calloc(elements, sizeof(Elem)));
    for (uint32_t i = 0; i < elements; ++i) table->data[i] = null_value;
  }
}

template <typename Table, typename Elem>
uint32_t grow_table(Table* table, uint32_t delta, Elem init) {
  wink::runtime::HostScope host;
  uint32_t old = table->size;
  uint64_t wanted = uint64_t{old} + delta;
  if (wanted > table->max_size || wanted > kMaxTableElements) return UINT32_MAX;
  if (delta == 0) return old;
  auto* data = static_cast<Elem*>(std::realloc(table->data, wanted * sizeof(Elem)));
  if (data == nullptr) return UINT32_MAX;
  for (uint64_t i = old; i < wanted; ++i) data[i] = init;
  table->data = data;
  table->size = static_cast<uint32_t>(wanted);
  return old;
}

}  // namespace
}  // namespace wink::runtime

// ---- The C contract the generated code links against (wasm-rt.h). ----

using wink::runtime::MemoryPool;
using wink::runtime::Trap;
using wink::runtime::t_state;
using wink::runtime::t_policy;

extern "C" {

// Funcrefs at the export boundary (artifact_abi.h): a keyed mix of the
// function and instance addresses, so equal references give equal
// identities without the value telling where anything is mapped. Pure
// arithmetic: it runs in guest context, where a deadline may jump out.
uint64_t wink_funcref_identity(const wasm_rt_funcref_t* ref) {
  if (ref->func == nullptr) return 0;
  auto mix = [](uint64_t x) {  // splitmix64's finalizer: a bijection
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  const uint64_t key = wink::runtime::funcref_identity_key();
  uint64_t id = mix(reinterpret_cast<uintptr_t>(ref->func) ^ key) ^
                mix(reinterpret_cast<uintptr_t>(ref->module_instance) + key);
  return id ? id : 1;
}

wasm_rt_funcref_t wink_funcref_argument(uint64_t slot) {
  if (slot != 0) wasm_rt_trap(WASM_RT_TRAP_CALL_INDIRECT);
  return wasm_rt_funcref_null_value;
}

void wasm_rt_init(void) { wink::runtime::initialize(); }
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t code) {
  Trap trap = Trap::kHost;
  switch (code) {
    case WASM_RT_TRAP_NONE: trap = Trap::kHost; break;
    case WASM_RT_TRAP_OOB: trap = Trap::kOutOfBounds; break;
    case WASM_RT_TRAP_INT_OVERFLOW: trap = Trap::kIntegerOverflow; break;
    case WASM_RT_TRAP_DIV_BY_ZERO: trap = Trap::kDivideByZero; break;
    case WASM_RT_TRAP_INVALID_CONVERSION: trap = Trap::kInvalidConversion; break;
    case WASM_RT_TRAP_UNREACHABLE: trap = Trap::kUnreachable; break;
    case WASM_RT_TRAP_CALL_INDIRECT: trap = Trap::kIndirectCall; break;
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: trap = Trap::kUncaughtException; break;
    case WASM_RT_TRAP_EXHAUSTION: trap = Trap::kStackExhausted; break;
  }
  auto& ts = t_state;
  if (ts.trap_target == nullptr) {
    std::fprintf(stderr, "wink: wasm trap outside a guarded call: %s\n",
                 wink::runtime::trap_message(trap));
    std::abort();
  }
  ts.in_host = 0;
  wink::runtime::jump_out(ts, trap);
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "No error";
    case WASM_RT_TRAP_OOB: return "Out-of-bounds access in linear memory or a table";
    case WASM_RT_TRAP_INT_OVERFLOW: return "Integer overflow on divide or truncation";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "Integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "Conversion from NaN to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "Unreachable instruction executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "Invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "Uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "Call stack exhausted";
  }
  return "invalid trap code";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  wink::runtime::FuncType ft;
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params; ++i) ft.params.push_back(static_cast<wasm_rt_type_t>(va_arg(ap, int)));
  for (uint32_t i = 0; i < results; ++i) ft.results.push_back(static_cast<wasm_rt_type_t>(va_arg(ap, int)));
  va_end(ap);
  std::lock_guard lock(wink::runtime::g_types_mu);
  auto& types = *wink::runtime::g_types;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].params == ft.params && types[i].results == ft.results) return static_cast<uint32_t>(i + 1);
  }
  types.push_back(std::move(ft));
  return static_cast<uint32_t>(types.size());  // 0 stays "no type" (null funcref)
}

static std::atomic<uint32_t> g_next_tag{1};
uint32_t wasm_rt_register_tag(uint32_t) { return g_next_tag.fetch_add(1); }

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void* values) {
  auto& ts = t_state;
  if (size > sizeof ts.exception) wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
  ts.exception_tag = tag;
  ts.exception_size = size;
  if (size) std::memcpy(ts.exception, values, size);
}

void wasm_rt_throw(void) {
  auto& ts = t_state;
  if (ts.unwind_target == nullptr ||
      ts.unwind_target == reinterpret_cast<WASM_RT_UNWIND_TARGET*>(ts.trap_target)) {
    wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
  }
  siglongjmp(*reinterpret_cast<sigjmp_buf*>(ts.unwind_target), WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) { return t_state.unwind_target; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target) { t_state.unwind_target = target; }
uint32_t wasm_rt_exception_tag(void) { return t_state.exception_tag; }
uint32_t wasm_rt_exception_size(void) { return t_state.exception_size; }
void* wasm_rt_exception(void) { return t_state.exception; }

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  wink::runtime::HostScope host;
  const uint32_t limit = std::min<uint32_t>(std::min<uint32_t>(max_pages, wink::runtime::kMaxMemoryPages),
                                            t_policy.max_pages);
  memory->data = nullptr;
  memory->pages = 0;
  memory->size = 0;
  memory->max_pages = max_pages;
  if (initial_pages > limit) {
    wink::runtime::trap_from_host(Trap::kHost, "initial memory exceeds the instance memory limit");
  }
  const uint64_t bytes = uint64_t{initial_pages} * MemoryPool::kPageBytes;
  uint8_t* base = MemoryPool::instance().acquire(bytes, limit);
  if (base == nullptr) {
    wink::runtime::trap_from_host(Trap::kHost, "no free linear-memory slot (pool exhausted)");
  }
  memory->data = base;
  memory->pages = initial_pages;
  memory->size = wink::runtime::memory_size_field(bytes);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  wink::runtime::HostScope host;
  const uint32_t old_pages = memory->pages;
  if (delta == 0) return old_pages;
  const uint64_t new_pages = uint64_t{old_pages} + delta;
  if (new_pages > memory->max_pages || new_pages > wink::runtime::kMaxMemoryPages) return UINT32_MAX;
  if (memory->data == nullptr) return UINT32_MAX;
  // The pool checks the instance's page limit and grows from its own record.
  if (!MemoryPool::instance().grow(memory->data, new_pages * MemoryPool::kPageBytes)) return UINT32_MAX;
  memory->pages = static_cast<uint32_t>(new_pages);
  memory->size = wink::runtime::memory_size_field(new_pages * MemoryPool::kPageBytes);
  return old_pages;
}

// Releases take locks (the pool's, malloc's): a deadline must not jump out
// of them when an instance is freed inside another guest's host call.
void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  wink::runtime::HostScope host;
  if (memory->data == nullptr) return;
  // The pool clears what it committed, whatever `size` says.
  MemoryPool::instance().release(memory->data);
  memory->data = nullptr;
  memory->size = 0;
  memory->pages = 0;
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements,
                                    uint32_t max_elements) {
  wink::runtime::allocate_table(table, elements, max_elements, wasm_rt_funcref_null_value);
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  wink::runtime::HostScope host;
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements,
                                      uint32_t max_elements) {
  wink::runtime::allocate_table(table, elements, max_elements, wasm_rt_externref_null_value);
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* table) {
  wink::runtime::HostScope host;
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta,
                                    wasm_rt_funcref_t init) {
  return wink::runtime::grow_table(table, delta, init);
}
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta,
                                      wasm_rt_externref_t init) {
  return wink::runtime::grow_table(table, delta, init);
}

}  // extern "C"
