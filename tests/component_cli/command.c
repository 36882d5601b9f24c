// A WASI command built as a component (clang, then `jco new --wasi-command`):
// what `wink run` must give a command component. argv[1] picks the act.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* act = argc > 1 ? argv[1] : "echo";
  if (strcmp(act, "echo") == 0) {  // args, one variable, stdin, stderr
    for (int i = 0; i < argc; ++i) printf("arg[%d]=%s\n", i, argv[i]);
    const char* v = getenv("GREETING");
    printf("GREETING=%s\n", v ? v : "(unset)");
    char line[4096];
    while (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);
    fprintf(stderr, "done\n");
    return 0;
  }
  if (strcmp(act, "exit") == 0) return argc > 2 ? atoi(argv[2]) : 0;
  if (strcmp(act, "cat") == 0) {  // a file from a read-only directory
    FILE* f = fopen(argc > 2 ? argv[2] : "", "r");
    if (!f) { perror("open"); return 3; }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    f = fopen(argc > 2 ? argv[2] : "", "w");  // writing must be refused
    printf("write %s\n", f ? "allowed" : "refused");
    return 0;
  }
  if (strcmp(act, "big") == 0) {  // many MiB through stdout, checked by the reader
    static char block[1 << 16];
    for (size_t i = 0; i < sizeof block; ++i) block[i] = (char)('a' + i % 26);
    int mib = argc > 2 ? atoi(argv[2]) : 1;
    for (int i = 0; i < mib * 16; ++i) fwrite(block, 1, sizeof block, stdout);
    return 0;
  }
  if (strcmp(act, "trap") == 0) __builtin_trap();
  if (strcmp(act, "loop") == 0) {
    volatile unsigned x = 0;
    for (;;) ++x;
  }
  if (strcmp(act, "grow") == 0) {  // allocate until the memory limit stops it
    static char* volatile last;  // keeps the allocations observable (no elision)
    size_t total = 0;
    while ((last = malloc(1 << 20)) != NULL) {
      last[0] = 1;
      total += 1 << 20;
    }
    printf("allocated %zu MiB\n", total >> 20);
    return 0;
  }
  fprintf(stderr, "unknown act %s\n", act);
  return 2;
}
