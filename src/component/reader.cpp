// Bounds-checked LEB128 and length reading for the component parser.
#include "component/reader.h"

#include <cstdio>

namespace wink::component {

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) { ++i; continue; }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

Error Reader::error_at(uint64_t at, const std::string& what) const {
  return make_error(what + " at byte offset " + std::to_string(at) + " (" + section_ + ")");
}

Result<uint8_t> Reader::byte() {
  if (pos_ >= data_.size()) return error("unexpected end of input");
  return data_[pos_++];
}

Result<uint8_t> Reader::peek() const {
  if (pos_ >= data_.size()) return error("unexpected end of input");
  return data_[pos_];
}

Result<uint64_t> Reader::u64() {
  uint64_t start = offset();
  uint64_t result = 0;
  for (int shift = 0;; shift += 7) {
    if (pos_ >= data_.size()) return error("unexpected end of input inside an integer");
    uint8_t b = data_[pos_++];
    if (shift == 63 && (b & 0x7E) != 0) return error_at(start, "integer too large");
    result |= uint64_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return result;
    if (shift >= 63) return error_at(start, "integer representation too long");
  }
}

Result<uint32_t> Reader::u32() {
  uint64_t start = offset();
  uint32_t result = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos_ >= data_.size()) return error("unexpected end of input inside an integer");
    uint8_t b = data_[pos_++];
    if (i == 4 && (b & 0xF0) != 0) return error_at(start, "integer too large for u32");
    result |= uint32_t{b & 0x7Fu} << (7 * i);
    if (!(b & 0x80)) return result;
  }
  return error_at(start, "integer representation too long");
}

Result<int64_t> Reader::s33() {
  uint64_t start = offset();
  int64_t result = 0;
  int shift = 0;
  uint8_t b;
  do {
    if (pos_ >= data_.size()) return error("unexpected end of input inside an integer");
    if (shift >= 35) return error_at(start, "integer representation too long");
    b = data_[pos_++];
    result |= int64_t{b & 0x7F} << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) result |= -(int64_t{1} << shift);
  if (result < -(int64_t{1} << 32) || result >= (int64_t{1} << 32)) return error_at(start, "integer too large for s33");
  return result;
}

Result<uint32_t> Reader::count(const char* what, size_t min_item_bytes) {
  uint64_t start = offset();
  WINK_ASSIGN_OR_RETURN(uint32_t n, u32());
  if (uint64_t{n} * min_item_bytes > remaining()) {
    return error_at(start, std::string(what) + " count " + std::to_string(n) + " exceeds the " +
                               std::to_string(remaining()) + " bytes that remain");
  }
  return n;
}

Result<std::string> Reader::name() {
  uint64_t start = offset();
  WINK_ASSIGN_OR_RETURN(uint32_t n, u32());
  if (n > remaining()) {
    return error_at(start, "name length " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) +
                               " bytes that remain");
  }
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
  if (!valid_utf8(s)) return error_at(start, "name is not valid UTF-8");
  pos_ += n;
  return s;
}

Result<std::span<const uint8_t>> Reader::bytes(uint64_t n) {
  if (n > remaining()) {
    return error("length " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) + " bytes that remain");
  }
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<Reader> Reader::sub(uint64_t n, std::string section) {
  uint64_t start = offset();
  WINK_ASSIGN_OR_RETURN(auto span, bytes(n));
  return Reader(span, start, std::move(section));
}

Result<void> Reader::expect_end() {
  if (!at_end()) return error(std::to_string(remaining()) + " unexpected trailing bytes");
  return {};
}

}  // namespace wink::component
