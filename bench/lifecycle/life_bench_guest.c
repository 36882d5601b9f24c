// Reactor guest for bench/lifecycle: init grows memory to $MEM_MB MiB and
// writes one byte in every 4 KiB page (all pages non-zero: the worst case for
// a stateful standby); each request bumps a counter and answers 20 bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../sdk/wink_reactor.h"

static long count;
static char* mem;

__attribute__((export_name("bench.init"))) void bench_init(void) {
  const char* mb = getenv("MEM_MB");
  size_t bytes = (size_t)(mb ? atol(mb) : 1) << 20;
  mem = malloc(bytes - (bytes > (1 << 20) ? (512 << 10) : (256 << 10)));
  if (mem) for (size_t i = 0; i < bytes - (bytes > (1 << 20) ? (512 << 10) : (256 << 10)); i += 4096) mem[i] = 1;
}

WINK_HANDLER void handle(void) {
  char q[32];
  if (wink_request_get("QUERY_STRING", q, sizeof q) > 0 && strncmp(q, "sleep=", 6) == 0) {
    struct timespec ts = {0, atol(q + 6) * 1000000L};
    nanosleep(&ts, NULL);
  }
  count++;
  printf("Content-Type: text/plain\n\ncount=%ld\n", count);
  fflush(stdout);
}
