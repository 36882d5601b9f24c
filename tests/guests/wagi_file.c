// WAGI test guest: serves files from the directory mapped at /data
// (PATH_INFO names the file) and shows that writes are refused.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  const char* info = getenv("PATH_INFO");
  if (!info || !*info) info = "/index.txt";
  char path[512];
  snprintf(path, sizeof path, "/data%s", info);
  if (!strcmp(info, "/write")) {
    FILE* w = fopen("/data/new.txt", "w");
    printf("Content-Type: text/plain\n\nwrite %s\n", w ? "allowed" : "refused");
    return 0;
  }
  FILE* f = fopen(path, "rb");
  if (!f) {
    printf("Status: 404 Not Found\nContent-Type: text/plain\n\nno file %s: %s\n", path,
           strerror(errno));
    return 0;
  }
  printf("Content-Type: text/plain\n\n");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  return 0;
}
