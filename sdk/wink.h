/* wink.h: the guest SDK for wink's host interface (import module "wink_v1").
 *
 * Key-value stores, outbound HTTP, variables and structured logs for
 * WebAssembly guests compiled with clang --target=wasm32-wasi. Every function
 * returns a wink_error_t (WINK_OK = 0). Results go into caller buffers; when a
 * buffer is too small the call returns WINK_ERR_BUFFER_TOO_SMALL with the size
 * needed in *len_out, and a retry with a large enough buffer returns the same
 * bytes. The full reference (limits, error codes, semantics) is
 * docs/guest-interface.md.
 *
 *   wink_store_t kv;
 *   if (wink_kv_open_str("default", &kv) == WINK_OK) {
 *     wink_kv_set_str(kv, "greeting", "hello");
 *     char buf[64]; uint32_t n;
 *     if (wink_kv_get(kv, "greeting", 8, buf, sizeof buf, &n) == WINK_OK) ...
 *   }
 */
#ifndef WINK_H
#define WINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t wink_error_t;
typedef uint32_t wink_store_t;

enum {
  WINK_OK = 0,
  WINK_ERR_NOT_FOUND = 1,        /* key or variable value absent */
  WINK_ERR_INVALID = 2,          /* malformed argument */
  WINK_ERR_TOO_LARGE = 3,        /* key, value, body or list over its limit */
  WINK_ERR_BUFFER_TOO_SMALL = 4, /* *len_out holds the size needed */
  WINK_ERR_DENIED = 5,           /* store, host or variable not granted to this component */
  WINK_ERR_BAD_HANDLE = 6,       /* not a handle from wink_kv_open */
  WINK_ERR_BACKEND = 7,          /* the store's backend failed */
  WINK_ERR_TIMEOUT = 8,          /* outbound HTTP ran out of time */
  WINK_ERR_CONNECTION = 9,       /* outbound HTTP: DNS, connect, reset, TLS */
  WINK_ERR_FAULT = 10,           /* pointer/length outside linear memory */
  WINK_ERR_NO_RESPONSE = 11,     /* http_response_* before a successful http_send */
  WINK_ERR_LIMIT = 12,           /* too many open stores */
  WINK_ERR_INTERNAL = 13,        /* the host failed inside the call (logged); nothing was changed */
};

enum { WINK_LOG_DEBUG = 0, WINK_LOG_INFO = 1, WINK_LOG_WARN = 2, WINK_LOG_ERROR = 3 };

#define WINK_MAX_KEY_BYTES 256u
#define WINK_MAX_VALUE_BYTES (1u << 20)
#define WINK_MAX_LIST_KEYS 10000u

#define WINK_IMPORT(name) __attribute__((import_module("wink_v1"), import_name(#name)))

/* ---- key-value ---- */
/* Opens a store named in the component's key_value_stores; the handle lives
 * as long as the instance (opening the same name again returns it). */
WINK_IMPORT(kv_open) wink_error_t wink_kv_open(const char* name, uint32_t name_len, wink_store_t* out);
WINK_IMPORT(kv_get) wink_error_t wink_kv_get(wink_store_t store, const void* key, uint32_t key_len,
                                              void* buf, uint32_t buf_cap, uint32_t* len_out);
WINK_IMPORT(kv_set) wink_error_t wink_kv_set(wink_store_t store, const void* key, uint32_t key_len,
                                              const void* value, uint32_t value_len);
/* Deleting an absent key is not an error. */
WINK_IMPORT(kv_delete) wink_error_t wink_kv_delete(wink_store_t store, const void* key, uint32_t key_len);
WINK_IMPORT(kv_exists) wink_error_t wink_kv_exists(wink_store_t store, const void* key, uint32_t key_len,
                                                    uint32_t* exists_out);
/* Keys starting with prefix, sorted bytewise, each encoded as a little-endian
 * u32 length followed by the key bytes (iterate with wink_list_next). */
WINK_IMPORT(kv_list) wink_error_t wink_kv_list(wink_store_t store, const void* prefix, uint32_t prefix_len,
                                                void* buf, uint32_t buf_cap, uint32_t* len_out);

/* ---- outbound HTTP ---- */
/* headers: "Name: value" lines separated by "\n". On WINK_OK *status_out is
 * the response status; fetch headers ("name: value\n" lines, names lowercase)
 * and body with the two calls below. Only destinations in the component's
 * allowed_outbound_hosts are contacted; others fail with WINK_ERR_DENIED. */
WINK_IMPORT(http_send) wink_error_t wink_http_send(const char* method, uint32_t method_len, const char* url,
                                                    uint32_t url_len, const char* headers, uint32_t headers_len,
                                                    const void* body, uint32_t body_len, uint32_t* status_out);
WINK_IMPORT(http_response_headers) wink_error_t wink_http_response_headers(void* buf, uint32_t buf_cap,
                                                                            uint32_t* len_out);
WINK_IMPORT(http_response_body) wink_error_t wink_http_response_body(void* buf, uint32_t buf_cap,
                                                                      uint32_t* len_out);

