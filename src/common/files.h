// File helpers with the guarantees the platform promises: whole reads, and
// writes that are never seen half-done (write to a temp file, fsync, rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace wink {

Result<std::vector<uint8_t>> read_file(const std::filesystem::path& path);
Result<std::string> read_text_file(const std::filesystem::path& path);

// Writes `data` to `path` atomically: readers see the old file or the new one.
Result<void> write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> data);
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data);

// Moves `from` over `to` atomically (same filesystem), after fsync of `from`.
Result<void> publish_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Data directory: $WINK_DATA_DIR, else $XDG_DATA_HOME/wink, else ~/.local/share/wink.
std::filesystem::path default_data_dir();

}  // namespace wink
