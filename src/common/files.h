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

// Writes `data` to `path` atomically and durably: readers see the old file or
// the new one, also after a power cut (temp file, fsync, rename, fsync of the
// directory).
Result<void> write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> data);
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data);

// Moves `from` over `to` atomically (same filesystem), after fsync of `from`;
// fsyncs the directory of `to` after.
Result<void> publish_file(const std::filesystem::path& from, const std::filesystem::path& to);

// fsync of a file's data, or of a directory's entries.
Result<void> sync_path(const std::filesystem::path& path);
// sync_path of every regular file and directory under `root` (symlinks not
// followed), then of `root`: a tree written in place is on disk after it.
Result<void> sync_tree(const std::filesystem::path& root);

// Data directory: $WINK_DATA_DIR, else $XDG_DATA_HOME/wink, else ~/.local/share/wink.
std::filesystem::path default_data_dir();

}  // namespace wink
