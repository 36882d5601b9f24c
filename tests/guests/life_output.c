// wink-guest-flags: -mexec-model=reactor
// A reactor for the shared response path (issue 9, item 7): ?leak prints the
// secret variable `api_key` to stderr; ?big=N writes N bytes of body; other
// queries answer "ok".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink.h"
#include "../../sdk/wink_reactor.h"

WINK_HANDLER void handle(void) {
  wink_begin();
  char query[64];
  wink_request_get("QUERY_STRING", query, sizeof query);
  if (strcmp(query, "leak") == 0) {
    char* value = NULL;
    uint32_t n = 0;
    if (wink_var_get_alloc("api_key", &value, &n) == WINK_OK) {
      fprintf(stderr, "leaking %.*s to stderr\n", (int)n, value);
      free(value);
    }
    printf("Content-Type: text/plain\n\nleaked\n");
  } else if (strncmp(query, "big=", 4) == 0) {
    long n = atol(query + 4);
    printf("Content-Type: application/octet-stream\n\n");
    for (long i = 0; i < n; ++i) putchar('a' + (int)(i % 26));
  } else {
    printf("Content-Type: text/plain\n\nok\n");
  }
  wink_end();
}
