// wink-guest-flags: -mexec-model=reactor
// Exports one function per trap kind, plus a few well-behaved ones, for the
// engine and `wink run --invoke` tests.
#include <stdint.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("add") int32_t add(int32_t a, int32_t b) { return a + b; }
EXPORT("add64") int64_t add64(int64_t a, int64_t b) { return a + b; }
EXPORT("mulf") float mulf(float a, float b) { return a * b; }
EXPORT("divd") double divd(double a, double b) { return a / b; }

EXPORT("fib") int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

EXPORT("oob") int32_t oob(void) {
  volatile int32_t* p = (volatile int32_t*)(uintptr_t)0xFFFFFFF0u;
  return *p;
}

EXPORT("unreachable") void unreachable_(void) { __builtin_trap(); }

EXPORT("div") int32_t div_(int32_t a, int32_t b) { return a / b; }

EXPORT("trunc") int32_t trunc_(double d) { return __builtin_wasm_trunc_s_i32_f64(d); }

typedef int32_t (*binop)(int32_t, int32_t);
typedef int64_t (*unop64)(int64_t);
static volatile binop table_entry = add;
EXPORT("bad_indirect") int64_t bad_indirect(void) {
  unop64 wrong = (unop64)(void*)table_entry;
  return wrong(1);
}

// Recursion that keeps nothing in linear memory, so it is the native call
// stack that runs out (a C array here would overflow the shadow stack in
// linear memory first, which is an out-of-bounds trap, as in wasmtime).
static volatile int32_t depth_sink;
EXPORT("recurse") int32_t recurse(int32_t n) {
  depth_sink = n;
  return recurse(n + 1) + depth_sink;
}

static volatile uint64_t spins;
EXPORT("spin") void spin(void) {
  for (;;) spins++;
}

// Grows memory by `pages`; returns the old size in pages or -1.
EXPORT("grow") int32_t grow(int32_t pages) { return (int32_t)__builtin_wasm_memory_grow(0, pages); }
EXPORT("pages") int32_t pages(void) { return (int32_t)__builtin_wasm_memory_size(0); }

// Writes and reads back a byte at `addr` (to test fresh-instance isolation).
static int32_t global_counter;
EXPORT("bump") int32_t bump(void) { return ++global_counter; }
EXPORT("poke") int32_t poke(int32_t addr, int32_t value) {
  volatile uint8_t* p = (volatile uint8_t*)(uintptr_t)addr;
  int32_t old = *p;
  *p = (uint8_t)value;
  return old;
}
