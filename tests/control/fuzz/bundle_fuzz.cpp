// libFuzzer target for the bundle reader (control::read_bundle): any bytes in,
// a bundle or an error out, never a crash or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wink::control::BundleLimits limits;
  limits.max_total_bytes = 1 << 20;
  limits.max_file_bytes = 1 << 20;
  (void)wink::control::read_bundle(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  return 0;
}