/* ---- variables, logs, errors ---- */
WINK_IMPORT(var_get) wink_error_t wink_var_get(const char* name, uint32_t name_len, void* buf,
                                                uint32_t buf_cap, uint32_t* len_out);
WINK_IMPORT(log) wink_error_t wink_log(uint32_t level, const char* msg, uint32_t msg_len);
/* Text explaining the last failed call of this instance (never secret values). */
WINK_IMPORT(error_message) wink_error_t wink_error_message(void* buf, uint32_t buf_cap, uint32_t* len_out);

#undef WINK_IMPORT

/* ---- helpers ---- */

static inline wink_error_t wink_kv_open_str(const char* name, wink_store_t* out) {
  return wink_kv_open(name, (uint32_t)strlen(name), out);
}
static inline wink_error_t wink_kv_set_str(wink_store_t s, const char* key, const char* value) {
  return wink_kv_set(s, key, (uint32_t)strlen(key), value, (uint32_t)strlen(value));
}

/* Two-call pattern made one: *out is malloc'ed (NUL-terminated, not counted
 * in *len_out); free() it. fetch is any (buf, cap, len_out) call. */
#define WINK_FETCH_ALLOC(call_with_buf, out, len_out)                               \
  do {                                                                              \
    uint32_t wink_need_ = 0;                                                        \
    char wink_small_[256];                                                          \
    void* buf = wink_small_;                                                        \
    uint32_t cap = sizeof wink_small_;                                              \
    wink_error_t wink_e_ = call_with_buf;                                           \
    wink_need_ = *(len_out);                                                        \
    if (wink_e_ == WINK_OK) {                                                       \
      *(out) = (char*)malloc(wink_need_ + 1);                                       \
      if (*(out)) { memcpy(*(out), wink_small_, wink_need_); (*(out))[wink_need_] = 0; } \
    } else if (wink_e_ == WINK_ERR_BUFFER_TOO_SMALL) {                              \
      *(out) = (char*)malloc(wink_need_ + 1);                                       \
      buf = *(out);                                                                 \
      cap = wink_need_;                                                             \
      wink_e_ = *(out) ? (call_with_buf) : WINK_ERR_TOO_LARGE;                      \
      if (wink_e_ == WINK_OK) (*(out))[*(len_out)] = 0;                             \
    }                                                                               \
    wink_fetch_result_ = wink_e_;                                                   \
  } while (0)

/* Value of `key` as a malloc'ed NUL-terminated string (free() it). */
static inline wink_error_t wink_kv_get_alloc(wink_store_t s, const void* key, uint32_t key_len,
                                             char** out, uint32_t* len_out) {
  wink_error_t wink_fetch_result_;
  *out = NULL;
  WINK_FETCH_ALLOC(wink_kv_get(s, key, key_len, buf, cap, len_out), out, len_out);
  if (wink_fetch_result_ != WINK_OK) { free(*out); *out = NULL; }
  return wink_fetch_result_;
}

static inline wink_error_t wink_var_get_alloc(const char* name, char** out, uint32_t* len_out) {
  wink_error_t wink_fetch_result_;
  *out = NULL;
  WINK_FETCH_ALLOC(wink_var_get(name, (uint32_t)strlen(name), buf, cap, len_out), out, len_out);
  if (wink_fetch_result_ != WINK_OK) { free(*out); *out = NULL; }
  return wink_fetch_result_;
}

static inline wink_error_t wink_http_body_alloc(char** out, uint32_t* len_out) {
  wink_error_t wink_fetch_result_;
  *out = NULL;
  WINK_FETCH_ALLOC(wink_http_response_body(buf, cap, len_out), out, len_out);
  if (wink_fetch_result_ != WINK_OK) { free(*out); *out = NULL; }
  return wink_fetch_result_;
}

/* Iterates a wink_kv_list buffer: returns 1 and sets key/key_len while keys
 * remain. Start with *pos = 0. */
static inline int wink_list_next(const void* buf, uint32_t len, uint32_t* pos, const char** key,
                                 uint32_t* key_len) {
  const unsigned char* p = (const unsigned char*)buf;
  uint32_t n;
  if (*pos + 4 > len) return 0;
  memcpy(&n, p + *pos, 4);
  if (*pos + 4 + n > len) return 0;
  *key = (const char*)p + *pos + 4;
  *key_len = n;
  *pos += 4 + n;
  return 1;
}

static inline wink_error_t wink_log_str(uint32_t level, const char* msg) {
  return wink_log(level, msg, (uint32_t)strlen(msg));
}

/* Name of an error code, for messages. */
static inline const char* wink_error_name(wink_error_t e) {
  static const char* names[] = {"ok", "not_found", "invalid", "too_large", "buffer_too_small",
                                "denied", "bad_handle", "backend", "timeout", "connection",
                                "fault", "no_response", "limit", "internal"};
  return e < sizeof names / sizeof names[0] ? names[e] : "unknown";
}

#ifdef __cplusplus
}
#endif
#endif /* WINK_H */
