// Reactor guest for the wake benchmark over HTTP (wake_http_bench): init
// (`bench.init`) allocates $MEM_MB MiB minus libc's share and makes every
// byte of it non-zero (the worst case for a standby, as a real heap full of
// data would be). A request `?touch=N` reads one byte in each of N pages
// spread evenly over that heap and bumps a counter; it answers the counter
// and the sum, so the reads cannot be optimised away.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink_reactor.h"

static unsigned char* heap;
static size_t heap_bytes;
static long count;

__attribute__((export_name("bench.init"))) void bench_init(void) {
  const char* mb = getenv("MEM_MB");
  size_t bytes = (size_t)(mb ? atol(mb) : 1) << 20;
  heap_bytes = bytes - (bytes > (1 << 20) ? (512 << 10) : (256 << 10));
  heap = malloc(heap_bytes);
  if (!heap) abort();
  for (size_t i = 0; i < heap_bytes; ++i) heap[i] = (unsigned char)(i * 131 + 7) | 1;
}

WINK_HANDLER void handle(void) {
  char q[32];
  long touch = 1;
  if (wink_request_get("QUERY_STRING", q, sizeof q) > 0 && strncmp(q, "touch=", 6) == 0) touch = atol(q + 6);
  size_t pages = heap_bytes / 4096;
  if (touch < 1) touch = 1;
  if ((size_t)touch > pages) touch = (long)pages;
  size_t stride = pages / (size_t)touch;
  unsigned long sum = 0;
  for (long k = 0; k < touch; ++k) sum += ((volatile unsigned char*)heap)[(size_t)k * stride * 4096 + 123];
  count++;
  printf("Content-Type: text/plain\n\ncount=%ld touched=%ld sum=%lu\n", count, touch, sum);
  fflush(stdout);
}
