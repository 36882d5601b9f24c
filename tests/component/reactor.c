// A C core module (wasm32-wasi reactor) that `jco new --wasi-reactor` turns
// into a component by wrapping it with the WASI preview1 adapter.
#include <stdio.h>
#include <stdlib.h>

__attribute__((export_name("add"))) int add(int a, int b) {
  printf("add %d %d\n", a, b);
  char* p = malloc(16);
  free(p);
  return a + b;
}
