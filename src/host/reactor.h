// The `wink_reactor` import module: what a long-lived (reactor) guest uses
// besides WASI to serve many requests in one instance (guest side:
// sdk/wink_reactor.h; reference: docs/guest-interface.md). It lives in the
// host layer, below the engine: the compiler checks imports against its
// signatures and snapshots instantiate it; lifecycle fills in the request.
//
//   request_var(name, name_len, buf, cap) -> len | -1 (absent) | -2 (fault)
//       a CGI/WAGI request variable of the current request (REQUEST_METHOD,
//       PATH_INFO, QUERY_STRING, HTTP_*, ...); copies min(len, cap) bytes.
//   keep_awake(ms)
//       do not put this instance in standby for the next `ms` milliseconds
//       (0 cancels); capped by the component's max_keep_awake.
//
// Both run through runtime::host_call like every WASI and wink_v1 import.
// The request body is the guest's stdin and the response its stdout (CGI
// headers, blank line, body), both swapped for each call of `wink_handle`.
#pragma once

#include <wasm-rt.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/host_module.h"

struct Z_wink_reactor_instance_t {
  wasm_rt_memory_t* memory = nullptr;
  // The current request's variables ("KEY=VALUE"), set around each call.
  const std::vector<std::string>* vars = nullptr;
  // keep_awake: -1 when the guest did not call it during the last call.
  int64_t keep_awake_ms = -1;
};

extern "C" {
uint32_t Z_wink_reactorZ_request_var(Z_wink_reactor_instance_t* r, uint32_t name, uint32_t name_len,
                                     uint32_t buf, uint32_t cap) noexcept;
void Z_wink_reactorZ_keep_awake(Z_wink_reactor_instance_t* r, uint32_t ms) noexcept;
}

namespace wink::host {

// request_var's answers besides a length.
inline constexpr uint32_t kReactorVarAbsent = static_cast<uint32_t>(-1);
inline constexpr uint32_t kReactorVarFault = static_cast<uint32_t>(-2);

// Per-instance state of the `wink_reactor` import module.
class ReactorContext final : public runtime::HostModule {
 public:
  std::string_view module_name() const override { return "wink_reactor"; }
  void* import_instance() override { return &state_; }
  void attach_memory(wasm_rt_memory_t* memory) override { state_.memory = memory; }
  Z_wink_reactor_instance_t& state() { return state_; }

 private:
  Z_wink_reactor_instance_t state_;
};

// Signatures of every wink_reactor function (for the compiler's import check).
std::span<const runtime::HostImport> reactor_imports();

}  // namespace wink::host
