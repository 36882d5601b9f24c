// The runtime under wasm2c-generated code (our implementation of wasm-rt.h):
// pooled linear memories with guard pages, tables, traps as values, deadlines.
//
// Guest code runs inside guarded_call(): out-of-bounds accesses and stack
// exhaustion arrive as SIGSEGV and are turned into a Trap for the caller;
// a deadline is enforced by a watchdog thread that signals the guest thread.
// Everything is thread-safe: instances run on many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace wink::runtime {

enum class Trap : int {
  kNone = 0,
  kOutOfBounds,        // linear memory or table access out of bounds
  kIntegerOverflow,    // signed division overflow or float->int out of range
  kDivideByZero,
  kInvalidConversion,  // NaN to integer
  kUnreachable,
  kIndirectCall,       // call_indirect: null, out of range or signature mismatch
  kUncaughtException,
  kStackExhausted,
  kDeadline,           // the call ran past its deadline and was stopped
  kExit,               // proc_exit: not an error by itself, see Outcome::exit_code
  kHost,               // a host function or the instantiation refused to go on
};

// Human-readable trap kind, e.g. "out of bounds memory access".
const char* trap_message(Trap trap);
// Short stable name, e.g. "out_of_bounds", for logs and JSON.
const char* trap_name(Trap trap);

struct Outcome {
  Trap trap = Trap::kNone;
  int exit_code = 0;   // meaningful when trap == kExit
  std::string detail;  // extra context from host traps
  bool ok() const { return trap == Trap::kNone; }
  bool exited() const { return trap == Trap::kExit; }
};

// trap_message, then ": " and the detail when there is one.
std::string outcome_message(const Outcome& outcome);

struct CallLimits {
  // Zero means no deadline.
  std::chrono::nanoseconds deadline{0};
  // The caller's read of the steady clock just before the call, which the
  // deadline counts from; unset: read here. (A request already reads it for
  // its own timing, and a read costs ~50 ns on these VMs.)
  std::chrono::steady_clock::time_point started{};
};

// Runs fn(arg) with traps turned into an Outcome. fn must be guest code (or the
// generated instantiate/free); it must not own C++ objects with destructors
// across the call, because a trap unwinds by longjmp. Nested calls are allowed.
Outcome guarded_call(void (*fn)(void*), void* arg, const CallLimits& limits = {});

// For host functions: end the current guarded call. Only call when no local
// with a destructor is alive in the host function (the jump skips them).
[[noreturn]] void exit_guest(int exit_code);
[[noreturn]] void trap_from_host(Trap trap, const char* detail);

// Marks host code entered from a guest: the deadline signal is deferred while
// it is alive (a wait in host code is interrupted with EINTR and must check
// deadline_pending()). Host imports get one from host_call()
// (runtime/host_call.h); the deadline is then taken by finish_host_call().
class HostScope {
 public:
  HostScope();
  ~HostScope();
  HostScope(const HostScope&) = delete;
  HostScope& operator=(const HostScope&) = delete;

 private:
  int saved_;
};

// The host-import boundary (runtime/host_call.h). Host code never longjmps
// itself: it requests the end of the guest call, and finish_host_call() jumps
// once the host function's C++ objects are all destroyed.
//
// Ends the guest call with proc_exit(exit_code) / a trap when the host call finishes.
void request_exit(int exit_code);
void request_trap(Trap trap, const char* detail);  // detail is copied (up to 255 bytes)
// True when a deadline fired while in host code: a waiting host function
// stops waiting and returns (its result is discarded).
bool deadline_pending();
// The random key of wink_funcref_identity (artifact_abi.h), fixed per process.
uint64_t funcref_identity_key();
// Time left before the deadline of the guest call running on this thread
// (nanoseconds::max() when it has none): host code bounds its waits by it.
std::chrono::nanoseconds call_time_left();
// True when less than kHostStackReserve of this thread's stack is left: a
// host function (SQLite, libcurl, ...) must not start, since running out of
// stack inside it could not be recovered.
inline constexpr uint64_t kHostStackReserve = 256 * 1024;
bool host_stack_low();
// Called by host_call() with no C++ object alive in host frames: takes a
// requested exit or trap, or a pending deadline (longjmp to guarded_call).
void finish_host_call();

// Limits applied to memories created by instantiate() on this thread while
// the scope is alive (the generated code calls wasm_rt_allocate_memory).
struct MemoryPolicy {
  uint32_t max_pages = 65536;  // 64 KiB pages; 65536 = 4 GiB
};
class MemoryPolicyScope {
 public:
  explicit MemoryPolicyScope(const MemoryPolicy& policy);
  ~MemoryPolicyScope();
  MemoryPolicyScope(const MemoryPolicyScope&) = delete;
  MemoryPolicyScope& operator=(const MemoryPolicyScope&) = delete;

 private:
  MemoryPolicy saved_;
};

// Pool statistics, for benchmarks and the admin API.
struct PoolStats {
  uint64_t slots_reserved = 0;
  uint64_t slots_in_use = 0;
  uint64_t slots_free = 0;
};
PoolStats pool_stats();

// Bytes of a released slot reset with memset (kept resident); the rest is
// returned to the kernel with madvise. Tunable for benchmarks.
void set_reset_memset_limit(uint64_t bytes);

// Bytes at the bottom of every (non-main) thread's stack that the runtime
// makes inaccessible the first time the thread runs a guest: a frame that
// skips fewer bytes than this cannot reach past the stack, and a fault there
// is reported as Trap::kStackExhausted.
inline constexpr uint64_t kGuestStackGuardBytes = 64 * 1024;

// Largest linear memory: 65536 pages of 64 KiB = 4 GiB. Sizes in bytes are
// 64-bit everywhere in wink; 4 GiB does not fit wasm-rt's 32-bit `size`.
inline constexpr uint32_t kMaxMemoryPages = 65536;

// Value for wasm_rt_memory_t::size (32-bit in wasm-rt.h) of a memory of
// `bytes`: exact below 4 GiB, UINT32_MAX at 4 GiB. Saturating keeps it a
// lower bound, so the bounds checks that read it (bulk memory operations,
// host functions) stay on the safe side; nothing that frees or clears
// memory reads it (the pool keeps its own record).
uint32_t memory_size_field(uint64_t bytes);

// Installs signal handlers; idempotent. guarded_call() calls it lazily.
void initialize();

}  // namespace wink::runtime
