// A small WAGI app for the node tests (tests/node): says which app version
// answers (environment VERSION from the manifest), sleeps on ?sleep=MS (a
// request in flight during an update), and keeps ?set=VALUE / ?get in the
// app's "default" key-value store under the key "k"; ?spin=MS burns CPU for
// MS milliseconds without a host call (an app hogging executors).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../sdk/wink.h"

int main(void) {
  const char* q = getenv("QUERY_STRING");
  const char* version = getenv("VERSION");
  if (!q) q = "";
  if (!strncmp(q, "sleep=", 6)) usleep((useconds_t)atoi(q + 6) * 1000);
  if (!strncmp(q, "spin=", 5)) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long spins = 0;
    do {
      for (int i = 0; i < 100000; ++i) spins = spins + 1;
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < atoi(q + 5));
  }
  printf("Content-Type: text/plain\n\n");
  if (!strncmp(q, "set=", 4) || !strcmp(q, "get")) {
    wink_store_t s;
    wink_error_t e = wink_kv_open_str("default", &s);
    if (e == WINK_OK && q[0] == 's') e = wink_kv_set_str(s, "k", q + 4);
    if (e == WINK_OK && q[0] == 'g') {
      char* value = NULL;
      uint32_t n = 0;
      e = wink_kv_get_alloc(s, "k", 1, &value, &n);
      if (e == WINK_OK) printf("k=%.*s\n", (int)n, value);
    }
    if (e != WINK_OK) printf("error=%s\n", wink_error_name(e));
    return 0;
  }
  if (!strcmp(q, "var")) {  /* the app's variable "token" */
    char* value = NULL;
    uint32_t n = 0;
    wink_error_t e = wink_var_get_alloc("token", &value, &n);
    if (e == WINK_OK) printf("token=%.*s\n", (int)n, value);
    else printf("error=%s\n", wink_error_name(e));
    return 0;
  }
  printf("version=%s\n", version ? version : "?");
  return 0;
}
