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

#include "wasi_http_helpers.h"

#ifndef STATE_GREETING
#define STATE_GREETING "one"
#endif

static int counter = 1000;                    // .data: the image's value
static char greeting[] = STATE_GREETING;      // .data, rewritten below
static char* heap;                            // malloc'ed on first use

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  char path[256];
  wasi_http_path(request, path, sizeof path);
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

  wasi_http_respond_text(outparam, 200, text, (size_t)n);
}
