// A wasi:http component that tries to leave state behind for the next
// request (tests/http_component/instance_image_test.cpp): every request
// reports, then changes, an initialized global, a data string and a heap
// buffer; `/grow` grows the memory. Built twice with only STATE_GREETING
// different (same length): two apps that differ only in data.
//   GET .../      -> "greeting=<g> counter=<n> pages=<p> heap=<h>"
//   GET .../grow  -> grows the memory by 16 pages, then answers as above
//   .../trap, .../loop -> a trap (500), an endless loop (504)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_http.h"

#ifndef STATE_GREETING
#define STATE_GREETING "one"
#endif

static int counter = 1000;                    // .data: the image's value
static char greeting[] = STATE_GREETING;      // .data, rewritten below
static char* heap;                            // malloc'ed on first use

__attribute__((export_name("cabi_realloc")))
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  void* p = realloc(old, new_size);
  if (!p) abort();
  return p;
}

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  ret_area_t ret;
  wasi_incoming_request_path_with_query(request, &ret);
  char path[256] = "/";
  if (ret_u8(&ret, 0) == 1) {
    uint32_t len = ret_u32(&ret, 8);
    char* text = (char*)(uintptr_t)ret_u32(&ret, 4);
    if (len >= sizeof path) len = sizeof path - 1;
    memcpy(path, text, len);
    path[len] = 0;
    free(text);
  }
  wasi_drop_incoming_request(request);
  if (ends_with(path, "/trap")) __builtin_trap();
  if (ends_with(path, "/loop")) {
    for (volatile int i = 0;; i++) {
    }
  }
  if (ends_with(path, "/grow")) __builtin_wasm_memory_grow(0, 16);
  if (!heap) {
    heap = malloc(64);
    strcpy(heap, "fresh");
  }
  char text[256];
  int n = snprintf(text, sizeof text, "greeting=%s counter=%d pages=%d heap=%s\n", greeting, counter,
                   (int)__builtin_wasm_memory_size(0), heap);
  // What an attacker would leave for the next request.
  counter++;
  greeting[0] = 'X';
  strcpy(heap, "dirty");

  handle_t headers = wasi_fields_new();
  static const char kType[] = "content-type", kText[] = "text/plain";
  wasi_fields_append(headers, kType, sizeof kType - 1, (const uint8_t*)kText, sizeof kText - 1, &ret);
  handle_t response = wasi_outgoing_response_new(headers);
  wasi_outgoing_response_set_status_code(response, 200);
  wasi_outgoing_response_body(response, &ret);
  handle_t body = (handle_t)ret_u32(&ret, 4);
  wasi_outgoing_body_write(body, &ret);
  handle_t stream = (handle_t)ret_u32(&ret, 4);
  wasi_response_outparam_set(outparam, 0, response, 0, 0, 0, 0, 0, 0);
  wasi_output_stream_blocking_write_and_flush(stream, (const uint8_t*)text, (uint32_t)n, &ret);
  wasi_drop_output_stream(stream);
  wasi_outgoing_body_finish(body, 0, 0, &ret);
}
