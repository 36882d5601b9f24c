// wink_reactor host functions (see reactor_abi.h).
#include "lifecycle/reactor_abi.h"

#include <cstring>

extern "C" {

uint32_t Z_wink_reactorZ_request_var(Z_wink_reactor_instance_t* r, uint32_t name, uint32_t name_len,
                                     uint32_t buf, uint32_t cap) {
  const uint64_t size = r->memory ? r->memory->size : 0;
  if (uint64_t{name} + name_len > size || uint64_t{buf} + cap > size) return static_cast<uint32_t>(-2);
  if (r->vars == nullptr) return static_cast<uint32_t>(-1);
  std::string_view want(reinterpret_cast<const char*>(r->memory->data + name), name_len);
  for (const std::string& kv : *r->vars) {
    if (kv.size() > want.size() && kv[want.size()] == '=' && std::string_view(kv).substr(0, want.size()) == want) {
      std::string_view value = std::string_view(kv).substr(want.size() + 1);
      std::memcpy(r->memory->data + buf, value.data(), std::min<size_t>(value.size(), cap));
      return static_cast<uint32_t>(value.size());
    }
  }
  return static_cast<uint32_t>(-1);
}

void Z_wink_reactorZ_keep_awake(Z_wink_reactor_instance_t* r, uint32_t ms) { r->keep_awake_ms = ms; }

}  // extern "C"

namespace wink::lifecycle {

std::span<const runtime::HostImport> reactor_imports() {
  static const runtime::HostImport kImports[] = {
      {"wink_reactor", "request_var", "iiii", "i"},
      {"wink_reactor", "keep_awake", "i", ""},
  };
  return kImports;
}

}  // namespace wink::lifecycle
