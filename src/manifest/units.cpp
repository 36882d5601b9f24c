// Sizes ("64MiB") and durations ("250ms") as written in wink.toml.
#include <charconv>
#include <limits>

#include "manifest/manifest.h"

namespace wink::manifest {
namespace {

// Splits "123unit" into the number and the unit; refuses signs, spaces, fractions.
bool split_number(std::string_view text, uint64_t& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  unit = text.substr(i);
  return true;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  if (!split_number(text, n, unit)) {
    return make_error("expected a size like \"64MiB\", got \"" + std::string(text) + "\"");
  }
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},        {"B", 1},           {"KiB", 1ull << 10}, {"MiB", 1ull << 20},
      {"GiB", 1ull << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.name) {
      if (n > std::numeric_limits<uint64_t>::max() / u.factor) return make_error("size too large");
      return n * u.factor;
    }
  }
  return make_error("unknown size unit \"" + std::string(unit) +
                    "\" (use B, KiB, MiB, GiB, KB, MB or GB)");
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  uint64_t n = 0;
  std::string_view unit;
  if (!split_number(text, n, unit) || unit.empty()) {
    return make_error("expected a duration like \"5s\" or \"250ms\", got \"" + std::string(text) +
                      "\"");
  }
  struct Unit {
    std::string_view name;
    uint64_t ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1000},
      {"ms", 1000 * 1000},
      {"s", 1000ull * 1000 * 1000},
      {"m", 60ull * 1000 * 1000 * 1000},
      {"h", 3600ull * 1000 * 1000 * 1000},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.name) {
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / u.ns) {
        return make_error("duration too large");
      }
      return std::chrono::nanoseconds(static_cast<int64_t>(n * u.ns));
    }
  }
  return make_error("unknown duration unit \"" + std::string(unit) +
                    "\" (use ns, us, ms, s, m or h)");
}

}  // namespace wink::manifest
