// The few steps every C wasi:http handler here takes, on top of the
// bindings in wasi_http.h: the allocator the Canonical ABI lowers into,
// reading the path, starting a response, writing and finishing its body.
// Include it in exactly one file of a component (it defines cabi_realloc).
#pragma once

#include <stdlib.h>
#include <string.h>

#include "wasi_http.h"

// The Canonical ABI allocates the guest memory it lowers into (strings and
// lists the host returns) through this export.
__attribute__((export_name("cabi_realloc")))
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;  // malloc's 16-byte alignment covers every Canonical ABI type
  void* p = realloc(old, new_size);
  if (!p) abort();
  return p;
}

// The request's path and query into `path` (NUL-terminated, cut to fit);
// "/" when the request has none.
static inline void wasi_http_path(handle_t request, char* path, size_t size) {
  ret_area_t ret;
  wasi_incoming_request_path_with_query(request, &ret);
  strcpy(path, "/");
  if (ret_u8(&ret, 0) != 1) return;
  uint32_t len = ret_u32(&ret, 8);
  char* text = (char*)(uintptr_t)ret_u32(&ret, 4);
  if (len >= size) len = (uint32_t)size - 1;
  memcpy(path, text, len);
  path[len] = 0;
  free(text);
}

static inline void wasi_http_add_header(handle_t fields, const char* name, const char* value) {
  ret_area_t ret;
  wasi_fields_append(fields, name, strlen(name), (const uint8_t*)value, strlen(value), &ret);
}

// Sends the response head (status, `headers`, a fields handle it takes) and
// returns its body's output stream; the body goes to *body_out.
static inline handle_t wasi_http_respond(handle_t outparam, int status, handle_t headers, handle_t* body_out) {
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

// Writes all of `data` in chunks of 4096 (the most blocking-write-and-flush
// takes). 0 when the stream failed (the client went away).
static inline int wasi_http_write_all(handle_t stream, const uint8_t* data, size_t len) {
  ret_area_t ret;
  while (len > 0) {
    uint32_t n = len > 4096 ? 4096 : (uint32_t)len;
    wasi_output_stream_blocking_write_and_flush(stream, data, n, &ret);
    if (ret_u8(&ret, 0) != 0) return 0;
    data += n;
    len -= n;
  }
  return 1;
}

// Ends the body: drops its stream, then finishes it without trailers.
static inline void wasi_http_finish(handle_t stream, handle_t body) {
  ret_area_t ret;
  wasi_drop_output_stream(stream);
  wasi_outgoing_body_finish(body, 0, 0, &ret);
}

// A whole text/plain response: head, `len` bytes of `text`, end.
static inline void wasi_http_respond_text(handle_t outparam, int status, const char* text, size_t len) {
  handle_t headers = wasi_fields_new();
  wasi_http_add_header(headers, "content-type", "text/plain");
  handle_t body;
  handle_t stream = wasi_http_respond(outparam, status, headers, &body);
  wasi_http_write_all(stream, (const uint8_t*)text, len);
  wasi_http_finish(stream, body);
}

// The request body's input stream; its incoming-body (to drop after the
// stream) goes to *in_body.
static inline handle_t wasi_http_body_stream(handle_t request, handle_t* in_body) {
  ret_area_t ret;
  wasi_incoming_request_consume(request, &ret);
  *in_body = (handle_t)ret_u32(&ret, 4);
  wasi_incoming_body_stream(*in_body, &ret);
  return (handle_t)ret_u32(&ret, 4);
}
