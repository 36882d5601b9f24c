// wink's own host interface for guests (import module "wink_v1"): key-value
// stores, outbound HTTP, variables, structured logs. The guest side is
// sdk/wink.h; every function, error code and limit is in docs/guest-interface.md.
//
//   Node node;                                  // node configuration: stores, vars, limits
//   auto prepared = Prepared::create(node_ptr, spec);   // per component, at load
//   Context ctx(prepared, request_id);              // per instance: cheap
//   Instance::create(module, {&wasi_ctx, &ctx});
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "host/kv.h"
#include "host/metrics.h"
#include "host/outbound.h"
#include "runtime/host_module.h"

namespace wink::host {

// Error codes returned by every wink_v1 function (also in sdk/wink.h).
enum ErrorCode : uint32_t {
  kOk = 0,
  kNotFound = 1,        // key, variable absent
  kInvalid = 2,         // malformed argument (empty key, bad URL, bad level, ...)
  kTooLarge = 3,        // key/value/body over its limit
  kBufferTooSmall = 4,  // *len_out holds the size needed; call again with a larger buffer
  kDenied = 5,          // the component may not use this store / host / variable
  kBadHandle = 6,       // not a handle from kv_open
  kBackend = 7,         // the store's backend failed (I/O, connection)
  kTimeout = 8,         // outbound HTTP ran out of time
  kConnection = 9,      // outbound HTTP could not connect / was reset / TLS failed
  kFault = 10,          // a pointer/length pair lies outside guest memory
  kNoResponse = 11,     // http_response_* without a successful http_send first
  kLimit = 12,          // too many open store handles
  kInternal = 13,       // the host failed inside the call (an exception, out of memory); logged
};
const char* error_name(uint32_t code);

// Receives complete JSON log lines ending in '\n'; called from many threads.
using LogSink = std::function<void(std::string_view lines)>;

// What the node operator configures (`wink up` flags), shared by every app.
struct Node {
  std::map<std::string, std::shared_ptr<KeyValueStore>, std::less<>> stores;
  // Values from --vars-file; the environment's WINK_VAR_<NAME> wins over them.
  std::map<std::string, std::string, std::less<>> file_variables;
  // Looks up an environment variable (tests replace it); nullptr = absent.
  std::function<const char*(const char*)> getenv = [](const char* n) { return ::getenv(n); };
  OutboundOptions outbound;
  std::shared_ptr<Metrics> metrics;  // may be null
  LogSink log;                       // may be empty (logs dropped)
};

// Loads a --vars-file: "name = value" lines ('#' comments, blank lines
// ignored; the value is the rest of the line, trimmed, optionally "quoted").
Result<std::map<std::string, std::string, std::less<>>> load_vars_file(const std::string& path);

// A variable's value for `name` (manifest name, lowercase): WINK_VAR_<NAME>
// from the environment, else the vars file, else nullopt.
std::optional<std::string> node_variable(const Node& node, std::string_view name);

struct ComponentVariable {
  std::optional<std::string> value;  // nullopt: optional, no default, not set on the node
  bool secret = false;
};

// What one component may use, resolved against the node at load time.
struct ComponentSpec {
  std::string app;
  std::string component;
  std::vector<std::string> stores;                     // names the component may open
  AllowList outbound;                                  // allowed_outbound_hosts
  std::map<std::string, ComponentVariable, std::less<>> variables;  // readable, with values
  std::chrono::nanoseconds deadline{0};                // per call; outbound waits use the running
                                                       // call's own deadline (runtime::call_time_left)
};

// Shared by all instances of one component.
class Prepared {
 public:
  // Fails when a store the component names is not configured on the node.
  static Result<std::shared_ptr<const Prepared>> create(std::shared_ptr<const Node> node,
                                                        ComponentSpec spec);

  const Node& node() const { return *node_; }
  const ComponentSpec& spec() const { return spec_; }
  KeyValueStore* store(std::string_view name) const;
  // Replaces every secret value occurring in `text` by "[redacted]".
  void redact(std::string& text) const;
  // One JSON log line (level: debug/info/warn/error) tagged with app,
  // component and request id; secrets redacted. Extra fields as key/value.
  void log(std::string_view level, std::string_view request_id, std::string_view msg,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) const;

 private:
  Prepared() = default;
  std::shared_ptr<const Node> node_;
  ComponentSpec spec_;
  std::map<std::string, KeyValueStore*, std::less<>> stores_;
  std::vector<std::string> secrets_;
};

// Per-instance state: the HostModule for "wink_v1". Construction allocates once.
class Context final : public runtime::HostModule {
 public:
  // `request_id` is copied; it tags this instance's log lines.
  Context(std::shared_ptr<const Prepared> prepared, std::string_view request_id);
  ~Context() override;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // For a context made ahead of its request (its instance ran no guest code).
  void set_request_id(std::string_view request_id);

  std::string_view module_name() const override { return "wink_v1"; }
  void* import_instance() override;
  void attach_memory(wasm_rt_memory_t* memory) override;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// All wink_v1 functions, with signatures.
std::span<const runtime::HostImport> host_imports();

}  // namespace wink::host
