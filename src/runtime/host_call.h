// The one boundary every host import (WASI, wink_v1) goes through between the
// generated code's call and the host function's body:
//
//   guest ──► Z_<module>Z_<name> ──► host_call(body, on_failure) ──► body()
//                                     │ HostScope: deadline deferred
//                                     │ exception ──► on_failure ──► error code / trap
//                                     └ finish_host_call(): requested exit/trap, deadline
//
// Nothing thrown in host code (SQLite, hiredis, libcurl, std::string,
// bad_alloc) reaches the generated C code (where it would be std::terminate),
// and the only longjmp back to guarded_call happens in finish_host_call(),
// after the body's C++ objects are destroyed.
#pragma once

#include <exception>
#include <new>
#include <type_traits>

#include "runtime/runtime.h"

namespace wink::runtime {

// Why the body could not give its own answer.
enum class HostFailure {
  kOutOfMemory,  // std::bad_alloc
  kException,    // any other exception
};

// Runs `body()` as a host import. `on_failure(HostFailure, const char* why)`
// turns an exception into the import's result (an error code); it must not
// throw. For imports without a result (proc_exit) an exception ends the guest
// call with a host trap. When less than kHostStackReserve of stack is left
// the body does not run and the guest traps with stack exhaustion.
template <typename Body, typename OnFailure>
auto host_call(Body&& body, OnFailure&& on_failure) noexcept -> decltype(body()) {
  using Result = decltype(body());
  if constexpr (std::is_void_v<Result>) {
    if (host_stack_low()) {
      request_trap(Trap::kStackExhausted, "too little stack left for a host call");
    } else {
      HostScope scope;
      try {
        body();
      } catch (const std::exception& e) {
        request_trap(Trap::kHost, e.what());
      } catch (...) {
        request_trap(Trap::kHost, "host function failed");
      }
    }
    finish_host_call();
  } else {
    Result result{};
    if (host_stack_low()) {
      request_trap(Trap::kStackExhausted, "too little stack left for a host call");
    } else {
      HostScope scope;
      try {
        result = body();
      } catch (const std::bad_alloc&) {
        result = on_failure(HostFailure::kOutOfMemory, "out of memory");
      } catch (const std::exception& e) {
        result = on_failure(HostFailure::kException, e.what());
      } catch (...) {
        result = on_failure(HostFailure::kException, "unknown exception");
      }
    }
    finish_host_call();
    return result;
  }
}

}  // namespace wink::runtime

// Named parameter lists from the type lists of the import X-macros, so the
// extern "C" entry points can be generated in one place:
//   WINK_HOST_PARAMS((uint32_t, uint64_t)) -> , uint32_t a1, uint64_t a2
//   WINK_HOST_ARGS((uint32_t, uint64_t))   -> , a1, a2
#define WINK_HOST_COUNT_(...) WINK_HOST_COUNT_I_(__VA_ARGS__ __VA_OPT__(, ) 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define WINK_HOST_COUNT_I_(_1, _2, _3, _4, _5, _6, _7, _8, _9, N, ...) N
#define WINK_HOST_CAT_(a, b) WINK_HOST_CAT_I_(a, b)
#define WINK_HOST_CAT_I_(a, b) a##b
#define WINK_HOST_P0_()
#define WINK_HOST_P1_(t1) , t1 a1
#define WINK_HOST_P2_(t1, t2) WINK_HOST_P1_(t1), t2 a2
#define WINK_HOST_P3_(t1, t2, t3) WINK_HOST_P2_(t1, t2), t3 a3
#define WINK_HOST_P4_(t1, t2, t3, t4) WINK_HOST_P3_(t1, t2, t3), t4 a4
#define WINK_HOST_P5_(t1, t2, t3, t4, t5) WINK_HOST_P4_(t1, t2, t3, t4), t5 a5
#define WINK_HOST_P6_(t1, t2, t3, t4, t5, t6) WINK_HOST_P5_(t1, t2, t3, t4, t5), t6 a6
#define WINK_HOST_P7_(t1, t2, t3, t4, t5, t6, t7) WINK_HOST_P6_(t1, t2, t3, t4, t5, t6), t7 a7
#define WINK_HOST_P8_(t1, t2, t3, t4, t5, t6, t7, t8) WINK_HOST_P7_(t1, t2, t3, t4, t5, t6, t7), t8 a8
#define WINK_HOST_P9_(t1, t2, t3, t4, t5, t6, t7, t8, t9) \
  WINK_HOST_P8_(t1, t2, t3, t4, t5, t6, t7, t8), t9 a9
#define WINK_HOST_A0_()
#define WINK_HOST_A1_(t1) , a1
#define WINK_HOST_A2_(t1, t2) WINK_HOST_A1_(t1), a2
#define WINK_HOST_A3_(t1, t2, t3) WINK_HOST_A2_(t1, t2), a3
#define WINK_HOST_A4_(t1, t2, t3, t4) WINK_HOST_A3_(t1, t2, t3), a4
#define WINK_HOST_A5_(t1, t2, t3, t4, t5) WINK_HOST_A4_(t1, t2, t3, t4), a5
#define WINK_HOST_A6_(t1, t2, t3, t4, t5, t6) WINK_HOST_A5_(t1, t2, t3, t4, t5), a6
#define WINK_HOST_A7_(t1, t2, t3, t4, t5, t6, t7) WINK_HOST_A6_(t1, t2, t3, t4, t5, t6), a7
#define WINK_HOST_A8_(t1, t2, t3, t4, t5, t6, t7, t8) WINK_HOST_A7_(t1, t2, t3, t4, t5, t6, t7), a8
#define WINK_HOST_A9_(t1, t2, t3, t4, t5, t6, t7, t8, t9) \
  WINK_HOST_A8_(t1, t2, t3, t4, t5, t6, t7, t8), a9
#define WINK_HOST_PARAMS_I_(...) WINK_HOST_CAT_(WINK_HOST_P, WINK_HOST_CAT_(WINK_HOST_COUNT_(__VA_ARGS__), _))(__VA_ARGS__)
#define WINK_HOST_ARGS_I_(...) WINK_HOST_CAT_(WINK_HOST_A, WINK_HOST_CAT_(WINK_HOST_COUNT_(__VA_ARGS__), _))(__VA_ARGS__)
#define WINK_HOST_PARAMS(types) WINK_HOST_PARAMS_I_ types
#define WINK_HOST_ARGS(types) WINK_HOST_ARGS_I_ types
