// A WAGI handler exercising every wink_v1 call: /kv/selftest, /kv/set, /kv/get,
// /kv/bench, /http, /var, /log, /trap (see tests/host/host_test.cpp).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../sdk/wink.h"

static char* query_param(const char* name) {
  const char* q = getenv("QUERY_STRING");
  if (!q) return NULL;
  size_t nlen = strlen(name);
  while (*q) {
    const char* end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
      const char* v = q + nlen + 1;
      size_t vlen = len - nlen - 1;
      char* out = malloc(vlen + 1);
      size_t o = 0;
      for (size_t i = 0; i < vlen; ++i) {
        if (v[i] == '%' && i + 2 < vlen + 0 + 1 && i + 2 <= vlen - 1 + 1) {
          char hex[3] = {v[i + 1], v[i + 2], 0};
          out[o++] = (char)strtol(hex, NULL, 16);
          i += 2;
        } else if (v[i] == '+') {
          out[o++] = ' ';
        } else {
          out[o++] = v[i];
        }
      }
      out[o] = 0;
      return out;
    }
    if (!end) break;
    q = end + 1;
  }
  return NULL;
}

static char* read_body(size_t* len) {
  size_t cap = 4096, n = 0;
  char* buf = malloc(cap);
  for (;;) {
    if (n == cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(0, buf + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  *len = n;
  return buf;
}

static int failed;
#define CHECK(cond, ...)                          \
  do {                                            \
    if (!(cond)) {                                \
      printf("FAIL line %d: ", __LINE__);         \
      printf(__VA_ARGS__);                        \
      printf("\n");                               \
      failed = 1;                                 \
      return;                                     \
    }                                             \
  } while (0)

static void selftest(const char* store_name) {
  wink_store_t s, s2;
  uint32_t n = 0, ex = 9;
  char buf[64];
  wink_error_t e = wink_kv_open_str(store_name, &s);
  CHECK(e == WINK_OK, "open %s: %s", store_name, wink_error_name(e));
  CHECK(wink_kv_open_str(store_name, &s2) == WINK_OK && s2 == s, "reopen gives same handle");
  const char* keys[] = {"st:a", "st:b", "st:c", "st:big", "st:bin", "su:x"};
  for (int i = 0; i < 6; ++i) CHECK(wink_kv_delete(s, keys[i], strlen(keys[i])) == WINK_OK, "delete");
  e = wink_kv_get(s, "st:a", 4, buf, sizeof buf, &n);
  CHECK(e == WINK_ERR_NOT_FOUND, "get missing: %s", wink_error_name(e));
  CHECK(wink_kv_exists(s, "st:a", 4, &ex) == WINK_OK && ex == 0, "exists missing");
  CHECK(wink_kv_set_str(s, "st:a", "alpha") == WINK_OK, "set a");
  CHECK(wink_kv_set_str(s, "st:c", "gamma") == WINK_OK, "set c");
  CHECK(wink_kv_set_str(s, "st:b", "beta") == WINK_OK, "set b");
  CHECK(wink_kv_set_str(s, "su:x", "other") == WINK_OK, "set su:x");
  CHECK(wink_kv_set_str(s, "st:a", "alpha2") == WINK_OK, "overwrite a");
  e = wink_kv_get(s, "st:a", 4, buf, sizeof buf, &n);
  CHECK(e == WINK_OK && n == 6 && memcmp(buf, "alpha2", 6) == 0, "get a: %s n=%u", wink_error_name(e), n);
  CHECK(wink_kv_exists(s, "st:a", 4, &ex) == WINK_OK && ex == 1, "exists a");
  // empty value
  CHECK(wink_kv_set(s, "st:c", 4, "", 0) == WINK_OK, "set empty");
  CHECK(wink_kv_get(s, "st:c", 4, buf, sizeof buf, &n) == WINK_OK && n == 0, "get empty");
  // binary key and value with NUL bytes
  const char bin_key[] = {'s', 't', ':', 'b', 'i', 'n', 0, 1, (char)0xff};
  const char bin_val[] = {0, 1, 2, 0, (char)0x80};
  CHECK(wink_kv_set(s, bin_key, sizeof bin_key, bin_val, sizeof bin_val) == WINK_OK, "set bin");
  CHECK(wink_kv_get(s, bin_key, sizeof bin_key, buf, sizeof buf, &n) == WINK_OK && n == sizeof bin_val &&
            memcmp(buf, bin_val, n) == 0, "get bin");
  // large value: too-small buffer, then the alloc helper
  uint32_t big_len = 300000;
  char* big = malloc(big_len);
  for (uint32_t i = 0; i < big_len; ++i) big[i] = (char)('a' + i % 26);
  CHECK(wink_kv_set(s, "st:big", 6, big, big_len) == WINK_OK, "set big");
  e = wink_kv_get(s, "st:big", 6, buf, sizeof buf, &n);
  CHECK(e == WINK_ERR_BUFFER_TOO_SMALL && n == big_len, "small buffer: %s n=%u", wink_error_name(e), n);
  char* got = NULL;
  CHECK(wink_kv_get_alloc(s, "st:big", 6, &got, &n) == WINK_OK && n == big_len && memcmp(got, big, n) == 0,
        "get big");
  free(got);
  // list by prefix: sorted, prefix-only
  char list[1024];
  e = wink_kv_list(s, "st:", 3, list, sizeof list, &n);
  CHECK(e == WINK_OK, "list: %s", wink_error_name(e));
  const char* expect[] = {"st:a", "st:b", "st:big", "st:bin", "st:c"};
  uint32_t pos = 0, k = 0, klen;
  const char* key;
  char joined[256] = "";
  while (wink_list_next(list, n, &pos, &key, &klen)) {
    strncat(joined, key, klen < 6 ? klen : 6);
    strcat(joined, ",");
    CHECK(k < 5, "too many keys listed");
    uint32_t want = strlen(expect[k]);
    CHECK(klen >= want && memcmp(key, expect[k], want) == 0, "list order: %s", joined);
    ++k;
  }
  CHECK(k == 5, "list count %u: %s", k, joined);
  e = wink_kv_list(s, "st:", 3, list, 4, &n);
  CHECK(e == WINK_ERR_BUFFER_TOO_SMALL && n > 4, "list small buffer");
  // delete
  CHECK(wink_kv_delete(s, "st:b", 4) == WINK_OK, "delete b");
  CHECK(wink_kv_exists(s, "st:b", 4, &ex) == WINK_OK && ex == 0, "b gone");
  CHECK(wink_kv_delete(s, "st:b", 4) == WINK_OK, "delete absent");
  // limits and errors
  char long_key[300];
  memset(long_key, 'k', sizeof long_key);
  CHECK(wink_kv_set(s, long_key, 256, "v", 1) == WINK_OK, "256-byte key");
  CHECK(wink_kv_delete(s, long_key, 256) == WINK_OK, "delete 256-byte key");
  CHECK(wink_kv_set(s, long_key, 257, "v", 1) == WINK_ERR_TOO_LARGE, "257-byte key");
  CHECK(wink_kv_set(s, "", 0, "v", 1) == WINK_ERR_INVALID, "empty key");
  char* huge = malloc(WINK_MAX_VALUE_BYTES + 1);
  memset(huge, 'x', WINK_MAX_VALUE_BYTES + 1);
  CHECK(wink_kv_set(s, "st:huge", 7, huge, WINK_MAX_VALUE_BYTES + 1) == WINK_ERR_TOO_LARGE, "value too large");
  CHECK(wink_kv_set(s, "st:huge", 7, huge, WINK_MAX_VALUE_BYTES) == WINK_OK, "1 MiB value");
  CHECK(wink_kv_delete(s, "st:huge", 7) == WINK_OK, "delete huge");
  free(huge);
  CHECK(wink_kv_get(99, "st:a", 4, buf, sizeof buf, &n) == WINK_ERR_BAD_HANDLE, "bad handle");
  CHECK(wink_kv_get(s, (const void*)0x7ffffff0, 4096, buf, sizeof buf, &n) == WINK_ERR_FAULT, "fault");
  wink_store_t denied;
  e = wink_kv_open_str("not-granted", &denied);
  CHECK(e == WINK_ERR_DENIED, "open not granted: %s", wink_error_name(e));
  char msg[256];
  CHECK(wink_error_message(msg, sizeof msg, &n) == WINK_OK && n > 0, "error message");
  printf("ok\n");
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(const char* store_name, const char* op, long n, long size) {
  wink_store_t s;
  if (wink_kv_open_str(store_name, &s) != WINK_OK) {
    printf("error=open\n");
    return;
  }
  char* value = malloc(size + 1);
  memset(value, 'v', size);
  char* buf = malloc(size + 16);
  char key[32];
  uint32_t len;
  int get = strcmp(op, "get") == 0;
  if (get) wink_kv_set(s, "bench:key", 9, value, size);
  long errors = 0;
  // Every set writes a value never written before (a run-unique stamp in its
  // first bytes): SQLite skips rewriting identical content, which would turn
  // the commit (and its fsync) into a no-op.
  unsigned long long stamp = (unsigned long long)(now_s() * 1e9);
  double t0 = now_s();
  for (long i = 0; i < n; ++i) {
    if (get) {
      if (wink_kv_get(s, "bench:key", 9, buf, size + 16, &len) != WINK_OK) ++errors;
    } else {
      int kl = snprintf(key, sizeof key, "bench:%ld", i % 1000);
      if (size >= 16) snprintf(value, 17, "%016llx", stamp + (unsigned long long)i);
      if (wink_kv_set(s, key, kl, value, size) != WINK_OK) ++errors;
    }
  }
  double dt = now_s() - t0;
  printf("ops=%ld errors=%ld seconds=%.6f ops_per_sec=%.1f\n", n, errors, dt, n / dt);
}

int main(void) {
  printf("Content-Type: text/plain\n\n");
  const char* path = getenv("PATH_INFO");
  if (!path || !*path) path = "/";
  char* store = query_param("store");
  if (!store) store = "default";
  if (strcmp(path, "/kv/selftest") == 0) {
    selftest(store);
  } else if (strcmp(path, "/kv/set") == 0) {
    wink_store_t s;
    size_t blen;
    char* body = read_body(&blen);
    char* key = query_param("key");
    wink_error_t e = wink_kv_open_str(store, &s);
    if (e == WINK_OK) e = wink_kv_set(s, key, strlen(key), body, blen);
    printf("%s\n", wink_error_name(e));
  } else if (strcmp(path, "/kv/get") == 0) {
    wink_store_t s;
    char* key = query_param("key");
    char* value = NULL;
    uint32_t n = 0;
    wink_error_t e = wink_kv_open_str(store, &s);
    if (e == WINK_OK) e = wink_kv_get_alloc(s, key, strlen(key), &value, &n);
    if (e == WINK_OK) fwrite(value, 1, n, stdout);
    else printf("error=%s\n", wink_error_name(e));
  } else if (strcmp(path, "/kv/bench") == 0) {
    char* op = query_param("op");
    char* n = query_param("n");
    char* size = query_param("size");
    bench(store, op ? op : "get", n ? atol(n) : 1000, size ? atol(size) : 100);
  } else if (strcmp(path, "/http") == 0) {
    char* url = query_param("url");
    char* method = query_param("method");
    if (!method) method = "GET";
    const char* headers = "X-From-Guest: yes\nAccept: text/plain";
    size_t blen;
    char* body = read_body(&blen);
    uint32_t status = 0, n = 0;
    wink_error_t e = wink_http_send(method, strlen(method), url, strlen(url), headers, strlen(headers),
                                    body, blen, &status);
    if (e != WINK_OK) {
      char msg[512];
      wink_error_message(msg, sizeof msg - 1, &n);
      msg[n < sizeof msg ? n : sizeof msg - 1] = 0;
      printf("error=%s message=%s\n", wink_error_name(e), msg);
    } else {
      char hdrs[4096];
      wink_http_response_headers(hdrs, sizeof hdrs, &n);
      char* rbody = NULL;
      uint32_t rlen = 0;
      wink_http_body_alloc(&rbody, &rlen);
      printf("status=%u\n", status);
      fwrite(hdrs, 1, n < sizeof hdrs ? n : 0, stdout);
      printf("\n");
      if (rbody) fwrite(rbody, 1, rlen, stdout);
    }
  } else if (strcmp(path, "/var") == 0) {
    char* name = query_param("name");
    char* value = NULL;
    uint32_t n = 0;
    wink_error_t e = wink_var_get_alloc(name, &value, &n);
    if (e == WINK_OK) fwrite(value, 1, n, stdout);
    else printf("error=%s\n", wink_error_name(e));
    if (e == WINK_OK && query_param("leak")) {
      fprintf(stderr, "leaking %s to stderr\n", value);
      wink_log(WINK_LOG_WARN, value, n);
    }
  } else if (strcmp(path, "/log") == 0) {
    char* msg = query_param("msg");
    wink_log_str(WINK_LOG_INFO, msg);
    wink_log_str(WINK_LOG_ERROR, "an error line");
    fprintf(stderr, "stderr says %s\n", msg);
    printf("logged\n");
  } else if (strcmp(path, "/trap") == 0) {
    fflush(stdout);
    __builtin_trap();
  } else {
    printf("unknown path %s\n", path);
  }
  return 0;  // failures are reported in the body ("FAIL line N: ...")
}
