// wink_reactor host functions (see reactor.h).
#include "host/reactor.h"

#include <algorithm>
#include <cstring>

#include "runtime/host_call.h"

using wink::host::kReactorVarAbsent;
using wink::host::kReactorVarFault;

namespace {

uint32_t request_var(Z_wink_reactor_instance_t* r, uint32_t name, uint32_t name_len, uint32_t buf,
                     uint32_t cap) {
  // A module without a memory has no bytes to name a variable with.
  if (r->memory == nullptr) return kReactorVarFault;
  const uint64_t size = r->memory->size;
  if (uint64_t{name} + name_len > size || uint64_t{buf} + cap > size) return kReactorVarFault;
  if (r->vars == nullptr) return kReactorVarAbsent;
  std::string_view want(reinterpret_cast<const char*>(r->memory->data + name), name_len);
  for (const std::string& kv : *r->vars) {
    if (kv.size() > want.size() && kv[want.size()] == '=' && std::string_view(kv).substr(0, want.size()) == want) {
      std::string_view value = std::string_view(kv).substr(want.size() + 1);
      if (value.size() >= kReactorVarFault) return kReactorVarFault;  // a length must not read as -1/-2
      std::memcpy(r->memory->data + buf, value.data(), std::min<size_t>(value.size(), cap));
      return static_cast<uint32_t>(value.size());
    }
  }
  return kReactorVarAbsent;
}

}  // namespace

extern "C" {

uint32_t Z_wink_reactorZ_request_var(Z_wink_reactor_instance_t* r, uint32_t name, uint32_t name_len,
                                     uint32_t buf, uint32_t cap) noexcept {
  return wink::runtime::host_call([&] { return request_var(r, name, name_len, buf, cap); },
                                  [](wink::runtime::HostFailure, const char*) noexcept { return kReactorVarFault; });
}

void Z_wink_reactorZ_keep_awake(Z_wink_reactor_instance_t* r, uint32_t ms) noexcept {
  wink::runtime::host_call([&] { r->keep_awake_ms = ms; }, [](wink::runtime::HostFailure, const char*) noexcept {});
}

}  // extern "C"

namespace wink::host {

std::span<const runtime::HostImport> reactor_imports() {
  static const runtime::HostImport kImports[] = {
      {"wink_reactor", "request_var", "iiii", "i"},
      {"wink_reactor", "keep_awake", "i", ""},
  };
  return kImports;
}

}  // namespace wink::host
