// A wasi:http component with component-level init exports (world
// `http-init-app`, init_world.wit), for `init` on components
// (component_init_test.cpp). `init` fills a 1 MiB table with non-zero bytes
// and sets a counter; every request reports what it sees, then writes over
// the table and the counter (what an attacker would leave for the next
// request).
//   GET .../        -> "table=<sum of the table's bytes> first=<table[0]> counter=<n> pages=<p> born=<ns>"
//                      born: the wall clock when init ran (0 without init), which tells
//                      one init's image from another's (an image kept in a file)
//   GET .../grow    -> tries to grow the memory by 16 pages first
//   GET .../print   -> writes a line to stdout first (through the stream init opened)
//   GET .../scribble -> writes a byte into each of the last 300 4 KiB pages of the
//                       memory first (after init-fill: its grown pages, nobody else's)
//   GET .../trailers    -> body "abc", chunked, finished with trailers
//                          x-checksum: abc123, x-note: two words, content-type: x/bad
//   GET .../trailers-cl -> the same with content-length: 3 (trailers cannot go out)
//   POST .../trailers-in -> reads the body to its end, then its trailers:
//                           "body=<n> trailers=<name>:<value>;..." ("none" without)
// Built with -DDATA_KIB=N it also carries an N KiB non-zero initialized
// array (data segments only, no init): a component whose image holds a lot.
// `init-slow` is `init`, then a line on stdout (the instance keeps its
// stdout stream), then 1.5 s of busy work: an init worth not running twice.
// The other init exports are the hostile ones: init-trap traps, init-loop
// never returns, init-grow grows the memory a page at a time until refused
// and writes to every page (init-fill: every 4 KiB page), init-exit calls
// exit(3), init-with-arg and init-returns have the wrong type for an init.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasi_http_helpers.h"

#define TABLE_BYTES (1u << 20)

static uint8_t* table;   // NULL until init
static int counter;      // 0, or 100 after init
static int inits;        // how many times init ran in this instance's history
static unsigned long long born;  // CLOCK_REALTIME in ns when init ran

static unsigned long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

#if defined(DATA_KIB) && DATA_KIB > 0
// Non-zero initialized data (a data segment): the image's non-zero state.
#define DATA_BYTES (DATA_KIB * 1024)
static volatile uint8_t data_block[DATA_BYTES] = {[0 ... DATA_BYTES - 1] = 0x5a};
#endif

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

__attribute__((export_name("init")))
void init(void) {
  table = malloc(TABLE_BYTES);
  if (!table) __builtin_trap();
  for (uint32_t i = 0; i < TABLE_BYTES; ++i) table[i] = (uint8_t)(i * 7 + 1) | 1;  // never 0
  counter = 100;
  inits++;
  born = now_ns(CLOCK_REALTIME);
}

__attribute__((export_name("init-slow")))
void init_slow(void) {
  init();
  printf("init-slow: table ready\n");
  fflush(stdout);
  const unsigned long long until = now_ns(CLOCK_MONOTONIC) + 1500000000ull;
  volatile uint32_t spin = 0;
  while (now_ns(CLOCK_MONOTONIC) < until) spin++;
}

__attribute__((export_name("init-trap")))
void init_trap(void) {
  table = malloc(TABLE_BYTES);
  __builtin_trap();
}

__attribute__((export_name("init-loop")))
void init_loop(void) {
  for (volatile int i = 0;; i++) {
  }
}

// The allocator takes its first heap now (the requests' small allocations
// come from it), then the memory grows until refused (the component's
// memory_limit), a byte written every `stride` bytes of each new Wasm page.
static void grow_until_refused(uint32_t stride) {
  free(malloc(16384));
  for (;;) {
    int before = __builtin_wasm_memory_grow(0, 1);
    if (before < 0) break;
    for (uint32_t at = 100; at < 65536u; at += stride)
      ((volatile uint8_t*)(uintptr_t)((uint32_t)before * 65536u))[at] = 0xee;
  }
  counter = 100;
  inits++;
}

// Every new Wasm page written.
__attribute__((export_name("init-grow")))
void init_grow(void) { grow_until_refused(65536); }

// Every 4 KiB page of the grown memory written, non-zero: a start image whose
// whole heap is state (the standby benchmark's component started from an image).
__attribute__((export_name("init-fill")))
void init_fill(void) { grow_until_refused(4096); }

__attribute__((export_name("init-exit")))
void init_exit(void) { exit(3); }

__attribute__((export_name("init-with-arg")))
void init_with_arg(uint32_t n) { counter = (int)n; }

__attribute__((export_name("init-returns")))
uint32_t init_returns(void) { return 7; }

IMPORT(WASI_HTTP_TYPES, "[static]incoming-body.finish") handle_t wasi_incoming_body_finish(handle_t body);
IMPORT(WASI_HTTP_TYPES, "[method]future-trailers.get") void wasi_future_trailers_get(handle_t self, void* ret);
IMPORT(WASI_HTTP_TYPES, "[resource-drop]future-trailers") void wasi_drop_future_trailers(handle_t);
IMPORT(WASI_HTTP_TYPES, "[method]fields.entries") void wasi_fields_entries(handle_t self, ret_area_t* ret);
IMPORT(WASI_HTTP_TYPES, "[resource-drop]fields") void wasi_drop_fields(handle_t);

