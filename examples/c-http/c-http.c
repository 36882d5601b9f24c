// A wasi:http handler in C, built into a component without a binding
// generator (see wasi_http.h and examples/c-http/wink.toml):
//   GET /      -> "Hello from C!"
//   POST /echo -> the request body, streamed back in 4 KiB chunks
//   /trap      -> a trap (wink answers 500)
//   /loop      -> never returns (wink answers 504 at the deadline)
#include <stdlib.h>
#include <string.h>

#include "wasi_http.h"

// The Canonical ABI allocates the guest memory it lowers into (strings and
// lists the host returns) through this export.
__attribute__((export_name("cabi_realloc")))
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  (void)align;  // malloc's 16-byte alignment covers every Canonical ABI type
  if (new_size == 0) return (void*)align;
  void* p = realloc(old, new_size);
  if (!p) abort();
  return p;
}

static void add_header(handle_t fields, const char* name, const char* value) {
  ret_area_t ret;
  wasi_fields_append(fields, name, strlen(name), (const uint8_t*)value, strlen(value), &ret);
}

// Starts the response (status, headers) and returns its body's output stream.
static handle_t respond(handle_t outparam, int status, const char* content_type, handle_t* body_out) {
  handle_t headers = wasi_fields_new();
  add_header(headers, "content-type", content_type);
  add_header(headers, "x-wink-example", "c-http");
  handle_t response = wasi_outgoing_response_new(headers);
  wasi_outgoing_response_set_status_code(response, status);
  ret_area_t ret;
  wasi_outgoing_response_body(response, &ret);
  handle_t body = (handle_t)ret_u32(&ret, 4);
  wasi_outgoing_body_write(body, &ret);
  handle_t stream = (handle_t)ret_u32(&ret, 4);
  wasi_response_outparam_set(outparam, 0, response, 0, 0, 0, 0, 0, 0);
  *body_out = body;
  return stream;
}

static void write_all(handle_t stream, const uint8_t* data, size_t len) {
  ret_area_t ret;
  while (len > 0) {
    uint32_t n = len > 4096 ? 4096 : (uint32_t)len;
    wasi_output_stream_blocking_write_and_flush(stream, data, n, &ret);
    if (ret_u8(&ret, 0) != 0) return;  // the client went away
    data += n;
    len -= n;
  }
}

static void finish(handle_t stream, handle_t body) {
  ret_area_t ret;
  wasi_drop_output_stream(stream);
  wasi_outgoing_body_finish(body, 0, 0, &ret);
}

static void echo(handle_t request, handle_t outparam) {
  ret_area_t ret;
  wasi_incoming_request_consume(request, &ret);
  handle_t in_body = (handle_t)ret_u32(&ret, 4);
  wasi_incoming_body_stream(in_body, &ret);
  handle_t in = (handle_t)ret_u32(&ret, 4);
  handle_t out_body;
  handle_t out = respond(outparam, 200, "application/octet-stream", &out_body);
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) break;  // closed (or failed): the body is complete
    uint8_t* chunk = (uint8_t*)(uintptr_t)ret_u32(&ret, 4);
    uint32_t len = ret_u32(&ret, 8);
    write_all(out, chunk, len);
    free(chunk);
  }
  wasi_drop_input_stream(in);
  wasi_drop_incoming_body(in_body);
  finish(out, out_body);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  ret_area_t ret;
  wasi_incoming_request_path_with_query(request, &ret);
  char path[256] = "/";
  if (ret_u8(&ret, 0) == 1) {
    uint32_t len = ret_u32(&ret, 8);
    char* text = (char*)(uintptr_t)ret_u32(&ret, 4);
    if (len >= sizeof path) len = sizeof path - 1;
    memcpy(path, text, len);
    path[len] = 0;
    free(text);
  }
  if (strcmp(path, "/echo") == 0) {
    echo(request, outparam);
    wasi_drop_incoming_request(request);
    return;
  }
  if (strcmp(path, "/trap") == 0) __builtin_trap();
  if (strcmp(path, "/loop") == 0) {
    for (volatile int i = 0;; i++) {
    }
  }
  wasi_drop_incoming_request(request);
  handle_t body;
  handle_t out = respond(outparam, 200, "text/plain; charset=utf-8", &body);
  static const char kHello[] = "Hello from C!\n";
  write_all(out, (const uint8_t*)kHello, sizeof kHello - 1);
  finish(out, body);
}
