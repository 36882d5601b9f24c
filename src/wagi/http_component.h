// Per-request wasi:http components: the component executor beside the WAGI
// one. A component (detected by its header) is loaded once per app: its core
// modules compiled through the engine and cache, its imports resolved
// against the WASI 0.2 host. Each request gets a fresh component instance;
// `wasi:http/incoming-handler.handle` is called with the request, and what
// the guest answers goes through the one response path (response.h) as a
// GuestRun, so deadlines (504), traps (500), Server-Timing, metrics and the
// access log are those of WAGI. docs/components.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "http/message.h"
#include "wagi/response.h"
#include "wasi2/wasi2.h"

namespace wink::wagi {

struct HttpComponent;

struct HttpComponentLimits {
  engine::InstanceLimits instance;        // memory pages and the per-request deadline
  size_t max_body_bytes = 64u << 20;      // response body; reaching it is a 500
  size_t max_stderr_bytes = 1u << 20;     // guest stdout+stderr kept per request
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

// Runs one request on a fresh instance and fills `run`: outcome, phases
// (inst, exec), the guest's log lines in run.err, and run.http when the
// guest answered. Thread-safe.
void run_http_component(const HttpComponent& component, const http::Request& request, GuestRun& run);

}  // namespace wink::wagi
