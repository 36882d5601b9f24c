// The wink_v1 host function bodies, run through the host-call boundary
// (context.cpp, runtime/host_call.h). Each checks every guest pointer/length
// against memory, sizes host allocations by fixed caps, and answers with an
// ErrorCode; none traps.
#include <algorithm>

#include "host/imports.h"
#include "host/state.h"
#include "runtime/runtime.h"

using Instance = Z_wink_v1_instance_t;
using namespace wink::host;

namespace {

constexpr size_t kMaxHandles = 16;
constexpr size_t kMaxLogBytes = 16 * 1024;
constexpr size_t kMaxNameBytes = 256;
constexpr uint32_t kOpGet = 1, kOpList = 2;

uint32_t fail(Instance* w, uint32_t code, std::string message) {
  w->last_error = std::move(message);
  return code;
}

// Writes `bytes` to the guest buffer if it fits; *len_out = bytes.size() always.
uint32_t write_out(Instance* w, std::string_view bytes, uint32_t buf, uint32_t cap, uint32_t len_out) {
  if (bytes.size() > UINT32_MAX) return fail(w, kTooLarge, "result over 4 GiB");
  w->store_u32(len_out, static_cast<uint32_t>(bytes.size()));
  if (bytes.size() > cap) {
    return fail(w, kBufferTooSmall, "buffer of " + std::to_string(cap) + " bytes, " +
                                        std::to_string(bytes.size()) + " needed");
  }
  if (!bytes.empty()) std::memcpy(w->data() + buf, bytes.data(), bytes.size());
  return kOk;
}

Metrics* metrics(Instance* w) { return w->prepared->node().metrics.get(); }

void count_kv(Instance* w, const Instance::Handle& h, std::string_view op, std::string_view result) {
  if (Metrics* m = metrics(w)) m->kv(h.name, op, result);
}

// Resolves a store handle and checks the key; nullptr with *code set on error.
const Instance::Handle* kv_args(Instance* w, uint32_t handle, uint32_t key_ptr, uint32_t key_len,
                                uint32_t* code) {
  if (handle == 0 || handle > w->handles.size()) {
    *code = fail(w, kBadHandle, "no open store with handle " + std::to_string(handle));
    return nullptr;
  }
  if (!w->ok(key_ptr, key_len)) {
    *code = fail(w, kFault, "key outside guest memory");
    return nullptr;
  }
  if (key_len == 0) {
    *code = fail(w, kInvalid, "empty key");
    return nullptr;
  }
  if (key_len > kMaxKeyBytes) {
    *code = fail(w, kTooLarge, "key over " + std::to_string(kMaxKeyBytes) + " bytes");
    return nullptr;
  }
  return &w->handles[handle - 1];
}

uint32_t backend_error(Instance* w, const Instance::Handle& h, std::string_view op,
                       const wink::Error& e) {
  count_kv(w, h, op, "error");
  w->prepared->log("error", w->request_id, "key-value store failed",
                   {{"store", h.name}, {"op", op}, {"error", e.message}});
  return fail(w, kBackend, "store \"" + h.name + "\": " + e.message);
}

}  // namespace

