// Reactor guest for the warm-up benchmark (warmup_http_bench): start-up work
// (`bench.init`: a dataset parsed into a table, ~100 ms) and caches its first
// request builds lazily (a prime sieve and a lookup table, a few hundred ms),
// as an interpreter or a template engine would. Without an init snapshot the
// first request does both. Answers with what it had to build.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink_reactor.h"

#define TABLE_N (1u << 21)
#define SIEVE_N 24000000u
static uint32_t* table;
static uint8_t* sieve;
static uint32_t nprimes;

__attribute__((export_name("bench.init"))) void bench_init(void) {
  table = malloc(TABLE_N * sizeof *table);
  uint32_t x = 2463534242u;
  for (uint32_t i = 0; i < TABLE_N; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    table[i] = x % 1000003u;
  }
}

static void build_caches(void) {
  sieve = calloc(SIEVE_N, 1);
  for (uint32_t i = 2; i < SIEVE_N; ++i) {
    if (sieve[i]) continue;
    ++nprimes;
    for (uint64_t j = (uint64_t)i * i; j < SIEVE_N; j += i) sieve[j] = 1;
  }
}

WINK_HANDLER void handle(void) {
  char q[32] = {0};
  wink_request_get("QUERY_STRING", q, sizeof q - 1);
  const char* built = "nothing";
  if (!table) bench_init(), built = "init and caches";
  if (!sieve) {
    build_caches();
    if (strcmp(built, "nothing") == 0) built = "caches";
  }
  uint32_t k = (uint32_t)atol(q + (strncmp(q, "q=", 2) == 0 ? 2 : 0));
  printf("Content-Type: text/plain\n\nbuilt=%s primes=%u t=%u\n", built, nprimes, table[k % TABLE_N]);
  fflush(stdout);
}
