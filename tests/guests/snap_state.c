// wink-guest-flags: -mexec-model=reactor
// Snapshot test guest (reactor): `wizer.initialize` builds state that requests
// read; `handle` is a WAGI entrypoint; poke/peek/counter test isolation.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t squares[100000];  // 400 KB of .bss filled by init
static char* greeting;             // heap allocation made by init
static int initialized;
static int counter;                // bumped by every request: must start from the snapshot
typedef uint32_t (*op_t)(uint32_t);
static uint32_t twice(uint32_t x) { return 2 * x; }
static uint32_t plus1(uint32_t x) { return x + 1; }
static op_t ops[2];  // function pointers: table entries through the snapshot

// wasi-libc caches environ on the first getenv; forgetting it at the end of
// init makes requests read their own environment (WAGI's request variables),
// not init's. See docs/snapshots.md ("Environment").
void __wasilibc_deinitialize_environ(void);

__attribute__((export_name("wizer.initialize"))) void init(void) {
  for (uint32_t i = 0; i < 100000; ++i) squares[i] = i * i;
  greeting = malloc(64);
  const char* who = getenv("SNAP_WHO");
  snprintf(greeting, 64, "hello from init, %s", who ? who : "nobody");
  ops[0] = twice;
  ops[1] = plus1;
  initialized = 1;
  __wasilibc_deinitialize_environ();
}

__attribute__((export_name("handle"))) void handle(void) {
  counter++;
  const char* method = getenv("REQUEST_METHOD");
  printf("Content-Type: text/plain\n\n");
  printf("initialized=%d counter=%d squares[300]=%u ops=%u,%u greeting=%s method=%s\n", initialized,
         counter, squares[300], ops[0](21), ops[1](41), greeting ? greeting : "(null)",
         method ? method : "-");
  fflush(stdout);
}

__attribute__((export_name("poke"))) void poke(uint32_t v) {
  for (uint32_t i = 0; i < 100000; i += 1024) squares[i] = v;
  counter = (int)v;
}
__attribute__((export_name("peek"))) uint32_t peek(void) { return squares[1024] + (uint32_t)counter; }
__attribute__((export_name("is_initialized"))) int is_initialized(void) { return initialized; }
