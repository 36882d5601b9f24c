// Echoes the request back: method, path, query, every HTTP_* header and the
// body (read from stdin). Shows where WAGI puts each part of a request.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char** environ;

static const char* env(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

int main(int argc, char** argv) {
  printf("Content-Type: text/plain; charset=utf-8\n\n");
  printf("method: %s\n", env("REQUEST_METHOD"));
  printf("path: %s (route %s, path info \"%s\")\n", env("SCRIPT_NAME"), env("X_MATCHED_ROUTE"),
         env("PATH_INFO"));
  printf("query: %s\n", env("QUERY_STRING"));
  for (int i = 1; i < argc; ++i) printf("arg: %s\n", argv[i]);
  printf("headers:\n");
  for (char** e = environ; *e; ++e) {
    if (strncmp(*e, "HTTP_", 5) == 0) printf("  %s\n", *e + 5);
  }
  printf("body (%s bytes, %s):\n", env("CONTENT_LENGTH"), env("CONTENT_TYPE"));
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  return 0;
}
