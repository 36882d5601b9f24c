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

// How a component answers requests. Only WAGI (CGI over WASI, per-request
// instances) exists today; long-lived instances will be a second executor.
enum class Executor { kWagi };

// A host directory the guest sees, read-only, at `guest_dir`.
struct FileMount {
  std::filesystem::path host_dir;  // absolute (resolved against the manifest's directory)
  std::string guest_dir;           // absolute guest path, e.g. "/static"
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
};

// A route pattern: "/exact/path" or "/prefix/..." (matches "/prefix" and
// everything below it; "/..." matches every path).
struct Route {
  std::string pattern;    // as written in the manifest
  std::string prefix;     // pattern without "/..." for wildcards; the path for exact routes
  bool wildcard = false;
  size_t component = 0;   // index into Manifest::components
};

struct Manifest {
  std::filesystem::path file;  // absolute path of wink.toml
  std::filesystem::path dir;   // its directory; relative paths resolve against it
  std::string app_name;
  std::string description;
  std::vector<Component> components;
  std::vector<Route> routes;   // in manifest order

  const Component& component_of(const Route& route) const { return components[route.component]; }
};

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
