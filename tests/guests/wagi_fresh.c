// WAGI test guest for instances made ahead of their request: counts its runs
// and keeps the last request's query and body in static memory, then prints
// what it found there (a fresh instance finds run 1 and nothing kept) and
// what its own request gave it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int runs;
static char kept[256];

int main(void) {
  ++runs;
  printf("Content-Type: text/plain\n\nruns=%d kept=%s\n", runs, kept);
  const char* q = getenv("QUERY_STRING");
  char body[128] = {0};
  size_t n = fread(body, 1, sizeof body - 1, stdin);
  body[n] = 0;
  printf("query=%s body=%s\n", q ? q : "", body);
  snprintf(kept, sizeof kept, "%s/%s", q ? q : "", body);
  return 0;
}