// Reads the request body to its end, then its trailers, into `text`.
static int read_trailers(handle_t request, char* text, size_t size) {
  handle_t in_body;
  handle_t in = wasi_http_body_stream(request, &in_body);
  long total = 0;
  ret_area_t ret;
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) break;  // closed: the end
    uint32_t len = ret_u32(&ret, 8);
    total += len;
    if (len) free((void*)(uintptr_t)ret_u32(&ret, 4));
  }
  wasi_drop_input_stream(in);
  handle_t future = wasi_incoming_body_finish(in_body);
  // option<result<result<option<own<trailers>>, error-code>>>: tags at 0, 8,
  // 16 and 24 (error-code aligns the payloads to 8), the handle at 28.
  _Alignas(8) uint8_t got[96] = {0};
  wasi_future_trailers_get(future, got);
  int n = snprintf(text, size, "body=%ld trailers=", total);
  if (got[0] == 1 && got[8] == 0 && got[16] == 0 && got[24] == 1) {
    handle_t fields = *(handle_t*)(got + 28);
    wasi_fields_entries(fields, &ret);
    uint8_t* list = (uint8_t*)(uintptr_t)ret_u32(&ret, 0);
    uint32_t count = ret_u32(&ret, 4);
    for (uint32_t i = 0; i < count && n < (int)size - 1; ++i) {
      uint8_t* e = list + i * 16;  // tuple<string, list<u8>>
      n += snprintf(text + n, size - (size_t)n, "%.*s:%.*s;", (int)*(uint32_t*)(e + 4), (char*)(uintptr_t)*(uint32_t*)e,
                    (int)*(uint32_t*)(e + 12), (char*)(uintptr_t)*(uint32_t*)(e + 8));
    }
    wasi_drop_fields(fields);
  } else {
    n += snprintf(text + n, size - (size_t)n, "none");
  }
  wasi_drop_future_trailers(future);
  return n < (int)size ? n : (int)size - 1;
}

// Answers "abc" and finishes the body with trailers (streamed responses
// carry them in the chunked trailer section).
static void respond_with_trailers(handle_t outparam, int with_length) {
  handle_t headers = wasi_fields_new();
  wasi_http_add_header(headers, "content-type", "text/plain");
  if (with_length) wasi_http_add_header(headers, "content-length", "3");
  handle_t body;
  handle_t stream = wasi_http_respond(outparam, 200, headers, &body);
  wasi_http_write_all(stream, (const uint8_t*)"abc", 3);
  wasi_drop_output_stream(stream);
  handle_t trailers = wasi_fields_new();
  wasi_http_add_header(trailers, "x-checksum", "abc123");
  wasi_http_add_header(trailers, "x-note", "two words");
  wasi_http_add_header(trailers, "content-type", "x/bad");  // not allowed in a trailer section
  ret_area_t ret;
  wasi_outgoing_body_finish(body, 1, trailers, &ret);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  char path[256];
  wasi_http_path(request, path, sizeof path);
  if (ends_with(path, "/trailers-in")) {
    char text[1024];
    int n = read_trailers(request, text, sizeof text);
    wasi_drop_incoming_request(request);
    handle_t headers = wasi_fields_new();
    handle_t body;
    handle_t stream = wasi_http_respond(outparam, 200, headers, &body);
    wasi_http_write_all(stream, (const uint8_t*)text, (size_t)n);
    wasi_http_finish(stream, body);
    return;
  }
  wasi_drop_incoming_request(request);
  if (ends_with(path, "/trailers") || ends_with(path, "/trailers-cl")) {
    respond_with_trailers(outparam, ends_with(path, "/trailers-cl"));
    return;
  }
  if (ends_with(path, "/grow")) __builtin_wasm_memory_grow(0, 16);
  if (ends_with(path, "/scribble")) {
    const uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
    for (uint32_t p = 1; p <= 300 && p * 4096u < end; ++p) ((volatile uint8_t*)(uintptr_t)(end - p * 4096u))[200] = 0x3c;
  }
  if (ends_with(path, "/print")) {
    printf("a request's line\n");
    fflush(stdout);
  }
  uint64_t sum = 0;
  int first = -1;
  if (table) {
    for (uint32_t i = 0; i < TABLE_BYTES; ++i) sum += table[i];
    first = table[0];
  }
#if defined(DATA_KIB) && DATA_KIB > 0
  sum += data_block[DATA_BYTES - 1];
  data_block[0] = 0;
#endif
  char text[256];
  int n = snprintf(text, sizeof text, "table=%llu first=%d counter=%d inits=%d pages=%d born=%llu\n",
                   (unsigned long long)sum, first, counter, inits, (int)__builtin_wasm_memory_size(0), born);
  // What an attacker would leave for the next request.
  if (table) memset(table, 0, 4096);
  counter++;

  wasi_http_respond_text(outparam, 200, text, (size_t)n);
}
