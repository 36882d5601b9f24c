// Fetches the URL in variable "upstream" (an allowed outbound host) and
// returns its status and body. A URL outside allowed_outbound_hosts, e.g.
// GET /?url=http://example.com/, is refused by wink before any network access.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink.h"

int main(void) {
  char* url = NULL;
  uint32_t n = 0;
  const char* query = getenv("QUERY_STRING");
  if (query && strncmp(query, "url=", 4) == 0) {
    url = strdup(query + 4);
    n = (uint32_t)strlen(url);
  } else if (wink_var_get_alloc("upstream", &url, &n) != WINK_OK) {
    printf("Status: 500\nContent-Type: text/plain\n\nno upstream configured\n");
    return 0;
  }
  uint32_t status = 0;
  const char* headers = "Accept: text/plain";
  wink_error_t e = wink_http_send("GET", 3, url, n, headers, (uint32_t)strlen(headers), "", 0, &status);
  if (e != WINK_OK) {
    char msg[256];
    uint32_t len = 0;
    wink_error_message(msg, sizeof msg - 1, &len);
    msg[len < sizeof msg ? len : 0] = 0;
    printf("Status: 502\nContent-Type: text/plain\n\n%s: %s\n", wink_error_name(e), msg);
    return 0;
  }
  char* body = NULL;
  uint32_t body_len = 0;
  wink_http_body_alloc(&body, &body_len);
  printf("Content-Type: text/plain\n\nupstream %s answered %u:\n", url, status);
  if (body) fwrite(body, 1, body_len, stdout);
  return 0;
}
