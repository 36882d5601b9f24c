// libFuzzer target for the WAGI stdout parser: never crashes, and what it
// returns is self-consistent (see check_cgi_invariants).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cgi_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view out(reinterpret_cast<const char*>(data), size);
  wink::wagi::check_cgi_invariants(out, wink::wagi::parse_cgi_output(out));
  return 0;
}
