// The bearer token of the control API over TCP: a file holding 64 hex
// characters (32 random bytes), mode 0600, created on first use.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wink::control {

// Reads the token at `path`, creating it (parent directory 0700, file 0600,
// written atomically) when missing. Refuses a file that group or others may
// read or write, and one holding fewer than 32 characters.
Result<std::string> load_or_create_token(const std::filesystem::path& path);

// Reads a token file as a client does (no mode check): trimmed content.
Result<std::string> read_token(const std::filesystem::path& path);

// True when `authorization` is "Bearer <token>" with exactly `token`; the
// comparison takes the same time wherever the first difference is.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace wink::control
