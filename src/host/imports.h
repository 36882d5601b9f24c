// Internal to src/host: every wink_v1 function with its Wasm signature,
// expanded into the extern "C" prototypes the generated code calls
// (Z_wink_v1Z_<name>) and into host_imports(); a static_assert in
// context.cpp ties each signature string to its prototype.
#pragma once

#include <cstdint>

struct Z_wink_v1_instance_t;

// X(name, params, C parameter types after the instance); all return i32.
#define WINK_HOST_IMPORTS(X)                                                                   \
  X(kv_open, "iii", (uint32_t, uint32_t, uint32_t))                                           \
  X(kv_get, "iiiiii", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))           \
  X(kv_set, "iiiii", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                      \
  X(kv_delete, "iii", (uint32_t, uint32_t, uint32_t))                                         \
  X(kv_exists, "iiii", (uint32_t, uint32_t, uint32_t, uint32_t))                              \
  X(kv_list, "iiiiii", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))          \
  X(http_send, "iiiiiiiii",                                                                   \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t)) \
  X(http_response_headers, "iii", (uint32_t, uint32_t, uint32_t))                             \
  X(http_response_body, "iii", (uint32_t, uint32_t, uint32_t))                                \
  X(var_get, "iiiii", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                     \
  X(log, "iii", (uint32_t, uint32_t, uint32_t))                                               \
  X(error_message, "iii", (uint32_t, uint32_t, uint32_t))

#define WINK_HOST_PARAMS_(...) (Z_wink_v1_instance_t * __VA_OPT__(, ) __VA_ARGS__)
// The entry points the generated code calls (context.cpp): each runs its body
// through runtime::host_call, so nothing thrown reaches the guest.
#define WINK_HOST_DECLARE_(name, params, args) uint32_t Z_wink_v1Z_##name WINK_HOST_PARAMS_ args noexcept;
// The bodies (functions.cpp).
#define WINK_HOST_DECLARE_IMPL_(name, params, args) uint32_t name WINK_HOST_PARAMS_ args;

extern "C" {
WINK_HOST_IMPORTS(WINK_HOST_DECLARE_)
}

namespace wink::host::impl {
WINK_HOST_IMPORTS(WINK_HOST_DECLARE_IMPL_)
}
