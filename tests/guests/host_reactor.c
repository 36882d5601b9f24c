// wink-guest-flags: -mexec-model=reactor
// A long-lived (reactor) component making outbound calls: /http?url=U sends
// GET U from the same instance request after request, so calls made long
// after the instance was created show whether the time left is measured per
// call. Prints "status=N calls=K" or "error=NAME message=... calls=K".
#include <stdio.h>
#include <string.h>

#include "../../sdk/wink.h"
#include "../../sdk/wink_reactor.h"

static int calls;  // survives requests: proves one instance served them all

WINK_HANDLER void handle(void) {
  wink_begin();
  printf("Content-Type: text/plain\n\n");
  char query[1024];
  wink_request_get("QUERY_STRING", query, sizeof query);
  const char* url = strncmp(query, "url=", 4) == 0 ? query + 4 : "";
  uint32_t status = 0;
  wink_error_t e = wink_http_send("GET", 3, url, strlen(url), "", 0, "", 0, &status);
  ++calls;
  if (e == WINK_OK) {
    printf("status=%u calls=%d\n", status, calls);
  } else {
    char msg[512];
    uint32_t n = 0;
    wink_error_message(msg, sizeof msg - 1, &n);
    msg[n < sizeof msg ? n : sizeof msg - 1] = 0;
    printf("error=%s message=%s calls=%d\n", wink_error_name(e), msg, calls);
  }
  wink_end();
}
