/* WAGI handler for wink: body on stdin -> its SHA-256 in hex. */
#include <stdio.h>
#include <stdlib.h>

#include "sha256.h"

int main(void) {
  const char* cl = getenv("CONTENT_LENGTH");
  size_t want = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
  uint8_t* body = malloc(want ? want : 1);
  size_t len = fread(body, 1, want, stdin);
  char hex[65];
  sha256_hex(body, len, hex);
  hex[64] = '\n';
  fputs("Content-Type: text/plain\n\n", stdout);
  fwrite(hex, 1, 65, stdout);
  return 0;
}
