// wink-guest-flags: -mexec-model=reactor
// Snapshot test guest whose init misbehaves as $SNAP_MODE says:
// "trap" (unreachable), "loop" (never returns), "file" (leaves a host file
// open), "exit" (proc_exit(3)); anything else succeeds.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd = -1;

__attribute__((export_name("wizer.initialize"))) void init(void) {
  const char* mode = getenv("SNAP_MODE");
  if (!mode) return;
  if (strcmp(mode, "trap") == 0) __builtin_trap();
  if (strcmp(mode, "loop") == 0) {
    for (volatile unsigned i = 0;; ++i) {}
  }
  if (strcmp(mode, "file") == 0) fd = open("/data/input.txt", O_RDONLY);
  if (strcmp(mode, "exit") == 0) exit(3);
}

__attribute__((export_name("handle"))) void handle(void) {
  printf("Content-Type: text/plain\n\nfd=%d\n", fd);
}
