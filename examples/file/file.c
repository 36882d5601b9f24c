// Serves a page from a directory the manifest maps into the guest (read-only)
// at /static, filling in a greeting from the manifest's environment.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  FILE* f = fopen("/static/page.html", "r");
  if (!f) {
    printf("Status: 500\nContent-Type: text/plain\n\ncannot open /static/page.html\n");
    return 0;
  }
  const char* greeting = getenv("GREETING");
  printf("Content-Type: text/html; charset=utf-8\n\n");
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char* mark = strstr(line, "{{greeting}}");
    if (mark && greeting) {
      *mark = '\0';
      printf("%s%s%s", line, greeting, mark + strlen("{{greeting}}"));
    } else {
      fputs(line, stdout);
    }
  }
  fclose(f);
  return 0;
}
