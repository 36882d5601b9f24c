// Hand-written bindings for the part of wasi:http@0.2.10 (and wasi:io
// streams) that c-http.c uses: each import is the core function the
// Canonical ABI defines for it (flattened parameters; results that do not
// fit one core value are written through a return pointer, laid out per
// CanonicalABI.md). A generated binding (wit-bindgen c) does the same for
// every function of the world.
#pragma once

#include <stdint.h>

#define WASI_HTTP_TYPES "wasi:http/types@0.2.10"
#define WASI_IO_STREAMS "wasi:io/streams@0.2.10"
#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

typedef int32_t handle_t;  // an own or borrow handle: an index in the instance's table

// Return areas, 8-byte aligned (error-code has 64-bit fields).
typedef struct {
  _Alignas(8) uint8_t bytes[40];
} ret_area_t;

static inline uint8_t ret_u8(const ret_area_t* r, int at) { return r->bytes[at]; }
static inline uint32_t ret_u32(const ret_area_t* r, int at) {
  return *(const uint32_t*)(r->bytes + at);
}

// method: variant { get, head, post, put, delete, connect, options, trace, patch, other(string) }
IMPORT(WASI_HTTP_TYPES, "[method]incoming-request.method")
void wasi_incoming_request_method(handle_t self, ret_area_t* ret);
// option<string>: tag byte at 0, pointer at 4, length at 8
IMPORT(WASI_HTTP_TYPES, "[method]incoming-request.path-with-query")
void wasi_incoming_request_path_with_query(handle_t self, ret_area_t* ret);
// result<own<incoming-body>>: tag at 0, handle at 4
IMPORT(WASI_HTTP_TYPES, "[method]incoming-request.consume")
void wasi_incoming_request_consume(handle_t self, ret_area_t* ret);
// result<own<input-stream>>: tag at 0, handle at 4
IMPORT(WASI_HTTP_TYPES, "[method]incoming-body.stream")
void wasi_incoming_body_stream(handle_t self, ret_area_t* ret);

IMPORT(WASI_HTTP_TYPES, "[constructor]fields") handle_t wasi_fields_new(void);
// result<_, header-error>: tag at 0
IMPORT(WASI_HTTP_TYPES, "[method]fields.append")
void wasi_fields_append(handle_t self, const char* name, uint32_t name_len, const uint8_t* value,
                        uint32_t value_len, ret_area_t* ret);
IMPORT(WASI_HTTP_TYPES, "[constructor]outgoing-response") handle_t wasi_outgoing_response_new(handle_t headers);
// result: 0 ok, 1 error
IMPORT(WASI_HTTP_TYPES, "[method]outgoing-response.set-status-code")
int32_t wasi_outgoing_response_set_status_code(handle_t self, int32_t status);
// result<own<outgoing-body>>: tag at 0, handle at 4
IMPORT(WASI_HTTP_TYPES, "[method]outgoing-response.body")
void wasi_outgoing_response_body(handle_t self, ret_area_t* ret);
// result<own<output-stream>>: tag at 0, handle at 4
IMPORT(WASI_HTTP_TYPES, "[method]outgoing-body.write")
void wasi_outgoing_body_write(handle_t self, ret_area_t* ret);
// (body, option<own<trailers>>) -> result<_, error-code>: tag at 0
IMPORT(WASI_HTTP_TYPES, "[static]outgoing-body.finish")
void wasi_outgoing_body_finish(handle_t body, int32_t has_trailers, handle_t trailers, ret_area_t* ret);
// (param, result<own<outgoing-response>, error-code>) flattened: the result's
// tag, then the joined flat values of its cases (the handle, or error-code).
IMPORT(WASI_HTTP_TYPES, "[static]response-outparam.set")
void wasi_response_outparam_set(handle_t param, int32_t is_err, int32_t response_or_code, int32_t a, int64_t b,
                                int32_t c, int32_t d, int32_t e, int32_t f);

IMPORT(WASI_HTTP_TYPES, "[resource-drop]incoming-request") void wasi_drop_incoming_request(handle_t);
IMPORT(WASI_HTTP_TYPES, "[resource-drop]incoming-body") void wasi_drop_incoming_body(handle_t);

// result<list<u8>, stream-error>: tag at 0; ok: pointer at 4, length at 8
// (memory from our cabi_realloc); error: stream-error tag at 4 (1 = closed)
IMPORT(WASI_IO_STREAMS, "[method]input-stream.blocking-read")
void wasi_input_stream_blocking_read(handle_t self, int64_t len, ret_area_t* ret);
// result<_, stream-error>: tag at 0. At most 4096 bytes per call.
IMPORT(WASI_IO_STREAMS, "[method]output-stream.blocking-write-and-flush")
void wasi_output_stream_blocking_write_and_flush(handle_t self, const uint8_t* data, uint32_t len, ret_area_t* ret);
IMPORT(WASI_IO_STREAMS, "[resource-drop]input-stream") void wasi_drop_input_stream(handle_t);
IMPORT(WASI_IO_STREAMS, "[resource-drop]output-stream") void wasi_drop_output_stream(handle_t);
