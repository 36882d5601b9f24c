#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/engine.h"

namespace wink::engine {
namespace {

template <typename T>
bool parse_int(std::string_view text, T& out) {
  bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative || (!text.empty() && text[0] == '+') ? text.substr(1) : text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  using U = std::make_unsigned_t<T>;
  U magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty()) return false;
  if (negative) {
    if (magnitude > U(std::numeric_limits<T>::max()) + 1) return false;
    out = static_cast<T>(U(0) - magnitude);
  } else {
    out = static_cast<T>(magnitude);  // accept the full unsigned range, as wasmtime does
  }
  return true;
}

template <typename F>
std::string format_float(F value) {
  if (std::isnan(value)) return "NaN";  // as Rust prints any NaN
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in plain notation, as wasmtime prints (Rust's
  // float Display: 1e100 prints as 1 and 100 zeros, 1e-7 as 0.0000001).
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, ptr - buf);  // [-]d[.ddd]e(+|-)XX
  std::string out;
  if (sci[0] == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exponent = std::stoi(std::string(sci.substr(e + 1)));
  if (exponent >= 0) {
    size_t int_len = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out += digits + std::string(int_len - digits.size(), '0');
    } else {
      out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  } else {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  return out;
}

}  // namespace

Result<Value> Value::parse(char type, std::string_view text) {
  Value v{type, 0};
  auto bad = [&](const char* what) {
    return make_error("cannot parse `" + std::string(text) + "` as " + what);
  };
  switch (type) {
    case 'i': {
      int32_t x;
      if (!parse_int(text, x)) return bad("i32");
      v.bits = static_cast<uint32_t>(x);
      return v;
    }
    case 'I': {
      int64_t x;
      if (!parse_int(text, x)) return bad("i64");
      v.bits = static_cast<uint64_t>(x);
      return v;
    }
    case 'f':
    case 'F': {
      std::string s(text);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) return bad(type == 'f' ? "f32" : "f64");
      if (type == 'f') {
        float f = std::strtof(s.c_str(), nullptr);
        uint32_t b;
        std::memcpy(&b, &f, 4);
        v.bits = b;
      } else {
        std::memcpy(&v.bits, &d, 8);
      }
      return v;
    }
    default:
      return make_error(std::string("values of type `") + type + "` cannot be given on the command line");
  }
}

std::string Value::to_string() const {
  switch (type) {
    case 'i': return std::to_string(static_cast<int32_t>(static_cast<uint32_t>(bits)));
    case 'I': return std::to_string(static_cast<int64_t>(bits));
    case 'f': {
      float f;
      uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&f, &b, 4);
      return format_float(f);
    }
    case 'F': {
      double d;
      std::memcpy(&d, &bits, 8);
      return format_float(d);
    }
    case 'r': return bits ? "funcref" : "null";
    case 'e': return bits ? "externref" : "null";
  }
  return "?";
}

}  // namespace wink::engine
