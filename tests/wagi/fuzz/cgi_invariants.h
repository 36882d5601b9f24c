// Properties every parse_cgi_output result must have, for the fuzz target and
// the corpus replay in cgi_test.cpp. Aborts on a violation.
#pragma once

#include <cstdlib>
#include <string_view>

#include "wagi/cgi.h"

namespace wink::wagi {

inline void check_cgi_invariants(std::string_view out, const CgiResponse& r) {
  auto require = [](bool ok) {
    if (!ok) std::abort();
  };
  if (!r.error.empty()) {
    require(r.status == 500 || r.status == 502);
    require(r.headers.empty());
    return;
  }
  require(r.status >= 200 && r.status <= 599);
  require(r.body_offset <= out.size());
  for (const auto& [name, value] : r.headers) {
    require(!name.empty());
    for (char c : name) require(c > 0x20 && c < 0x7f && c != ':');
    for (char c : value) require(c != '\r' && c != '\n' && c != '\0');
  }
}

}  // namespace wink::wagi
