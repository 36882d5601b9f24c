// HTTP header-field rules (RFC 9110), in one place for every layer that reads
// or writes header fields: token names, values without CR/LF/NUL, and the
// fields a sender other than the connection's owner must never set.
#pragma once

#include <string_view>

namespace wink::http_fields {

// ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 9110 tchar.
inline bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A field name: a non-empty token.
inline bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// A field value: no control characters but HTAB (so no CR, LF, NUL).
inline bool valid_value(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// Fields that describe the connection or the message framing rather than the
// message (hop-by-hop, RFC 9110 7.6.1), plus Host and Content-Length: the
// client library that owns the connection sets them; a guest or an upstream
// that could set them could smuggle requests or reach another virtual host.
inline bool connection_owned(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "host",    "connection", "keep-alive",        "te",          "trailer",
      "upgrade", "content-length", "transfer-encoding", "proxy-connection",
  };
  for (std::string_view n : kNames) {
    if (iequals(name, n)) return true;
  }
  // Proxy-Authorization, Proxy-Authenticate, ...: meant for a proxy hop.
  return name.size() >= 6 && iequals(name.substr(0, 6), "proxy-");
}

}  // namespace wink::http_fields
