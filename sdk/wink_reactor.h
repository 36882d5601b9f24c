/* wink_reactor.h: long-lived (reactor) components for wink.
 *
 * A reactor component is initialized once and then serves many requests in
 * the same instance, so state in its memory (globals, heap) survives from one
 * request to the next and, for stateful components, across standby: when it
 * has been idle for `idle_timeout`, wink saves its memory copy-on-write and
 * releases everything else; the next request restores it, and the guest
 * cannot tell it slept. Reference: docs/guest-interface.md, "Long-lived
 * (reactor) components".
 *
 * Build:  clang --target=wasm32-wasi -O2 -mexec-model=reactor app.c -o app.wasm
 * Manifest: executor = "reactor" (handler export: "wink_handle").
 *
 *   #include "wink_reactor.h"
 *   static int hits;                       // survives requests and standby
 *   WINK_HANDLER void handle(void) {
 *     wink_begin();                        // per request: reset stdin's EOF flag
 *     char method[16];
 *     wink_request_get("REQUEST_METHOD", method, sizeof method);
 *     printf("Content-Type: text/plain\n\nhits=%d (%s)\n", ++hits, method);
 *     wink_end();                          // flush stdout: the response
 *   }
 *
 * Per request, the guest reads:
 *   - the request variables with wink_request_var / wink_request_get: the same
 *     names and values WAGI passes in the environment (REQUEST_METHOD,
 *     PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, HTTP_<HEADER>, ...,
 *     see docs/wagi.md). The process environment (getenv) holds only the
 *     component's `environment` and is the same for every request;
 *   - the request body on stdin (fd 0), ending at EOF;
 * and writes the response on stdout (fd 1) exactly as a WAGI handler does:
 * CGI headers (Content-Type, Status, Location, others), an empty line, the body.
 * stderr lines become log lines.
 */
#ifndef WINK_REACTOR_H
#define WINK_REACTOR_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WINK_REACTOR_IMPORT(name) __attribute__((import_module("wink_reactor"), import_name(#name)))

/* Copies the value of request variable `name` into buf (at most cap bytes, no
 * NUL added). Returns its full length (call again with a larger buffer if it
 * exceeds cap), -1 if the request has no such variable, -2 if a pointer is
 * outside linear memory. Only meaningful during wink_handle. */
WINK_REACTOR_IMPORT(request_var)
int32_t wink_request_var(const char* name, uint32_t name_len, char* buf, uint32_t cap);

/* Asks wink not to put this instance in standby for the next `ms`
 * milliseconds (background work in progress: a write-behind cache to flush, a
 * batch to finish on the next calls); 0 withdraws the request. Each call
 * replaces the previous one; wink caps it at the component's max_keep_awake
 * (60 s). Callable from wink_handle and wink_before_standby. */
WINK_REACTOR_IMPORT(keep_awake) void wink_keep_awake(uint32_t ms);

/* Exports a guest defines:
 *   WINK_HANDLER void f(void)         required: called once per request
 *   WINK_BEFORE_STANDBY void g(void)  optional: called just before standby;
 *                                     may flush state or call wink_keep_awake(ms)
 *                                     to stay up a little longer. */
#define WINK_HANDLER __attribute__((export_name("wink_handle")))
#define WINK_BEFORE_STANDBY __attribute__((export_name("wink_before_standby")))

/* NUL-terminated variant: returns the length copied, or -1 if absent or it
 * does not fit (buf is then ""). */
static inline int32_t wink_request_get(const char* name, char* buf, uint32_t cap) {
  uint32_t n = 0;
  while (name[n]) ++n;
  if (cap == 0) return -1;
  int32_t len = wink_request_var(name, n, buf, cap - 1);
  if (len < 0 || (uint32_t)len >= cap) {
    buf[0] = 0;
    return -1;
  }
  buf[len] = 0;
  return len;
}

/* Call at the start of each request: stdin is a new stream per request, but
 * the C library remembers the previous request's EOF. */
static inline void wink_begin(void) { clearerr(stdin); }

/* Call at the end of each request: nothing exits, so flush the response. */
static inline void wink_end(void) { fflush(stdout); fflush(stderr); }

/* Reads the whole request body (up to cap bytes) with read(2); returns its length. */
static inline size_t wink_read_body(char* buf, size_t cap) {
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(0, buf + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  return n;
}

#ifdef __cplusplus
}
#endif
#endif /* WINK_REACTOR_H */
