// wink-guest-flags: -mexec-model=reactor
// Long-lived test guest for warm-up requests: its first request builds a
// cache lazily (as an interpreter, a template engine or a JIT would), and
// every response says which request built it and which requests the
// instance has served so far, so a test sees from the guest's own answer
// whether it started warm. A request to "/trap" traps.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink_reactor.h"

static unsigned* cache;
static int served, built_by;
static char seen[512];

static void build_cache(void) {
  cache = malloc(1u << 20);  // 256 Ki entries: "lazily built tables"
  for (unsigned i = 0; i < (1u << 18); ++i) cache[i] = i * 2654435761u;
}

WINK_HANDLER void handle(void) {
  char path[128] = {0}, query[128] = {0};
  wink_request_get("PATH_INFO", path, sizeof path - 1);
  wink_request_get("QUERY_STRING", query, sizeof query - 1);
  if (strcmp(path, "/trap") == 0) __builtin_trap();
  served++;
  if (!cache) {
    build_cache();
    built_by = served;
  }
  if (strlen(seen) + strlen(path) + strlen(query) + 3 < sizeof seen) {
    strcat(seen, " ");
    strcat(seen, path);
    if (query[0]) {
      strcat(seen, "?");
      strcat(seen, query);
    }
  }
  printf("Content-Type: text/plain\n\nserved=%d built_by=%d check=%u seen=%s\n", served, built_by, cache[12345], seen);
  fflush(stdout);
}
