// A WAGI guest calling wink_v1 the way an attacker would: headers the host
// owns, header blocks and names far over the limits. Routes:
//   /http?url=U[&header=H]   GET U with header line H added (url-decoded)
//   /http/bigheaders?url=U   GET U with a 1 MiB header block
//   /kv/bigname              kv_open with a 1 MiB store name
// Prints "status=N" or "error=NAME message=...".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink.h"

static char* query_param(const char* name) {
  const char* q = getenv("QUERY_STRING");
  if (!q) return NULL;
  size_t nlen = strlen(name);
  while (*q) {
    const char* end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
      const char* v = q + nlen + 1;
      size_t vlen = len - nlen - 1;
      char* out = malloc(vlen + 1);
      size_t o = 0;
      for (size_t i = 0; i < vlen; ++i) {
        if (v[i] == '%' && i + 2 < vlen) {
          char hex[3] = {v[i + 1], v[i + 2], 0};
          out[o++] = (char)strtol(hex, NULL, 16);
          i += 2;
        } else {
          out[o++] = v[i];
        }
      }
      out[o] = 0;
      return out;
    }
    if (!end) break;
    q = end + 1;
  }
  return NULL;
}

static void report(wink_error_t e, uint32_t status) {
  if (e == WINK_OK) {
    printf("status=%u\n", status);
    return;
  }
  char msg[512];
  uint32_t n = 0;
  wink_error_message(msg, sizeof msg - 1, &n);
  msg[n < sizeof msg ? n : sizeof msg - 1] = 0;
  printf("error=%s message=%s\n", wink_error_name(e), msg);
}

int main(void) {
  printf("Content-Type: text/plain\n\n");
  const char* path = getenv("PATH_INFO");
  if (!path) path = "/";
  char* url = query_param("url");
  uint32_t status = 0;
  if (strcmp(path, "/http") == 0 && url) {
    char* extra = query_param("header");
    char headers[1024];
    snprintf(headers, sizeof headers, "X-Ok: 1\n%s", extra ? extra : "");
    report(wink_http_send("GET", 3, url, strlen(url), headers, strlen(headers), "", 0, &status), status);
  } else if (strcmp(path, "/http/bigheaders") == 0 && url) {
    size_t len = 1u << 20;
    char* headers = malloc(len);
    for (size_t i = 0; i < len; i += 8) memcpy(headers + i, "X-A: bb\n", 8);
    report(wink_http_send("GET", 3, url, strlen(url), headers, (uint32_t)len, "", 0, &status), status);
  } else if (strcmp(path, "/kv/bigname") == 0) {
    size_t len = 1u << 20;
    char* name = malloc(len);
    memset(name, 'n', len);
    wink_store_t s;
    report(wink_kv_open(name, (uint32_t)len, &s), 0);
  } else {
    printf("unknown route\n");
  }
  return 0;
}
