// The WAGI executor: serves an app's routes with per-request instances.
//
//   engine::Engine engine({.data_dir = dir});
//   auto app = wagi::App::load(std::move(manifest), engine);   // compiles every module now
//   http::Server server(config, [&](auto& req, auto& resp) { (*app)->handle(req, resp); });
//
// Per request: route match, one WASI Context + one Instance, `_start` (or the
// component's entrypoint) under the component's deadline and memory limit,
// stdout parsed as a CGI response. A source that is a wasi:http component
// (detected by its header) runs through http_component.h instead: a fresh
// component instance, incoming-handler.handle, the same response path. Guest failures become 500/502/504 with a
// JSON error log line; they never affect other requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "host/host.h"
#include "http/message.h"
#include "manifest/manifest.h"
#include "manifest/router.h"
#include "wagi/http_component.h"
#include "wagi/response.h"
#include "wasi/wasi.h"

namespace wink::wagi {

// Writes each line to stderr with one write(2).
void log_to_stderr(std::string_view line);

struct AppOptions {
  LogSink log = log_to_stderr;
  size_t max_stdout_bytes = 64u << 20;  // a larger response is a 500
  size_t max_stderr_bytes = 1u << 20;   // guest stderr kept per request (the rest dropped)
  // Components with `init`: memory slots kept mapped from the snapshot (and
  // their hot pages faulted in) ahead of demand, per component. 0: map on demand.
  uint32_t snapshot_warm_slots = 0;
  // Node configuration for the wink_v1 host interface (key-value stores,
  // variables, outbound limits, metrics). Null: no stores, no metrics; the
  // host log sink defaults to `log`.
  std::shared_ptr<host::Node> host;
};

// The wink_v1 capabilities of component `c` checked against `node` (stores
// configured, host patterns valid, required variables set); refusals name
// the manifest position. Shared with the reactor executor (wink_lifecycle).
Result<host::ComponentSpec> host_spec_for(const manifest::Manifest& m, const manifest::Component& c,
                                          const host::Node& node, std::chrono::nanoseconds deadline);

// How a wasi:http component of the manifest runs, per request or long-lived
// (wink_lifecycle): its WASI 0.2 configuration (argv, environment, read-only
// files, wink_v1's stores and variables through `host`), its limits and its
// `init` (with `warmup`, for long-lived instances; refusals of the export
// name the manifest's line and column).
struct HttpComponentSetup {
  wasi2::Config config;
  HttpComponentLimits limits;
};
HttpComponentSetup http_component_setup(const manifest::Manifest& manifest, const manifest::Component& c,
                                        std::shared_ptr<const host::Prepared> host, const AppOptions& options);

class App {
 public:
  // Loads every component's module through `engine` (compiling it or taking
  // it from the artifact cache) and prepares its WASI configuration, so the
  // first request costs no more than the next. `engine` must outlive the App.
  static Result<std::unique_ptr<App>> load(manifest::Manifest manifest, engine::Engine& engine,
                                           AppOptions options = {});

  // Answers one request; thread-safe. 404 when no route matches. Runs the
  // guest on the calling thread (an executor, never an I/O thread).
  void handle(const http::Request& request, http::Response& response) const;
  // Whether the route of `head` reads its body as a stream (a wasi:http
  // component): the ingress then hands it over before the body arrived.
  bool streams_body(const http::Request& head) const;

  const manifest::Manifest& manifest() const { return manifest_; }

  struct ComponentState;
  struct Served;
  // Stops waiting for optimized builds (the engine's cache cancels them).
  ~App();

 private:
  App() = default;
  // One WAGI run: a WASI command (or entrypoint) with the request on stdin.
  void run_wagi(const ComponentState& state, const std::shared_ptr<const Served>& served,
                const manifest::Route& route,
                const manifest::Component& component, const http::Request& request,
                std::string_view request_id, GuestRun& run) const;
  // What serves component `i` now (requests hold it until they finish).
  std::shared_ptr<const Served> served(size_t i) const;
  // Tiering (docs/compile.md): waits for the optimized builds of the
  // components loaded from the quick tier, loads each again and swaps it in.
  void upgrade_tiers(engine::Engine& engine);
  // A component with `init`: the snapshot of `served`'s artifact (a valid
  // file is loaded, else init runs and it is written), logged.
  Result<void> load_init_snapshot(engine::Engine& engine, const ComponentState& state, Served& served,
                                  const std::string& component) const;
  void log_event(std::string_view level, std::string_view msg, const std::string& component,
                 const std::vector<std::pair<std::string, std::string>>& fields) const;

  manifest::Manifest manifest_;
  std::unique_ptr<manifest::Router> router_;
  std::vector<ComponentState> components_;  // parallel to manifest_.components
  AppOptions options_;
  mutable std::mutex served_mu_;            // guards each ComponentState::served
  std::atomic<bool> stopping_{false};
  std::thread upgrader_;                    // runs upgrade_tiers while any component is on the quick tier
};

}  // namespace wink::wagi
