// A wasi:http handler for the streaming tests (http_component_test.cpp),
// built like examples/c-http (whose bindings it reuses) and written the way
// a careful guest streams: check-write before each write, and, when it says
// 0, the output stream's pollable.
//   POST /echo          -> the request body, back as it arrives
//   POST /sink          -> "N" (bytes read); 413 "failed after N" when the body's stream fails
//   GET  /slow          -> "first\n", 300 ms on a clock pollable, then "second\n"
//   GET  /big?N         -> N MiB (default 64) of a byte pattern
//   GET  /trap-after-head -> a chunk, then a trap
//   GET  /length        -> Content-Length: 5, "12345"
//   GET  /length-short  -> Content-Length: 10, only "12345"
#include <stdlib.h>
#include <string.h>

#include "wasi_http_helpers.h"

#define WASI_IO_POLL "wasi:io/poll@0.2.10"
#define WASI_CLOCKS "wasi:clocks/monotonic-clock@0.2.10"

// result<u64, stream-error>: tag at 0, u64 at 8
IMPORT(WASI_IO_STREAMS, "[method]output-stream.check-write")
void wasi_output_stream_check_write(handle_t self, ret_area_t* ret);
// result<_, stream-error>: tag at 0
IMPORT(WASI_IO_STREAMS, "[method]output-stream.write")
void wasi_output_stream_write(handle_t self, const uint8_t* data, uint32_t len, ret_area_t* ret);
IMPORT(WASI_IO_STREAMS, "[method]output-stream.subscribe") handle_t wasi_output_stream_subscribe(handle_t self);
IMPORT(WASI_IO_POLL, "[method]pollable.block") void wasi_pollable_block(handle_t self);
IMPORT(WASI_IO_POLL, "[resource-drop]pollable") void wasi_drop_pollable(handle_t self);
IMPORT(WASI_CLOCKS, "subscribe-duration") handle_t wasi_subscribe_duration(int64_t ns);

static handle_t respond(handle_t outparam, int status, const char* length, handle_t* body_out) {
  handle_t headers = wasi_fields_new();
  wasi_http_add_header(headers, "content-type", "application/octet-stream");
  if (length) wasi_http_add_header(headers, "content-length", length);
  return wasi_http_respond(outparam, status, headers, body_out);
}

// Writes all of `data`, waiting on the stream's pollable while the client is
// slow. 0 when the stream failed (the client went away).
static int write_all(handle_t stream, const uint8_t* data, size_t len) {
  ret_area_t ret;
  while (len > 0) {
    wasi_output_stream_check_write(stream, &ret);
    if (ret_u8(&ret, 0) != 0) return 0;
    uint64_t room = *(const uint64_t*)(ret.bytes + 8);
    if (room == 0) {
      handle_t p = wasi_output_stream_subscribe(stream);
      wasi_pollable_block(p);
      wasi_drop_pollable(p);
      continue;
    }
    uint32_t n = len < room ? (uint32_t)len : (uint32_t)room;
    wasi_output_stream_write(stream, data, n, &ret);
    if (ret_u8(&ret, 0) != 0) return 0;
    data += n;
    len -= n;
  }
  return 1;
}

static void sleep_ms(int ms) {
  handle_t p = wasi_subscribe_duration((int64_t)ms * 1000000);
  wasi_pollable_block(p);
  wasi_drop_pollable(p);
}

static void echo(handle_t request, handle_t outparam) {
  handle_t in_body, out_body;
  handle_t in = wasi_http_body_stream(request, &in_body);
  handle_t out = respond(outparam, 200, 0, &out_body);
  ret_area_t ret;
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) break;
    uint8_t* chunk = (uint8_t*)(uintptr_t)ret_u32(&ret, 4);
    uint32_t len = ret_u32(&ret, 8);
    int ok = write_all(out, chunk, len);
    free(chunk);
    if (!ok) break;
  }
  wasi_drop_input_stream(in);
  wasi_drop_incoming_body(in_body);
  wasi_http_finish(out, out_body);
}

static void sink(handle_t request, handle_t outparam) {
  handle_t in_body, out_body;
  handle_t in = wasi_http_body_stream(request, &in_body);
  ret_area_t ret;
  unsigned long long total = 0;
  int failed = 0;
  for (;;) {
    wasi_input_stream_blocking_read(in, 65536, &ret);
    if (ret_u8(&ret, 0) != 0) {
      failed = ret_u8(&ret, 4) == 0;  // last-operation-failed (1 = closed: the end)
      break;
    }
    total += ret_u32(&ret, 8);
    free((void*)(uintptr_t)ret_u32(&ret, 4));
  }
  wasi_drop_input_stream(in);
  wasi_drop_incoming_body(in_body);
  char text[64];
  char digits[24];
  int d = 0;
  do {
    digits[d++] = (char)('0' + total % 10);
    total /= 10;
  } while (total);
  int t = 0;
  if (failed) {
    memcpy(text, "failed after ", 13);
    t = 13;
  }
  while (d) text[t++] = digits[--d];
  handle_t out = respond(outparam, failed ? 413 : 200, 0, &out_body);
  write_all(out, (const uint8_t*)text, (size_t)t);
  wasi_http_finish(out, out_body);
}

static void big(const char* query, handle_t outparam) {
  unsigned mib = query ? (unsigned)atoi(query) : 64;
  if (mib == 0) mib = 64;
  static uint8_t block[65536];
  for (size_t i = 0; i < sizeof block; ++i) block[i] = (uint8_t)(i * 7 + 1);
  handle_t out_body;
  handle_t out = respond(outparam, 200, 0, &out_body);
  for (unsigned i = 0; i < mib * 16u; ++i) {
    if (!write_all(out, block, sizeof block)) break;
  }
  wasi_http_finish(out, out_body);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle(handle_t request, handle_t outparam) {
  char path[256];
  wasi_http_path(request, path, sizeof path);
  char* query = strchr(path, '?');
  if (query) *query++ = 0;
  handle_t body;
  if (strcmp(path, "/echo") == 0) {
    echo(request, outparam);
  } else if (strcmp(path, "/sink") == 0) {
    sink(request, outparam);
  } else if (strcmp(path, "/slow") == 0) {
    handle_t out = respond(outparam, 200, 0, &body);
    write_all(out, (const uint8_t*)"first\n", 6);
    sleep_ms(300);
    write_all(out, (const uint8_t*)"second\n", 7);
    wasi_http_finish(out, body);
  } else if (strcmp(path, "/big") == 0) {
    big(query, outparam);
  } else if (strcmp(path, "/trap-after-head") == 0) {
    handle_t out = respond(outparam, 200, 0, &body);
    write_all(out, (const uint8_t*)"partial", 7);
    sleep_ms(50);
    __builtin_trap();
  } else if (strcmp(path, "/trap") == 0) {
    __builtin_trap();
  } else if (strcmp(path, "/length") == 0) {
    handle_t out = respond(outparam, 200, "5", &body);
    write_all(out, (const uint8_t*)"12345", 5);
    wasi_http_finish(out, body);
  } else if (strcmp(path, "/length-short") == 0) {
    handle_t out = respond(outparam, 200, "10", &body);
    write_all(out, (const uint8_t*)"12345", 5);
    wasi_http_finish(out, body);
  } else {
    handle_t out = respond(outparam, 404, 0, &body);
    wasi_http_finish(out, body);
  }
  wasi_drop_incoming_request(request);
}
