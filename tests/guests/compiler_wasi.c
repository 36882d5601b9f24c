// A WASI command guest (imports wasi_snapshot_preview1) for the compiler tests.
#include <stdio.h>
int main(void) {
  printf("hello from compiler_wasi\n");
  return 0;
}
