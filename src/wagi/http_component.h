// Per-request wasi:http components: the component executor beside the WAGI
// one. A component (detected by its header) is loaded once per app: its core
// modules compiled through the engine and cache, its imports resolved
// against the WASI 0.2 host. Each request gets a fresh component instance;
// `wasi:http/incoming-handler.handle` is called with the request, and what
// the guest answers goes through the one response path (response.h) as a
// GuestRun, so deadlines (504), traps (500), Server-Timing, metrics and the
// access log are those of WAGI. docs/components.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "http/message.h"
#include "wagi/response.h"
#include "wasi2/wasi2.h"

namespace wink::linker {
class ComponentInstance;
class InstanceImage;
}  // namespace wink::linker

namespace wink::wagi {

struct HttpComponent;

// A component's `init` (manifest): a function the component exports, with
// no parameters and no results, called once through the Canonical ABI on a
// fresh instance; the image captured right after it (and after `warmup`) is
// what every instance starts from (docs/components.md, "init").
struct HttpComponentInit {
  // "init" (a top-level export), "wasi:foo/bar@1.0.0#init" (a function of an
  // exported instance); "wizer.initialize" (a core name) also finds the
  // component export "wizer-initialize", what `wasmtime wizer` calls.
  std::string export_name;
  std::vector<std::string> args;                         // wasi:cli/environment during init
  std::vector<std::pair<std::string, std::string>> env;  // likewise (the app's, then init_environment)
  std::chrono::nanoseconds deadline = std::chrono::seconds(60);
  // GET targets served to the same instance after init, before the capture
  // (long-lived instances only: manifest `warmup`).
  std::vector<std::string> warmup;
  std::string where;  // "wink.toml:7:8: ": prefixes a refusal of the export itself
};

struct HttpComponentLimits {
  engine::InstanceLimits instance;        // memory pages and the per-request deadline
  size_t max_body_bytes = 64u << 20;      // response body when not streamed; reaching it is a 500
  size_t max_stderr_bytes = 1u << 20;     // guest stdout+stderr kept per request
  // Instances live for one request each (the WAGI executor): the image's
  // memory slots of released instances are reset in place and reused
  // (linker::set_recycled_slots), up to this many. 0 for long-lived
  // instances (lifecycle reactors), which give their memory back at standby.
  size_t recycled_slots = 0;
  // How instances start: run `init` once at load (none: no init).
  std::optional<HttpComponentInit> init;
};

// Loads `bytes` (a component exporting wasi:http/incoming-handler@0.2.x)
// with `config` (environment, preopens, stores and variables). Refusals name
// what is missing or unsupported. `tiering`: whether large core modules may
// run from the quick tier meanwhile (optimized_builds() then lists their builds).
Result<std::shared_ptr<const HttpComponent>> load_http_component(
    engine::Engine& engine, std::span<const uint8_t> bytes, wasi2::Config config,
    const HttpComponentLimits& limits, engine::Tiering tiering = engine::Tiering::kOptimized);

// The background builds of the optimized artifacts of the component's core
// modules served from the quick tier; empty when it runs optimized code.
std::vector<std::shared_future<Result<std::filesystem::path>>> optimized_builds(const HttpComponent& component);

// Whether each instance is restored copy-on-write from an image of the
// component's state (linker::capture_image, taken once at load, after `init`
// when there is one) or instantiated afresh, decided by a rule on what the
// image holds, the same on every machine:
//   - `init` ran: always the image (instantiating would skip init);
//   - else the image when it holds at least kRestoreMinStoredBytes of
//     non-zero state (data segments and what start functions wrote):
//     instantiating writes all of it per instance, restoring maps it;
//   - else a fresh instantiation (it writes less than a restored instance
//     would fault in).
// WINK_COMPONENT_RESTORE=1 always restores, =0 never (not with `init`).
// An image that is used is kept in the data directory (linker::save_image)
// and loaded by the next load of the same bytes, code and configuration
// (a restart, a redeploy): init does not run again (docs/components.md).
constexpr uint64_t kRestoreMinStoredBytes = 64 * 1024;
struct HttpComponentImage {
  bool used = false;
  std::string reason;  // why it is used or not (a log field)
  bool init_ran = false;
  uint64_t stored_bytes = 0;
  double capture_ms = 0;
  double init_ms = 0;  // init and warm-up requests
  // Kept between loads in `file` (<data>/snapshots/*.cimg; empty: not kept,
  // e.g. no data directory): `loaded` from it (init did not run), else the
  // reason the file was not used (`file_rejected`: none yet, stale, damaged)
  // and, when writing it failed, why (`save_error`).
  std::string file;
  bool loaded = false;
  double load_ms = 0;
  std::string file_rejected;
  std::string save_error;
};
const HttpComponentImage& http_component_image(const HttpComponent& component);

// Runs one request on a fresh instance and fills `run`: outcome, phases
// (inst, exec), the guest's log lines in run.err, and run.http when the
// guest answered. Thread-safe. A request from the ingress (request.stream)
// streams: its body is read from the socket as the guest reads it, and the
// response's status and headers (with X-Request-Id `request_id` and
// Server-Timing of the instantiation) go out when the guest sets the
// response, its body as the guest writes it (run.streamed). Otherwise the
// body is whole in the request and the answer is collected in run.http.
void run_http_component(const HttpComponent& component, const http::Request& request, GuestRun& run,
                        std::string_view request_id = {});

// ---- Long-lived instances (lifecycle's reactors; docs/components.md) ----

// A new instance of `component` for many requests: restored from `saved` (a
// state save_http_instance took of an instance of this same component) or,
// when null, started as a per-request one would be (the component's image,
// else a fresh instantiation).
Result<std::unique_ptr<linker::ComponentInstance>> start_http_instance(
    const HttpComponent& component, const std::shared_ptr<const linker::InstanceImage>& saved);

// The image start_http_instance restores a new instance from when it has no
// saved state (null: such an instance is instantiated afresh).
std::shared_ptr<const linker::InstanceImage> http_start_image(const HttpComponent& component);

// The instance's state between two requests (linker::capture_standby_image),
// for a later start_http_instance; its handles and stdio streams are carried
// over. Refused, with the reason, while the guest holds any other host
// resource (a stream, a field list, a request kept from an earlier call):
// those belong to this instance's host state and cannot be restored.
// `previous`: the state the instance was started from, if this function
// saved it, or an own copy of http_start_image (linker::own_copy) when it
// was started from that: only the pages changed since are written, into it;
// it is consumed either way (start nothing more from it).
// `stop`: once true, the save gives up (engine::Snapshot::kStopped) and the instance is as it was.
Result<std::shared_ptr<const linker::InstanceImage>> save_http_instance(const linker::ComponentInstance& instance,
                                                                       const linker::InstanceImage* previous,
                                                                       const std::atomic<bool>* stop = nullptr);
// The same for an instance started from http_start_image or from a delta
// saved this way: only the pages changed since the image, as deltas over it
// (linker::capture_standby_delta; refused when too many changed, and then
// save_http_instance onto an own copy of the image takes the state over).
Result<std::shared_ptr<const linker::InstanceImage>> save_http_delta(const linker::ComponentInstance& instance,
                                                                    const std::atomic<bool>* stop = nullptr);
// Right before an instance whose state was just saved is destroyed: its
// memory slots, mapping that state, are kept for its next start
// (linker::park_slots).
void park_http_instance(const linker::InstanceImage& saved, linker::ComponentInstance& instance);
// Bytes a saved state keeps (its non-zero pages).
uint64_t saved_http_bytes(const linker::InstanceImage& saved);

// Serves one request on `instance` (fresh or long-lived), as
// run_http_component does: `before` are the phases already spent (for
// Server-Timing and the log; exec is added). Returns false when the
// instance must not serve again: it trapped, hit the deadline, exited or
// returned without setting a response.
bool serve_http_request(const HttpComponent& component, linker::ComponentInstance& instance,
                        const http::Request& request, GuestRun& run, std::string_view request_id,
                        Phases before);

}  // namespace wink::wagi
