/* A JSON-like tokenizer and number parser over a generated 4 MiB document:
 * branchy byte-at-a-time code, the shape of request parsing. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static char* doc;
static size_t doc_len;

static void generate(void) {
  size_t cap = 4 << 20;
  doc = malloc(cap + 256);
  size_t n = 0;
  unsigned seed = 12345;
  doc[n++] = '[';
  while (n < cap) {
    seed = seed * 1103515245u + 12345u;
    n += (size_t)snprintf(doc + n, 256,
                          "{\"id\":%u,\"name\":\"user_%u\",\"score\":%u.%02u,\"tags\":[\"a\",\"bc\"],"
                          "\"ok\":%s},",
                          seed % 100000, seed % 977, seed % 1000, seed % 100, (seed & 1) ? "true" : "false");
  }
  doc[n - 1] = ']';
  doc_len = n;
}

static uint64_t parse(void) {
  uint64_t objects = 0, strings = 0, numbers = 0, acc = 0;
  const char* p = doc;
  const char* end = doc + doc_len;
  while (p < end) {
    char c = *p;
    if (c == '{') {
      ++objects;
      ++p;
    } else if (c == '"') {
      ++p;
      uint64_t h = 1469598103934665603ull;
      while (p < end && *p != '"') {
        if (*p == '\\') ++p;
        h = (h ^ (uint8_t)*p++) * 1099511628211ull;
      }
      ++p;
      ++strings;
      acc ^= h;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      double v = 0, scale = 1;
      int frac = 0;
      if (c == '-') ++p;
      while (p < end && ((*p >= '0' && *p <= '9') || *p == '.')) {
        if (*p == '.') frac = 1;
        else if (frac) { scale /= 10; v += (*p - '0') * scale; }
        else v = v * 10 + (*p - '0');
        ++p;
      }
      ++numbers;
      acc += (uint64_t)(v * 100);
    } else if (c == 't') {
      p += 4;
      ++acc;
    } else if (c == 'f') {
      p += 5;
    } else {
      ++p;
    }
  }
  return acc + objects * 1000003 + strings * 1009 + numbers;
}

static uint64_t run(void) {
  if (!doc) generate();
  uint64_t r = 0;
  for (int i = 0; i < 4; ++i) r += parse();
  return r;
}

KERNEL_MAIN("json", 5, run())
