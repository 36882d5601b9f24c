// Bounds-checked LEB128 and length reading for the component parser.
#include "component/reader.h"

#include <cstdio>

namespace wink::component {

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
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
