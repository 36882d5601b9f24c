// Helpers shared by subcommands.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/files.h"

namespace wink::cli {

// --data-dir if given, else the default data directory.
inline std::filesystem::path data_dir_or_default(const std::string& flag) {
  return flag.empty() ? default_data_dir() : std::filesystem::path(flag);
}

inline bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace wink::cli
