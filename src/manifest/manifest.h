// wink.toml: the app manifest. Loading checks everything a request would
// otherwise trip over later (unknown fields, bad values, missing module
// files, duplicate or conflicting routes) and refuses the manifest with
// "file:line:column: reason". The format is documented in docs/manifest.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace wink::manifest {

// How a component answers requests: WAGI (CGI over WASI, a fresh instance
// per request) or reactor (long-lived instances that serve many requests,
// docs/guest-interface.md "Long-lived (reactor) components").
enum class Executor { kWagi, kReactor };

// Lifecycle of a reactor component (docs/manifest.md); only with executor = "reactor".
struct Lifecycle {
  std::string scale_to_zero = "on";  // "off" | "on" | "idle"
  std::chrono::milliseconds idle_timeout{1000};
  bool stateful = true;
  uint32_t min_instances = 0;
  uint32_t max_instances = 4;
  std::chrono::milliseconds scale_warmup{0};
  std::chrono::milliseconds scale_cooldown{1000};
  struct Step {
    double lower = 0;
    double upper = 1e300;  // "no upper bound"
    int64_t adjustment = 0;
  };
  struct Policy {
    std::string name;
    std::string metric = "inflight";    // "inflight" | "rps" | "cpu"
    std::string adjustment = "change";  // "change" | "exact" | "percent"
    std::vector<Step> steps;            // 1..4
  };
  std::vector<Policy> scale_policies;
  uint32_t queue = 256;  // requests waiting for an instance, at most
  std::chrono::milliseconds queue_timeout{10'000};
};

// A host directory the guest sees, read-only, at `guest_dir`.
struct FileMount {
  std::filesystem::path host_dir;  // absolute (resolved against the manifest's directory)
  std::string guest_dir;           // absolute guest path, e.g. "/static"
};

// A manifest value with the place it was written, so a check made later (at
// app load, against the node's configuration) can still say "file:line:col".
struct Located {
  std::string value;
  uint32_t line = 0;
  uint32_t column = 0;
};

// Pre-initialization: run `export_name` once, snapshot the instance, and start
// every request's instance from that snapshot (docs/snapshots.md).
struct ComponentInit {
  std::string export_name;  // e.g. "wizer.initialize", "_initialize"
  uint32_t line = 0, column = 0;  // where `init` is written (a later refusal of the export names it)
  std::vector<std::string> args;  // argv during init (default: ["init"])
  // Added to the component's environment during init (these win).
  std::vector<std::pair<std::string, std::string>> environment;
  std::chrono::nanoseconds deadline = std::chrono::seconds(60);
  // Instaboot-style warm-up requests: GET targets ("/search?q=x") served to
  // the instance after `export_name` and before the snapshot, so every later
  // instance starts with what they built. Reactor components only; each one
  // routes to its component (checked with its manifest position).
  std::vector<Located> warmup;
};

// A [variables] entry: `name = { default = "...", required = true, secret = true }`.
struct Variable {
  std::string name;  // lowercase letters, digits and '_', starting with a letter
  std::optional<std::string> default_value;
  bool required = false;  // no default; the node must supply a value or the load fails
  bool secret = false;    // never logged, redacted from log lines
  uint32_t line = 0;
  uint32_t column = 0;
};

struct Component {
  std::string id;                  // the key of its [component.<id>] table
  std::filesystem::path source;    // .wasm or artifact; absolute
  Executor executor = Executor::kWagi;
  // Guest environment, in manifest order; WAGI's built-in variables override these.
  std::vector<std::pair<std::string, std::string>> environment;
  // WAGI argv template ("${SCRIPT_NAME}", "${ARGS}"); unset = WAGI's default argv.
  std::optional<std::string> argv;
  std::vector<FileMount> files;
  std::string entrypoint = "_start";
  uint64_t memory_limit_bytes = 128ull << 20;
  std::chrono::nanoseconds deadline = std::chrono::seconds(30);
  std::optional<ComponentInit> init;  // set by `init = "..."`
  // Capabilities (wink_v1 host interface), checked at load against the node:
  std::vector<Located> key_value_stores;        // store names the component may open
  std::vector<Located> allowed_outbound_hosts;  // "scheme://host:port" patterns
  std::vector<Located> variables;               // [variables] names it may read
  Lifecycle lifecycle;                          // executor = "reactor" only
};

// A route pattern: "/exact/path" or "/prefix/..." (matches "/prefix" and
// everything below it; "/..." matches every path).
struct Route {
  std::string pattern;    // as written in the manifest
  std::string prefix;     // pattern without "/..." for wildcards; the path for exact routes
  bool wildcard = false;
  size_t component = 0;   // index into Manifest::components
};

// [app.quotas]: limits for the app's long-lived instances on a node (0 =
// unlimited); the node's own quotas still bound the sum of all apps.
struct AppQuotas {
  uint64_t active_instances = 0;     // starting + running instances
  uint64_t total_instances = 0;      // running + standby instances
  uint64_t memory_per_instance = 0;  // bytes: each component's memory_limit must fit
  uint64_t memory_total = 0;         // bytes: running limits + saved standby state
  bool any() const { return active_instances || total_instances || memory_per_instance || memory_total; }
};

struct Manifest {
  std::filesystem::path file;  // absolute path of wink.toml
  std::filesystem::path dir;   // its directory; relative paths resolve against it
  std::string app_name;
  std::string description;
  // Extra host names the app answers on a node besides <app>.<domain>
  // (lowercase DNS names, checked by valid_host_name).
  std::vector<Located> hosts;
  AppQuotas quotas;
  std::vector<Component> components;
  std::vector<Route> routes;   // in manifest order
  std::vector<Variable> variables;  // [variables], in manifest order
  std::string display;         // the path as given, for messages

  // "display:line:col: " prefix for a later error about a manifest value.
  std::string where(uint32_t line, uint32_t column) const;
  std::string where(const Located& l) const { return where(l.line, l.column); }

  const Component& component_of(const Route& route) const { return components[route.component]; }
};

// A DNS host name a node routes by: lowercase labels of a-z, 0-9 and '-'
// (1..63 bytes, not starting or ending with '-'), dot-separated, at most 253
// bytes. Returns "" when fine, else the reason.
std::string check_host_name(std::string_view host);
// An app name on a node: one DNS label (lowercase a-z, 0-9, '-'; 1..63 bytes,
// not starting or ending with '-'), so <app>.<domain> is a host name.
std::string check_app_name(std::string_view name);

// The [app] name of manifest text, even when the rest would be refused
// ("" when the TOML does not parse or has none): whose deploy failed.
std::string app_name_of(std::string_view text);

// Loads `path`: a wink.toml file, or a directory holding one.
Result<Manifest> load(const std::filesystem::path& path);

// Parses manifest text. `file` names it in error messages and anchors
// relative paths (its parent directory). Files referenced are checked on disk.
Result<Manifest> parse(std::string_view text, const std::filesystem::path& file);

// "64MiB", "512KiB", "1GiB", "100MB", "65536" (bytes) -> bytes.
Result<uint64_t> parse_size(std::string_view text);
// "5s", "250ms", "100us", "2m", "1h" -> duration.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace wink::manifest
