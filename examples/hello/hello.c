// The smallest WAGI handler: a CGI response on stdout.
#include <stdio.h>

int main(void) {
  printf("Content-Type: text/plain\n\nHello, world!\n");
  return 0;
}
