/* Dense 256x256 double matrix multiply, i-k-j order. */
#include "kernel.h"

enum { N = 256 };
static double A[N][N], B[N][N], C[N][N];

static uint64_t run(void) {
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      A[i][j] = (double)((i * 31 + j * 17) % 101) / 7.0;
      B[i][j] = (double)((i * 13 + j * 29) % 97) / 5.0;
      C[i][j] = 0;
    }
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < N; ++k) {
      double a = A[i][k];
      for (int j = 0; j < N; ++j) C[i][j] += a * B[k][j];
    }
  double sum = 0;
  for (int i = 0; i < N; ++i) sum += C[i][(i * 7) % N];
  return (uint64_t)sum;
}

KERNEL_MAIN("matmul", 5, run())
