/* SHA-256 over 8 MiB: integer rotates, shifts, adds. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

/* The same SHA-256 block function as the HTTP CPU-bound handler. */
#include "../http/sha256/sha256.h"

static uint8_t* data;
enum { kBytes = 8 << 20 };

static uint64_t run(void) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  for (size_t off = 0; off < kBytes; off += 64) sha256_block(h, data + off);
  return ((uint64_t)h[0] << 32) | h[7];
}

static uint64_t setup_and_run(void) {
  if (!data) {
    data = malloc(kBytes);
    for (size_t i = 0; i < kBytes; ++i) data[i] = (uint8_t)(i * 2654435761u >> 13);
  }
  return run();
}

KERNEL_MAIN("sha256", 5, setup_and_run())
