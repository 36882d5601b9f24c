// wink-guest-flags: -mexec-model=reactor
// Long-lived test guest for incremental standby: an 8 MiB heap whose pages
// the test writes through requests, and a hash of all of it to compare with
// the test's own copy after every standby and wake. Commands (QUERY_STRING):
//   fill=V        every byte of the heap := V (a whole non-zero heap)
//   set=P:V       every byte of heap page P := V (V = 0 zeroes the page)
//   poke=P:O:V    heap[P * 4096 + O] := V
//   grow=PAGES    grows the linear memory by PAGES Wasm pages (64 KiB),
//                 writing 1 + (i % 251) into byte 0 of each 4 KiB page i of it
//   mark=V        byte 1 of every 4 KiB page of the grown part := V (writes every grown page)
//   hash          (always) answers "hash=<FNV-1a 64 of heap then grown part> count=<n>"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/wink_reactor.h"

#define HEAP_BYTES (8u << 20)
static unsigned char heap[HEAP_BYTES];
static unsigned char* grown;
static size_t grown_bytes;
static long count;

static uint64_t fnv(uint64_t h, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

WINK_HANDLER void handle(void) {
  char q[128] = {0};
  wink_request_get("QUERY_STRING", q, sizeof q - 1);
  unsigned p = 0, o = 0, v = 0;
  if (sscanf(q, "fill=%u", &v) == 1) {
    memset(heap, (int)v, HEAP_BYTES);
  } else if (sscanf(q, "set=%u:%u", &p, &v) == 2 && p < HEAP_BYTES / 4096) {
    memset(heap + (size_t)p * 4096, (int)v, 4096);
  } else if (sscanf(q, "poke=%u:%u:%u", &p, &o, &v) == 3 && p < HEAP_BYTES / 4096 && o < 4096) {
    heap[(size_t)p * 4096 + o] = (unsigned char)v;
  } else if (sscanf(q, "mark=%u", &v) == 1) {
    for (size_t i = 0; i < grown_bytes; i += 4096) grown[i + 1] = (unsigned char)v;
  } else if (sscanf(q, "grow=%u", &v) == 1) {
    size_t old_pages = __builtin_wasm_memory_grow(0, v);
    if (old_pages != (size_t)-1) {
      unsigned char* base = (unsigned char*)(old_pages * 65536);
      if (!grown) grown = base;
      size_t bytes = (size_t)v * 65536;
      for (size_t i = 0; i < bytes; i += 4096) base[i] = (unsigned char)(1 + ((grown_bytes + i) / 4096) % 251);
      grown_bytes += bytes;
    }
  }
  count++;
  uint64_t h = fnv(0xcbf29ce484222325ull, heap, HEAP_BYTES);
  if (grown) h = fnv(h, grown, grown_bytes);
  printf("Content-Type: text/plain\n\nhash=%016llx count=%ld\n", (unsigned long long)h, count);
  fflush(stdout);
}
