// Bench guest for restore cost: `wizer.initialize` fills $SNAP_MB MiB of heap
// with non-zero bytes (every page touched and stored in the snapshot);
// `handle` reads a few values, writes one page and answers.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t* block;
static size_t block_bytes;
void __wasilibc_deinitialize_environ(void);

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) {
  const char* mb = getenv("SNAP_MB");
  block_bytes = (size_t)(mb ? atoi(mb) : 1) << 20;
  block = malloc(block_bytes);
  for (size_t i = 0; i < block_bytes; ++i) block[i] = (uint8_t)(i * 131 + 7) | 1;
  __wasilibc_deinitialize_environ();
}

static uint8_t scratch[4096];

__attribute__((export_name("handle"))) void handle(void) {
  unsigned sum = 0;
  for (size_t i = 0; i < block_bytes; i += block_bytes / 8) sum += block[i];
  memset(scratch, (int)sum, sizeof scratch);
  printf("Content-Type: text/plain\n\nbytes=%zu sum=%u\n", block_bytes, sum);
  fflush(stdout);
}
