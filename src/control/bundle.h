// The upload of `wink deploy`: one app directory (its wink.toml, the modules
// it names, the directories it maps) as one byte string.
//
//   pack_bundle(dir) ──bytes──► POST /v1/apps ──► read_bundle(bytes) ──► node::Bundle
//
// Format (little-endian, version 1):
//   "WINKBNDL" u32 version=1 u32 file_count
//   file_count times: u8 type (0 file, 1 executable file; anything else, e.g.
//                     a symlink, is refused) u16 path_length path u64 size bytes
// and nothing after the last file. read_bundle is a pure function over bytes
// that treats them as hostile: every length is checked before it is used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"
#include "node/apps.h"

namespace wink::control {

struct BundleLimits {
  uint64_t max_total_bytes = 256ull << 20;  // sum of file sizes
  uint64_t max_file_bytes = 256ull << 20;   // one file
  uint32_t max_files = 10'000;
  uint32_t max_path_bytes = 1024;  // one path
  uint32_t max_depth = 32;         // path components
};

// Checks and decodes an upload. Refuses (with what and which file): a bad
// magic or version, a truncated or over-long input, counts and sizes over
// `limits`, entry types other than regular files (symlinks), paths that are
// empty, absolute, contain "." or ".." components, empty components, '\\',
// NUL or control characters, duplicates (also "a" beside "a/b"), and a
// bundle without wink.toml at its root.
Result<node::Bundle> read_bundle(std::string_view bytes, const BundleLimits& limits = {});

// Encodes files (paths as read_bundle accepts them) in the format above.
std::string write_bundle(const node::Bundle& bundle);

// Packs the app at `app` (a directory holding wink.toml, or the manifest
// file): the manifest as "wink.toml", every component's module and every file
// under each mapped directory, paths relative to the manifest's directory.
// Refuses symlinks, files outside that directory and anything over `limits`.
Result<node::Bundle> pack_app(const std::filesystem::path& app, const BundleLimits& limits = {});

// Checks one bundle path (the rules of read_bundle); the error says why.
Result<void> check_bundle_path(std::string_view path, const BundleLimits& limits = {});

}  // namespace wink::control
