// A wasi:http handler in C for the end-to-end test: a wasm32-wasi reactor
// that `jco embed` gives the world of wit/http_app.wit.in and `jco new
// --wasi-reactor` wraps with the WASI preview1 adapter. Imports and the
// export follow the Canonical ABI by hand (flat parameters, return areas).
// It answers every request with status 200, headers x-path and
// content-type, and the body "echo:" + the request body, copied in chunks
// of at most 4096 bytes as it streams in; "/trap" traps.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP(name) __attribute__((import_module("wasi:http/types@0.2.12"), import_name(name)))
#define IO(name) __attribute__((import_module("wasi:io/streams@0.2.12"), import_name(name)))

HTTP("[method]incoming-request.path-with-query") void path_with_query(int32_t req, void* ret);
HTTP("[method]incoming-request.consume") void consume(int32_t req, void* ret);
HTTP("[method]incoming-body.stream") void body_stream(int32_t body, void* ret);
HTTP("[static]incoming-body.finish") int32_t body_finish(int32_t body);
HTTP("[constructor]fields") int32_t fields_new(void);
HTTP("[method]fields.append") void fields_append(int32_t f, const char* n, size_t nl, const char* v, size_t vl, void* ret);
HTTP("[constructor]outgoing-response") int32_t response_new(int32_t headers);
HTTP("[method]outgoing-response.body") void response_body(int32_t resp, void* ret);
HTTP("[static]response-outparam.set") void outparam_set(int32_t out, int32_t disc, int32_t p0, int32_t p1, int64_t p2,
                                                        int32_t p3, int32_t p4, int32_t p5, int32_t p6);
HTTP("[method]outgoing-body.write") void outgoing_write(int32_t body, void* ret);
HTTP("[static]outgoing-body.finish") void outgoing_finish(int32_t body, int32_t has_trailers, int32_t trailers, void* ret);
HTTP("[resource-drop]incoming-request") void drop_request(int32_t);
HTTP("[resource-drop]future-trailers") void drop_future_trailers(int32_t);
IO("[method]input-stream.blocking-read") void blocking_read(int32_t in, int64_t len, void* ret);
IO("[method]output-stream.blocking-write-and-flush") void write_flush(int32_t out, const void* p, size_t n, void* ret);
IO("[resource-drop]input-stream") void drop_input(int32_t);
IO("[resource-drop]output-stream") void drop_output(int32_t);

static _Alignas(8) uint8_t ret[64];
static uint32_t u32_at(int off) { uint32_t v; memcpy(&v, ret + off, 4); return v; }

static void append(int32_t f, const char* name, const char* value, size_t len) {
  fields_append(f, name, strlen(name), value, len, ret);
  if (ret[0] != 0) __builtin_trap();
}

static void write_all(int32_t out, const char* p, size_t n) {
  while (n > 0) {
    size_t chunk = n < 4096 ? n : 4096;
    write_flush(out, p, chunk, ret);
    if (ret[0] != 0) __builtin_trap();
    p += chunk;
    n -= chunk;
  }
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void handle(int32_t req, int32_t outparam) {
  path_with_query(req, ret);
  char* path = ret[0] ? (char*)(uintptr_t)u32_at(4) : NULL;
  size_t path_len = ret[0] ? u32_at(8) : 0;
  if (path_len == 5 && memcmp(path, "/trap", 5) == 0) __builtin_trap();
  printf("handling %.*s\n", (int)path_len, path);
  fflush(stdout);

  consume(req, ret);
  if (ret[0] != 0) __builtin_trap();
  int32_t body = (int32_t)u32_at(4);
  body_stream(body, ret);
  if (ret[0] != 0) __builtin_trap();
  int32_t in = (int32_t)u32_at(4);

  int32_t headers = fields_new();
  append(headers, "x-path", path, path_len);
  append(headers, "content-type", "text/plain", 10);
  free(path);
  int32_t resp = response_new(headers);
  response_body(resp, ret);
  if (ret[0] != 0) __builtin_trap();
  int32_t ob = (int32_t)u32_at(4);
  outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
  outgoing_write(ob, ret);
  if (ret[0] != 0) __builtin_trap();
  int32_t out = (int32_t)u32_at(4);

  write_all(out, "echo:", 5);
  for (;;) {
    blocking_read(in, 65536, ret);
    if (ret[0] != 0) break;  // closed (or failed): the body is over
    char* p = (char*)(uintptr_t)u32_at(4);
    size_t n = u32_at(8);
    write_all(out, p, n);
    free(p);
  }
  drop_input(in);
  drop_future_trailers(body_finish(body));
  drop_request(req);
  drop_output(out);
  outgoing_finish(ob, 0, 0, ret);
  if (ret[0] != 0) __builtin_trap();
}

__attribute__((export_name("cabi_realloc"))) void* cabi_realloc(void* old, size_t old_size, size_t align,
                                                                 size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;
  return realloc(old, new_size);
}
