// libFuzzer target for wink.toml parsing: any text is either a manifest or
// an error with a position, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = wink::manifest::parse(text, "/nonexistent/wink.toml");
  if (!m.ok() && m.error().message.rfind("/nonexistent/wink.toml", 0) != 0) std::abort();
  return 0;
}
