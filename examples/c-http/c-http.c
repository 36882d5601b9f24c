// A wasi:http handler in C, built into a component without a binding
// generator (see wasi_http.h and examples/c-http/wink.toml):
//   GET /      -> "Hello from C!"
//   POST /echo -> the request body, streamed back in 4 KiB chunks
//   /trap      -> a trap (wink answers 500)
//   /loop      -> never returns (wink answers 504 at the deadline)
#include <string.h>

#include "wasi_http_helpers.h"

// Starts the response (status, headers) and returns its body's output stream.
static handle_t respond(handle_t outparam, int status, const char* content_type, handle_t* body_out) {
  handle_t headers = wasi_fields_new();
  wasi_http_add_header(headers, "content-type", content_type);
  wasi_http_add_header(headers, "x-wink-example", "c-http");
  return wasi_http_respond(outparam, status, headers, body_out);
}

static void echo(handle_t request, handle_t outparam) {
  ret_area_t ret;
  handle_t in_body;
  handle_t in = wasi_http_body_stream(request, &in_body);
  handle_t out_body;
  handle_t out = respond(outparam, 200, "application/octet-stream", &out_body);
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) break;  // closed (or failed): the body is complete
    uint8_t* chunk = (uint8_t*)(uintptr_t)ret_u32(&ret, 4);
    uint32_t len = ret_u32(&ret, 8);
    int ok = wasi_http_write_all(out, chunk, len);
    free(chunk);
    if (!ok) break;  // the client went away
  }
  wasi_drop_input_stream(in);
  wasi_drop_incoming_body(in_body);
  wasi_http_finish(out, out_body);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  char path[256];
  wasi_http_path(request, path, sizeof path);
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
  wasi_http_write_all(out, (const uint8_t*)kHello, sizeof kHello - 1);
  wasi_http_finish(out, body);
}
