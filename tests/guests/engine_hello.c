// The smallest useful WASI command: what the instantiation benchmark runs.
#include <stdio.h>

int main(void) {
  puts("Hello, world!");
  return 0;
}
