// Context (per instance) and the table of wink_v1 imports, which also keeps
// every host function linked into the binary.
#include <type_traits>

#include "host/imports.h"
#include "runtime/host_call.h"
#include "host/state.h"

namespace wink::host {

Context::Context(std::shared_ptr<const Prepared> prepared, std::string_view request_id)
    : state_(std::make_unique<State>()) {
  state_->prepared = std::move(prepared);
  state_->request_id.reserve(32);  // (room for an id set later: set_request_id allocates nothing)
  state_->request_id.assign(request_id);
}

void Context::set_request_id(std::string_view request_id) { state_->request_id.assign(request_id); }

Context::~Context() = default;

void* Context::import_instance() { return static_cast<Z_wink_v1_instance_t*>(state_.get()); }

void Context::attach_memory(wasm_rt_memory_t* memory) { state_->memory = memory; }

namespace {

// An exception escaping a body (a store backend, libcurl, std::string,
// bad_alloc): logged, explained by error_message, answered with kInternal.
// Must not throw: every step that allocates is guarded.
uint32_t host_failure(Z_wink_v1_instance_t* w, const char* why) noexcept {
  try {
    w->last_error = std::string("host failure: ") + why;
  } catch (...) {
    w->last_error.clear();
  }
  try {
    w->prepared->log("error", w->request_id, "host function failed", {{"error", why}});
  } catch (...) {
  }
  return kInternal;
}

}  // namespace

#define WINK_HOST_DEFINE_(name, params, args)                                               \
  extern "C" uint32_t Z_wink_v1Z_##name(Z_wink_v1_instance_t* w WINK_HOST_PARAMS(args)) noexcept { \
    return runtime::host_call([&] { return impl::name(w WINK_HOST_ARGS(args)); },               \
                              [w](runtime::HostFailure, const char* why) noexcept {             \
                                return host_failure(w, why);                                    \
                              });                                                               \
  }
WINK_HOST_IMPORTS(WINK_HOST_DEFINE_)
#undef WINK_HOST_DEFINE_

namespace {

template <typename T>
constexpr char wasm_type_char() {
  if constexpr (std::is_same_v<T, uint32_t>)
    return 'i';
  else if constexpr (std::is_same_v<T, uint64_t>)
    return 'I';
  else
    return '?';
}

template <typename... A>
constexpr bool signature_matches(uint32_t (*)(Z_wink_v1_instance_t*, A...), std::string_view params) {
  constexpr char p[] = {wasm_type_char<A>()..., '\0'};
  return std::string_view(p, sizeof...(A)) == params;
}

#define WINK_HOST_CHECK_(name, params, args)                             \
  static_assert(signature_matches(&Z_wink_v1Z_##name, params), \
                "signature string of " #name " does not match its prototype");
WINK_HOST_IMPORTS(WINK_HOST_CHECK_)
#undef WINK_HOST_CHECK_

#define WINK_HOST_ENTRY_(name, params, args) runtime::HostImport{"wink_v1", #name, params, "i"},
constexpr runtime::HostImport kImports[] = {WINK_HOST_IMPORTS(WINK_HOST_ENTRY_)};
#undef WINK_HOST_ENTRY_

}  // namespace

using AnyFunction = void (*)();
#define WINK_HOST_FNPTR_(name, params, args) reinterpret_cast<AnyFunction>(&Z_wink_v1Z_##name),
[[gnu::used]] extern const AnyFunction wink_host_functions[] = {WINK_HOST_IMPORTS(WINK_HOST_FNPTR_)};
#undef WINK_HOST_FNPTR_

std::span<const runtime::HostImport> host_imports() {
  asm volatile("" : : "r"(wink_host_functions) : "memory");
  return kImports;
}

}  // namespace wink::host
