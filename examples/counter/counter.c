// A counter that survives requests and standby: one long-lived (reactor)
// instance keeps `count` in its memory; after idle_timeout wink saves that
// memory and releases the instance, and the next request finds the count
// where it was.
//   GET  /          -> count=N (N increments)
//   GET  /?add=K    -> adds K
//   POST /          -> body "reset" sets it to 0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink_reactor.h"

static long count;
static int standbys;  // how many times wink told us it was putting us to sleep

WINK_HANDLER void handle(void) {
  wink_begin();
  char method[16], query[256];
  wink_request_get("REQUEST_METHOD", method, sizeof method);
  wink_request_get("QUERY_STRING", query, sizeof query);
  if (strcmp(method, "POST") == 0) {
    char body[64];
    size_t n = wink_read_body(body, sizeof body - 1);
    body[n] = 0;
    if (strncmp(body, "reset", 5) == 0) count = 0;
  } else if (strncmp(query, "add=", 4) == 0) {
    count += atol(query + 4);
  } else {
    count++;
  }
  printf("Content-Type: text/plain\n\ncount=%ld standbys=%d\n", count, standbys);
  wink_end();
}

WINK_BEFORE_STANDBY void before_standby(void) { standbys++; }
