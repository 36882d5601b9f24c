// A small WAGI app for the node tests (tests/node): says which app version
// answers (environment VERSION from the manifest), sleeps on ?sleep=MS (a
// request in flight during an update), and keeps ?set=VALUE / ?get in the
// app's "default" key-value store under the key "k".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sdk/wink.h"

int main(void) {
  const char* q = getenv("QUERY_STRING");
  const char* version = getenv("VERSION");
  if (!q) q = "";
  if (!strncmp(q, "sleep=", 6)) usleep((useconds_t)atoi(q + 6) * 1000);
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
  printf("version=%s\n", version ? version : "?");
  return 0;
}