namespace wink::host::impl {

uint32_t kv_open(Instance* w, uint32_t name_ptr, uint32_t name_len, uint32_t handle_out) {
  if (!w->ok(name_ptr, name_len) || !w->ok(handle_out, 4)) return fail(w, kFault, "argument outside guest memory");
  if (name_len > kMaxNameBytes) return fail(w, kTooLarge, "store name over 256 bytes");
  std::string_view name = w->view(name_ptr, name_len);
  for (size_t i = 0; i < w->handles.size(); ++i) {
    if (w->handles[i].name == name) {
      w->store_u32(handle_out, static_cast<uint32_t>(i + 1));
      return kOk;
    }
  }
  KeyValueStore* store = w->prepared->store(name);
  if (store == nullptr) {
    std::string n(name.substr(0, kMaxNameBytes));
    w->prepared->log("warn", w->request_id, "key-value store denied", {{"store", n}});
    return fail(w, kDenied, "store \"" + n + "\" is not in the component's key_value_stores");
  }
  if (w->handles.size() >= kMaxHandles) return fail(w, kLimit, "too many open stores");
  w->handles.push_back({store, std::string(name)});
  w->store_u32(handle_out, static_cast<uint32_t>(w->handles.size()));
  return kOk;
}

uint32_t kv_get(Instance* w, uint32_t handle, uint32_t key_ptr, uint32_t key_len,
                           uint32_t buf, uint32_t cap, uint32_t len_out) {
  uint32_t code = kOk;
  const Instance::Handle* h = kv_args(w, handle, key_ptr, key_len, &code);
  if (!h) return code;
  if (!w->ok(buf, cap) || !w->ok(len_out, 4)) return fail(w, kFault, "buffer outside guest memory");
  std::string_view key = w->view(key_ptr, key_len);
  bool cached = w->pending_op == kOpGet && w->pending_handle == handle && w->pending_key == key;
  w->pending_op = 0;
  if (!cached) {
    auto found = h->store->get(key, w->pending_value);
    if (!found.ok()) return backend_error(w, *h, "get", found.error());
    if (!*found) {
      count_kv(w, *h, "get", "not_found");
      return fail(w, kNotFound, "no such key");
    }
    count_kv(w, *h, "get", "ok");
  }
  code = write_out(w, w->pending_value, buf, cap, len_out);
  if (code == kBufferTooSmall) {
    w->pending_op = kOpGet;
    w->pending_handle = handle;
    w->pending_key.assign(key);
  }
  return code;
}

uint32_t kv_set(Instance* w, uint32_t handle, uint32_t key_ptr, uint32_t key_len,
                           uint32_t value_ptr, uint32_t value_len) {
  uint32_t code = kOk;
  const Instance::Handle* h = kv_args(w, handle, key_ptr, key_len, &code);
  if (!h) return code;
  if (!w->ok(value_ptr, value_len)) return fail(w, kFault, "value outside guest memory");
  if (value_len > kMaxValueBytes) {
    return fail(w, kTooLarge, "value over " + std::to_string(kMaxValueBytes) + " bytes");
  }
  w->pending_op = 0;
  auto r = h->store->set(w->view(key_ptr, key_len), w->view(value_ptr, value_len));
  if (!r.ok()) return backend_error(w, *h, "set", r.error());
  count_kv(w, *h, "set", "ok");
  return kOk;
}

uint32_t kv_delete(Instance* w, uint32_t handle, uint32_t key_ptr, uint32_t key_len) {
  uint32_t code = kOk;
  const Instance::Handle* h = kv_args(w, handle, key_ptr, key_len, &code);
  if (!h) return code;
  w->pending_op = 0;
  auto r = h->store->remove(w->view(key_ptr, key_len));
  if (!r.ok()) return backend_error(w, *h, "delete", r.error());
  count_kv(w, *h, "delete", "ok");
  return kOk;
}

uint32_t kv_exists(Instance* w, uint32_t handle, uint32_t key_ptr, uint32_t key_len,
                              uint32_t out) {
  uint32_t code = kOk;
  const Instance::Handle* h = kv_args(w, handle, key_ptr, key_len, &code);
  if (!h) return code;
  if (!w->ok(out, 4)) return fail(w, kFault, "result outside guest memory");
  auto r = h->store->exists(w->view(key_ptr, key_len));
  if (!r.ok()) return backend_error(w, *h, "exists", r.error());
  count_kv(w, *h, "exists", "ok");
  w->store_u32(out, *r ? 1 : 0);
  return kOk;
}

uint32_t kv_list(Instance* w, uint32_t handle, uint32_t prefix_ptr, uint32_t prefix_len,
                            uint32_t buf, uint32_t cap, uint32_t len_out) {
  if (handle == 0 || handle > w->handles.size()) return fail(w, kBadHandle, "bad store handle");
  const Instance::Handle& h = w->handles[handle - 1];
  if (!w->ok(prefix_ptr, prefix_len) || !w->ok(buf, cap) || !w->ok(len_out, 4)) {
    return fail(w, kFault, "argument outside guest memory");
  }
  if (prefix_len > kMaxKeyBytes) return fail(w, kTooLarge, "prefix over the key limit");
  std::string_view prefix = w->view(prefix_ptr, prefix_len);
  bool cached = w->pending_op == kOpList && w->pending_handle == handle && w->pending_key == prefix;
  w->pending_op = 0;
  if (!cached) {
    auto keys = h.store->list(prefix, kMaxListKeys);
    if (!keys.ok()) return backend_error(w, h, "list", keys.error());
    if (keys->size() > kMaxListKeys) {
      count_kv(w, h, "list", "error");
      return fail(w, kTooLarge, "more than " + std::to_string(kMaxListKeys) +
                                    " keys match; use a longer prefix");
    }
    count_kv(w, h, "list", "ok");
    // Each key as a little-endian u32 length followed by its bytes.
    w->pending_value.clear();
    for (const auto& k : *keys) {
      uint32_t n = static_cast<uint32_t>(k.size());
      w->pending_value.append(reinterpret_cast<const char*>(&n), 4);
      w->pending_value.append(k);
    }
  }
  uint32_t code = write_out(w, w->pending_value, buf, cap, len_out);
  if (code == kBufferTooSmall) {
    w->pending_op = kOpList;
    w->pending_handle = handle;
    w->pending_key.assign(prefix);
  }
  return code;
}

uint32_t http_send(Instance* w, uint32_t method_ptr, uint32_t method_len, uint32_t url_ptr,
                              uint32_t url_len, uint32_t headers_ptr, uint32_t headers_len,
                              uint32_t body_ptr, uint32_t body_len, uint32_t status_out) {
  if (!w->ok(method_ptr, method_len) || !w->ok(url_ptr, url_len) ||
      !w->ok(headers_ptr, headers_len) || !w->ok(body_ptr, body_len) || !w->ok(status_out, 4)) {
    return fail(w, kFault, "argument outside guest memory");
  }
  w->has_response = false;
  const Prepared& p = *w->prepared;
  const OutboundOptions& opt = p.node().outbound;
  // Bounded by what is left of the current guest call (a reactor instance
  // lives across many calls, each with its own deadline).
  auto timeout = opt.timeout;
  auto left_ns = wink::runtime::call_time_left();
  if (left_ns != std::chrono::nanoseconds::max()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(left_ns);
    if (left.count() <= 0) return fail(w, kTimeout, "no time left before the deadline");
    timeout = std::min(timeout, left);
  }
  OutboundRequest req{w->view(method_ptr, method_len), w->view(url_ptr, url_len),
                      w->view(headers_ptr, headers_len), w->view(body_ptr, body_len)};
  std::string message;
  OutboundError e = send_outbound(p.spec().outbound, opt, timeout, req, w->response, message);
  if (Metrics* m = metrics(w)) m->outbound(p.spec().app, p.spec().component, outbound_error_name(e));
  switch (e) {
    case OutboundError::kNone:
      w->has_response = true;
      w->store_u32(status_out, static_cast<uint32_t>(w->response.status));
      return kOk;
    case OutboundError::kDenied:
      p.log("warn", w->request_id, "outbound request denied", {{"error", message}});
      return fail(w, kDenied, message);
    case OutboundError::kInvalid:
      return fail(w, kInvalid, message);
    case OutboundError::kTimeout:
      p.log("warn", w->request_id, "outbound request failed", {{"error", message}});
      return fail(w, kTimeout, message);
    case OutboundError::kTooLarge:
      p.log("warn", w->request_id, "outbound request failed", {{"error", message}});
      return fail(w, kTooLarge, message);
    case OutboundError::kConnection:
      p.log("warn", w->request_id, "outbound request failed", {{"error", message}});
      return fail(w, kConnection, message);
  }
  return fail(w, kConnection, message);
}

uint32_t http_response_headers(Instance* w, uint32_t buf, uint32_t cap, uint32_t len_out) {
  if (!w->ok(buf, cap) || !w->ok(len_out, 4)) return fail(w, kFault, "buffer outside guest memory");
  if (!w->has_response) return fail(w, kNoResponse, "no response: http_send first");
  return write_out(w, w->response.headers, buf, cap, len_out);
}

uint32_t http_response_body(Instance* w, uint32_t buf, uint32_t cap, uint32_t len_out) {
  if (!w->ok(buf, cap) || !w->ok(len_out, 4)) return fail(w, kFault, "buffer outside guest memory");
  if (!w->has_response) return fail(w, kNoResponse, "no response: http_send first");
  return write_out(w, w->response.body, buf, cap, len_out);
}

uint32_t var_get(Instance* w, uint32_t name_ptr, uint32_t name_len, uint32_t buf,
                            uint32_t cap, uint32_t len_out) {
  if (!w->ok(name_ptr, name_len) || !w->ok(buf, cap) || !w->ok(len_out, 4)) {
    return fail(w, kFault, "argument outside guest memory");
  }
  if (name_len > kMaxNameBytes) return fail(w, kTooLarge, "variable name over 256 bytes");
  std::string_view name = w->view(name_ptr, name_len);
  const auto& vars = w->prepared->spec().variables;
  auto it = vars.find(name);
  if (it == vars.end()) {
    return fail(w, kDenied, "variable \"" + std::string(name.substr(0, kMaxNameBytes)) +
                                "\" is not in the component's variables");
  }
  if (!it->second.value) return fail(w, kNotFound, "variable has no value");
  return write_out(w, *it->second.value, buf, cap, len_out);
}

uint32_t log(Instance* w, uint32_t level, uint32_t msg_ptr, uint32_t msg_len) {
  static constexpr const char* kLevels[] = {"debug", "info", "warn", "error"};
  if (level > 3) return fail(w, kInvalid, "level must be 0 (debug) .. 3 (error)");
  if (!w->ok(msg_ptr, msg_len)) return fail(w, kFault, "message outside guest memory");
  std::string_view msg = w->view(msg_ptr, std::min<uint32_t>(msg_len, kMaxLogBytes));
  w->prepared->log(kLevels[level], w->request_id, msg, {{"source", "guest"}});
  return kOk;
}

uint32_t error_message(Instance* w, uint32_t buf, uint32_t cap, uint32_t len_out) {
  if (!w->ok(buf, cap) || !w->ok(len_out, 4)) return kFault;
  std::string message = w->last_error;  // write_out may replace last_error
  return write_out(w, message, buf, cap, len_out);
}

}  // namespace wink::host::impl
