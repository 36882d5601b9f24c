// WAGI test guest: QUERY_STRING picks a behaviour (good and bad responses,
// traps, endless loop, exit codes, stderr) for the executor's tests.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int sink;

int main(void) {
  const char* q = getenv("QUERY_STRING");
  if (!q) q = "";
  if (!strcmp(q, "status")) {
    printf("Status: 418 I'm a teapot\nContent-Type: text/plain\nX-Custom: yes\n\nteapot\n");
  } else if (!strcmp(q, "location")) {
    printf("Location: https://example.com/elsewhere\n\n");
  } else if (!strcmp(q, "location-status")) {
    printf("Location: /moved\nStatus: 301 Moved Permanently\n\n");
  } else if (!strcmp(q, "notype")) {
    printf("X-Only: header\n\nbody without content type\n");
  } else if (!strcmp(q, "badstatus")) {
    printf("Status: teapot\nContent-Type: text/plain\n\nx\n");
  } else if (!strcmp(q, "crlf")) {
    printf("Content-Type: text/plain\r\n\r\nOh hi world\r\n");
  } else if (!strcmp(q, "trap")) {
    printf("Content-Type: text/plain\n\nabout to trap\n");
    fflush(stdout);
    __builtin_trap();
  } else if (!strcmp(q, "oob")) {
    sink = *(volatile int*)0x7ffffff0;  // far past the end of linear memory
  } else if (!strcmp(q, "loop")) {
    for (;;) sink++;
  } else if (!strcmp(q, "exit3")) {
    printf("Content-Type: text/plain\n\nexiting\n");
    exit(3);
  } else if (!strcmp(q, "exit0")) {
    printf("Content-Type: text/plain\n\nexit zero\n");
    exit(0);
  } else if (!strcmp(q, "stderr")) {
    fprintf(stderr, "first line\nsecond \"quoted\" line\n");
    printf("Content-Type: text/plain\n\nlogged\n");
  } else if (!strcmp(q, "grow")) {
    // Tries to allocate 256 MiB: must fail under a 64MiB limit, not crash.
    // (volatile: otherwise clang may drop an unused malloc and assume success)
    char* volatile p = malloc(256u << 20);
    if (p) p[(256u << 20) - 1] = 1;
    printf("Content-Type: text/plain\n\nmalloc %s\n", p ? "ok" : "failed");
  } else if (!strcmp(q, "sleep")) {
    usleep(500 * 1000);  // a slow but well-behaved handler (graceful stop tests)
    printf("Content-Type: text/plain\n\nslept\n");
  } else if (!strcmp(q, "huge") || !strcmp(q, "fits")) {
    // 64 MiB of body after the header ("huge": over the default stdout cap
    // with the header; "fits": 1 KiB less, under it).
    static char chunk[64 * 1024];
    memset(chunk, 'z', sizeof chunk);
    printf("Content-Type: application/octet-stream\n\n");
    size_t total = 64u << 20;
    if (!strcmp(q, "fits")) total -= 1024;
    for (size_t done = 0; done < total;) {
      size_t n = total - done < sizeof chunk ? total - done : sizeof chunk;
      fwrite(chunk, 1, n, stdout);
      done += n;
    }
  } else if (!strcmp(q, "noisy")) {
    // 2 MiB of stderr lines: twice the default cap; the response is unharmed.
    for (int i = 0; i < 2 * 1024; ++i) fprintf(stderr, "noise %04d %01012d\n", i, 0);
    printf("Content-Type: text/plain\n\nnoisy\n");
  } else if (!strcmp(q, "big")) {
    printf("Content-Type: application/octet-stream\n\n");
    for (int i = 0; i < 1 << 20; ++i) putchar('a' + i % 26);
  } else {
    printf("Content-Type: text/plain\n\nok\n");
  }
  return 0;
}
