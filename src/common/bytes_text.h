// Byte counts for people: "512 B", "12.0 KiB", "64.0 MiB", "4.0 GiB" (CLI
// tables and error messages share one spelling).
#pragma once

#include <cstdint>
#include <string>

namespace wink {

std::string bytes_text(uint64_t bytes);

}  // namespace wink
