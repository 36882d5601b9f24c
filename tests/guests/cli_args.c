// Prints argv and one environment variable, reads (--cat PATH) or creates
// (--write PATH, exit 5 if refused) a file in a mapped directory if asked,
// and exits with a chosen code: what `wink run` passes
// through to and from a guest.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) printf("arg[%d]=%s\n", i, argv[i]);
  const char* greet = getenv("GREETING");
  printf("GREETING=%s\n", greet ? greet : "(unset)");
  for (int i = 1; i + 1 < argc; ++i) {
    if (strcmp(argv[i], "--cat") == 0) {
      FILE* f = fopen(argv[i + 1], "r");
      if (!f) {
        perror("fopen");
        return 4;
      }
      char buf[256];
      size_t n = fread(buf, 1, sizeof buf, f);
      fwrite(buf, 1, n, stdout);
      fclose(f);
    }
    if (strcmp(argv[i], "--write") == 0) {
      FILE* f = fopen(argv[i + 1], "w");
      if (!f || fputs("written by the guest\n", f) < 0 || fclose(f) != 0) {
        perror("write");
        return 5;
      }
    }
    if (strcmp(argv[i], "--exit") == 0) return atoi(argv[i + 1]);
  }
  fprintf(stderr, "done\n");
  return 0;
}
