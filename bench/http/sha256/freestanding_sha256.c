/* The same digest as a freestanding Wasm module for workerd: the worker
 * copies the body to `input`, calls digest(len), reads 64 hex bytes at `output`. */
#include "sha256.h"

static uint8_t input_buf[1 << 20];
static char output_buf[64];

__attribute__((export_name("input"))) uint8_t* input(void) { return input_buf; }
__attribute__((export_name("output"))) char* output(void) { return output_buf; }
__attribute__((export_name("digest"))) void digest(uint32_t len) { sha256_hex(input_buf, len, output_buf); }

/* No libc here: the compiler may still call these for struct copies. */
void* memset(void* d, int c, unsigned long n) {
  uint8_t* p = d;
  while (n--) *p++ = (uint8_t)c;
  return d;
}
void* memcpy(void* d, const void* s, unsigned long n) {
  uint8_t* p = d;
  const uint8_t* q = s;
  while (n--) *p++ = *q++;
  return d;
}
