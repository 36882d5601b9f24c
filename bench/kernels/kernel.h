/* Shared harness for CPU kernels built both natively and to wasm32-wasi:
 * each kernel times only its own work (best of several runs) so the ratio
 * Wasm/native excludes process start and compilation. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs `body` `runs` times, prints "name best_ns checksum". */
#define KERNEL_MAIN(name, runs, body)                                   \
  int main(void) {                                                      \
    uint64_t best = UINT64_MAX, checksum = 0;                           \
    for (int r = 0; r < (runs); ++r) {                                  \
      uint64_t t0 = now_ns();                                           \
      checksum = (body);                                                \
      uint64_t dt = now_ns() - t0;                                      \
      if (dt < best) best = dt;                                         \
    }                                                                   \
    printf("%s %llu %llu\n", name, (unsigned long long)best,            \
           (unsigned long long)checksum);                               \
    return 0;                                                           \
  }
