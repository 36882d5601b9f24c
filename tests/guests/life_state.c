// wink-guest-flags: -mexec-model=reactor
// Long-lived (reactor) test guest: a counter that must survive requests and
// standby. Query commands: "keep=MS" (wink_keep_awake), "sleep=MS" (stays busy),
// "trap", "grow=KiB" (touches memory), "refuse=1" (next before_standby keeps awake 50 ms).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../sdk/wink_reactor.h"

static long count;
static int standbys, refuse;
static char* grown;

WINK_HANDLER void handle(void) {
  wink_begin();
  char query[128], method[16], body[64];
  wink_request_get("QUERY_STRING", query, sizeof query);
  wink_request_get("REQUEST_METHOD", method, sizeof method);
  size_t n = wink_read_body(body, sizeof body - 1);
  body[n] = 0;
  count++;
  if (strncmp(query, "keep=", 5) == 0) wink_keep_awake((uint32_t)atoi(query + 5));
  if (strncmp(query, "refuse=", 7) == 0) refuse = atoi(query + 7);
  if (strncmp(query, "sleep=", 6) == 0) {
    struct timespec ts = {0, atol(query + 6) * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (strcmp(query, "trap") == 0) __builtin_trap();
  if (strncmp(query, "grow=", 5) == 0) {
    size_t kib = (size_t)atol(query + 5);
    grown = realloc(grown, kib * 1024);
    if (grown) for (size_t i = 0; i < kib * 1024; i += 4096) grown[i] = (char)(i >> 12 | 1);
  }
  fprintf(stderr, "request %ld\n", count);
  printf("Content-Type: text/plain\nX-Count: %ld\n\ncount=%ld standbys=%d method=%s body=%s\n", count, count,
         standbys, method, body);
  wink_end();
}

WINK_BEFORE_STANDBY void before_standby(void) {
  standbys++;
  if (refuse) {
    refuse = 0;
    wink_keep_awake(50);
  }
}
