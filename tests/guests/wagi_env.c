// WAGI test guest: prints argv, the environment (sorted by the test) and the
// request body, so tests can check exactly what a handler receives.
#include <stdio.h>
#include <stdlib.h>

extern char** environ;

int main(int argc, char** argv) {
  printf("Content-Type: text/plain\n\n");
  for (int i = 0; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
  for (char** e = environ; *e; ++e) printf("env:%s\n", *e);
  printf("body:");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  printf("\n");
  return 0;
}
