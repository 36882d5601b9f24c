// HTTP header-field rules (RFC 9110), in one place for every layer that reads
// or writes header fields: token names, values without CR/LF/NUL, and the
// fields a sender other than the connection's owner must never set; and which
// status a final response may carry.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace wink::http_fields {

// A status a final response may carry: 200..599 (RFC 9110 15: every valid
// code is in 100..599, and a 1xx is never final).
inline bool final_status(int64_t code) { return code >= 200 && code <= 599; }

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

// RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~ (a table: the request
// parser checks every header name byte with it).
inline bool is_token_char(char ch) {
  static constexpr bool kTable[128] = {
      // 0x00-0x1f: none
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      // ' ' ! " # $ % & ' ( ) * + , - . /
      0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
      // 0-9 : ; < = > ?
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
      // @ A-O
      0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
      // P-Z [ \ ] ^ _
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
      // ` a-o
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
      // p-z { | } ~ DEL
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
  };
  unsigned char c = static_cast<unsigned char>(ch);
  return c < 128 && kTable[c];
}

// A field name: a non-empty token.
inline bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// A field value: no control characters but HTAB (so no CR, LF, NUL); bytes
// from 0x80 (obs-text) are allowed.
// (Eight bytes at a time, without a branch per byte: every request's and
// response's values pass here; byte by byte it was 3% of a hello's CPU.)
inline bool valid_value(std::string_view value) {
  constexpr uint64_t k01 = 0x0101010101010101ull, k7f = 0x7f * k01, k80 = 0x80 * k01;
  // Bit 7 of each byte of the result: that byte is zero. Exact per byte (no
  // carry crosses a byte: (b & 0x7f) + 0x7f <= 0xfe).
  auto zero_bytes = [](uint64_t x) { return ~(((x & k7f) + k7f) | x) & k80; };
  // The same for "below 0x20": (b & 0x7f) + 0x60 reaches bit 7 from 0x20 up.
  auto below_space = [](uint64_t x) { return ~(((x & k7f) + 0x60 * k01) | x) & k80; };
  const char* p = value.data();
  const size_t n = value.size();
  uint64_t bad = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    bad |= (below_space(x) & ~zero_bytes(x ^ (uint64_t{'\t'} * k01))) | zero_bytes(x ^ k7f);
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    bad |= static_cast<unsigned>((c < 0x20) & (c != '\t')) | (c == 0x7f);
  }
  return bad == 0;
}

// A Content-Length value: 1*DIGIT (surrounding whitespace allowed), at most
// 2^63 - 1; nullopt otherwise.
inline std::optional<uint64_t> parse_content_length(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 18) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
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

// Whether a field may be sent in a trailer section (RFC 9110 6.5.1): not
// the connection's or the framing's (connection_owned), nor one a recipient
// needs before the content (its format, routing, authentication, cookies).
inline bool allowed_in_trailer(std::string_view name) {
  if (connection_owned(name)) return false;
  static constexpr std::string_view kNames[] = {
      "content-type", "content-encoding", "content-range", "content-location", "authorization",
      "www-authenticate", "set-cookie", "cookie", "expect", "max-forwards", "range", "cache-control",
      "location", "date",
  };
  for (std::string_view n : kNames) {
    if (iequals(name, n)) return false;
  }
  return true;
}

}  // namespace wink::http_fields
