// Internal to src/host: the per-instance state behind the wink_v1 import
// instance pointer.
#pragma once

#include <wasm-rt.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host/host.h"

struct Z_wink_v1_instance_t {
  std::shared_ptr<const wink::host::Prepared> prepared;
  wasm_rt_memory_t* memory = nullptr;
  std::string request_id;
  // Open store handles: index + 1 is the guest handle.
  struct Handle {
    wink::host::KeyValueStore* store;
    std::string name;
  };
  std::vector<Handle> handles;
  // Value (or key list) of the last call that answered kBufferTooSmall, so the
  // retry with a larger buffer gets the same bytes without asking the store again.
  uint32_t pending_op = 0;  // 0 none, 1 kv_get, 2 kv_list, 3 var_get
  uint32_t pending_handle = 0;
  std::string pending_key;
  std::string pending_value;
  bool has_response = false;
  wink::host::OutboundResponse response;
  std::string last_error;  // explanation of the last failed call (no secrets)

  uint8_t* data() const { return memory ? memory->data : nullptr; }
  uint64_t size() const { return memory ? memory->size : 0; }
  bool ok(uint32_t ptr, uint64_t len) const { return uint64_t{ptr} + len <= size(); }
  std::string_view view(uint32_t ptr, uint32_t len) const {
    return {reinterpret_cast<const char*>(data() + ptr), len};
  }
  void store_u32(uint32_t ptr, uint32_t v) const { std::memcpy(data() + ptr, &v, 4); }
};

namespace wink::host {
struct Context::State : Z_wink_v1_instance_t {};
}  // namespace wink::host
