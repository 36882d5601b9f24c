// A wasi:http component for long-lived (reactor) instances
// (reactor_component_test.cpp): it counts its requests in a global, so a
// count that goes 1, 2, 3 shows one instance served them, and a count that
// goes on after standby shows its memory was saved and restored.
//   GET .../        -> "count=<n> pages=<p>"
//   GET .../hold    -> keeps a wasi:http `fields` handle alive (standby cannot save it)
//   GET .../release -> drops the handle kept by /hold
//   GET .../log     -> writes a line to stderr (through the preview1 adapter)
//   GET .../grow    -> grows the memory a page at a time until refused
//   GET .../fill    -> grows the memory by 128 MiB and writes every 4 KiB page of it
//                      (a large non-zero state for standby to save)
//   GET .../refill  -> writes what /fill wrote again (every page of it changed since the wake)
//   GET .../verify  -> also answers " filled=<n>": how many pages of what /fill wrote still hold it
//   GET .../spin    -> busy for 300 ms, then answers (concurrent requests need instances)
//   GET .../trap, .../loop -> a trap, an endless loop
//   GET .../once    -> answers the first request of its instance; on later ones returns
//                      without setting a response (what StarlingMonkey's engine does)
//   POST .../body   -> reads the request body to its end, answers its length
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_http_helpers.h"

static long count;                 // .bss: 0 in the start state, then per instance
static handle_t held;              // a resource handle kept across requests (0: none)
static unsigned char* filled;      // what /fill wrote (0: nothing yet)

IMPORT(WASI_HTTP_TYPES, "[resource-drop]fields") void wasi_drop_fields(handle_t);
IMPORT("wasi:clocks/monotonic-clock@0.2.10", "now") uint64_t wasi_monotonic_now(void);

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

// Reads the request's body to its end; its length, or -1.
static long read_body(handle_t request) {
  ret_area_t ret;
  wasi_incoming_request_consume(request, &ret);
  if (ret_u8(&ret, 0) != 0) return -1;
  handle_t body = (handle_t)ret_u32(&ret, 4);
  wasi_incoming_body_stream(body, &ret);
  if (ret_u8(&ret, 0) != 0) return -1;
  handle_t in = (handle_t)ret_u32(&ret, 4);
  long total = 0;
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) break;  // closed: the end
    uint32_t len = ret_u32(&ret, 8);
    total += len;
    if (len) free((void*)(uintptr_t)ret_u32(&ret, 4));  // an empty list's pointer is not from malloc
  }
  wasi_drop_input_stream(in);
  wasi_drop_incoming_body(body);
  return total;
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  char path[256];
  wasi_http_path(request, path, sizeof path);
  long body_len = -2;
  if (ends_with(path, "/body")) body_len = read_body(request);
  wasi_drop_incoming_request(request);
  ++count;
  if (ends_with(path, "/trap")) __builtin_trap();
  if (ends_with(path, "/loop")) {
    for (volatile int i = 0;; i++) {
    }
  }
  if (ends_with(path, "/spin")) {
    uint64_t until = wasi_monotonic_now() + 300000000ull;
    while (wasi_monotonic_now() < until) {
    }
  }
  if (ends_with(path, "/fill")) {
    size_t old_pages = __builtin_wasm_memory_grow(0, 2048);
    if (old_pages != (size_t)-1) {
      unsigned char* base = (unsigned char*)(old_pages * 65536);
      for (size_t i = 0; i < (size_t)2048 * 65536; i += 4096) base[i] = (unsigned char)(1 + (i / 4096) % 251);
      filled = base;
    }
  }
  if (ends_with(path, "/refill") && filled) {
    for (size_t i = 0; i < (size_t)2048 * 65536; i += 4096) filled[i] = (unsigned char)(1 + (i / 4096) % 251);
  }
  if (ends_with(path, "/grow")) {
    while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {
    }
  }
  // Neither sets the response nor drops the outparam: the handle stays with the guest.
  if (ends_with(path, "/once") && count > 1) return;
  if (ends_with(path, "/log")) fprintf(stderr, "logged at count %ld\n", count);
  if (ends_with(path, "/hold") && !held) held = wasi_fields_new();
  if (ends_with(path, "/release") && held) {
    wasi_drop_fields(held);
    held = 0;
  }
  char text[128];
  int n = snprintf(text, sizeof text, "count=%ld pages=%d", count, (int)__builtin_wasm_memory_size(0));
  if (body_len != -2) n += snprintf(text + n, sizeof text - n, " body=%ld", body_len);
  if (ends_with(path, "/verify")) {
    long ok = 0;
    for (size_t i = 0; filled && i < (size_t)2048 * 65536; i += 4096) ok += filled[i] == (unsigned char)(1 + (i / 4096) % 251);
    n += snprintf(text + n, sizeof text - n, " filled=%ld", ok);
  }
  text[n++] = '\n';

  wasi_http_respond_text(outparam, 200, text, (size_t)n);
}
