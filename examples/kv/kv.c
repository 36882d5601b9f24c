// A visit counter on the node's "default" key-value store (wink_v1 host API).
//   GET /        -> increments and shows the count
//   GET /?reset  -> deletes it
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink.h"

int main(void) {
  printf("Content-Type: text/plain\n\n");
  wink_store_t kv;
  wink_error_t e = wink_kv_open_str("default", &kv);
  if (e != WINK_OK) {
    printf("cannot open store: %s\n", wink_error_name(e));
    return 0;
  }
  const char* query = getenv("QUERY_STRING");
  if (query && strcmp(query, "reset") == 0) {
    wink_kv_delete(kv, "visits", 6);
    printf("reset\n");
    return 0;
  }
  char buf[32];
  uint32_t n = 0;
  long visits = 0;
  e = wink_kv_get(kv, "visits", 6, buf, sizeof buf - 1, &n);
  if (e == WINK_OK) {
    buf[n] = 0;
    visits = atol(buf);
  } else if (e != WINK_ERR_NOT_FOUND) {
    printf("get failed: %s\n", wink_error_name(e));
    return 0;
  }
  ++visits;
  n = (uint32_t)snprintf(buf, sizeof buf, "%ld", visits);
  e = wink_kv_set(kv, "visits", 6, buf, n);
  if (e != WINK_OK) {
    printf("set failed: %s\n", wink_error_name(e));
    return 0;
  }
  wink_log_str(WINK_LOG_INFO, "visit counted");
  printf("visits: %ld\n", visits);
  return 0;
}
