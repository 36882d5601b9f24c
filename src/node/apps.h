// The apps of one node: what the control API (src/control) asks of the node
// (src/node). One interface so the API server, its tests and `wink up` all
// drive the same code; the node implements it (node::Registry).
//
//   control API  ──►  node::Apps  ◄──  wink up (deploys its one app directly)
//
// Every call is thread-safe. Errors carry a message meant for the person who
// ran the command ("examples/hello/wink.toml:4:12: unknown field ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace wink::lifecycle {
class Node;
}

namespace wink::node {

// One file of an uploaded app: `path` is relative to the app directory
// ("wink.toml", "hello.wasm", "static/page.html"), '/'-separated, already
// checked by the bundle reader (no "..", no absolute path, no duplicates).
struct BundleFile {
  std::string path;
  std::string bytes;
  bool executable = false;
};

// What `wink deploy DIR` uploads: the manifest (wink.toml at the root), the
// modules it names and the directories it maps in.
struct Bundle {
  std::vector<BundleFile> files;
};

// One step of a deploy, reported as it happens (the CLI prints them).
struct DeployEvent {
  std::string stage;    // "received" | "validated" | "compiling" | "compiled" | "ready" | "switched" | "unchanged" | "failed"
  std::string message;  // human text: "compiling hello.wasm (1/2)", the error for "failed"
};
using DeployProgress = std::function<void(const DeployEvent&)>;

struct DeployOptions {
  std::string name;  // app name; empty: the manifest's [app] name
};

struct DeployResult {
  std::string app;
  uint64_t version = 0;     // 1, 2, ... per app; unchanged on a no-op redeploy
  bool unchanged = false;   // identical content to the serving version
  std::string digest;       // sha256 of the bundle (hex)
  std::vector<std::string> urls;  // "http://hello.localhost:3000/", one per host
};

struct AppInfo {
  std::string name;
  uint64_t version = 0;
  std::string digest;
  std::vector<std::string> hosts;   // "hello.localhost", extra manifest hosts
  std::vector<std::string> routes;  // "/", "/api/..."
  std::string state;                // "serving" | "deploying" | "failed" (last deploy failed; old version serves)
  std::string last_error;           // of the last failed deploy
  uint32_t running = 0, standby = 0;           // long-lived instances
  uint64_t memory_bytes = 0;                   // running linear memory + saved standby state
  uint64_t requests = 0;
  std::chrono::system_clock::time_point deployed{}, last_request{};  // {}: never
};

// A structured log line of an app (guest logs, lifecycle events, deploy steps).
struct LogLine {
  uint64_t seq = 0;   // increasing per app; pass the last seen to read on
  std::string json;   // one JSON object, no trailing newline
};

class Apps {
 public:
  virtual ~Apps() = default;

  // Validates, compiles (off the caller's lock; other apps keep serving and
  // deploying), then switches the app's hosts to the new version atomically
  // and persists it. On any failure the serving version is untouched and the
  // error says why. Blocks until switched or failed; progress is reported.
  virtual Result<DeployResult> deploy(Bundle bundle, const DeployOptions& options, const DeployProgress& progress) = 0;
  // Stops routing to the app, lets requests in flight finish, forgets it
  // (persisted) and deletes its files. Its key-value data is deleted too.
  virtual Result<void> remove(const std::string& app) = 0;
  virtual std::vector<AppInfo> list() const = 0;
  virtual Result<AppInfo> get(const std::string& app) const = 0;
  // Lines with seq > after, at most `max`; waits up to `wait` for the first
  // one when there is none yet (0: return at once).
  virtual Result<std::vector<LogLine>> logs(const std::string& app, uint64_t after, size_t max,
                                            std::chrono::milliseconds wait) const = 0;

  // ---- long-lived instances and administration ----
  // The one lifecycle node every app's long-lived components run on
  // (instances, scale settings, quotas). Its components are named by app.
  virtual lifecycle::Node& lifecycle() = 0;
  // Durable admin settings (scale, lifecycle, quotas) in the node's database,
  // as opaque JSON under a key the control API chooses ("scale/hello/api").
  // put with an empty value deletes. The control API replays them on start
  // and whenever an app's version switches (on_switch), so a restart or a
  // redeploy keeps what an operator set.
  virtual Result<void> put_setting(const std::string& key, const std::string& json) = 0;
  virtual std::vector<std::pair<std::string, std::string>> settings() const = 0;
  // Called (on the deploying thread) after an app's new version took traffic.
  virtual void on_switch(std::function<void(const std::string& app)> callback) = 0;
};

}  // namespace wink::node
