// A C core module (wasm32-wasi reactor) that `jco embed` gives the world of
// wit/reactor.wit and `jco new --wasi-reactor` turns into a component by
// wrapping it with the WASI preview1 adapter. Its exports follow the
// Canonical ABI by hand: `greet` takes and returns a string (realloc,
// a spilled result, post-return), `add` writes through WASI (printf goes
// to wasi:cli/stdout through the adapter).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((export_name("add"))) int add(int a, int b) {
  printf("add %d %d\n", a, b);
  fflush(stdout);
  char* p = malloc(16);
  free(p);
  return a + b;
}

struct string_ret {
  char* ptr;
  size_t len;
};
static struct string_ret ret;

// greet: func(name: string) -> string; the argument was allocated by our
// cabi_realloc and is ours to free, the result is freed by cabi_post_greet.
__attribute__((export_name("greet"))) struct string_ret* greet(char* name, size_t len) {
  static const char kHello[] = "hello, ";
  char* out = malloc(sizeof kHello - 1 + len);
  memcpy(out, kHello, sizeof kHello - 1);
  memcpy(out + sizeof kHello - 1, name, len);
  free(name);
  ret.ptr = out;
  ret.len = sizeof kHello - 1 + len;
  return &ret;
}

__attribute__((export_name("cabi_post_greet"))) void post_greet(struct string_ret* r) {
  free(r->ptr);
  r->ptr = NULL;
}

__attribute__((export_name("cabi_realloc"))) void* cabi_realloc(void* old, size_t old_size, size_t align,
                                                                 size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  return realloc(old, new_size);
}
