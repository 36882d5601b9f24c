// Bounds-checked reader over untrusted binary input: LEB128 integers with
// the exact byte limits of the core spec, lengths checked against the bytes
// that remain, names validated as UTF-8. Every error carries the absolute
// byte offset and the section being read, so a refusal reads
// "unknown canonical option 0x09 at byte offset 1234 (canon section)".
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"
#include "common/utf8.h"

namespace wink::component {

class Reader {
 public:
  // `base_offset` is the absolute position of data[0] in the whole file.
  Reader(std::span<const uint8_t> data, uint64_t base_offset, std::string section)
      : data_(data), base_(base_offset), section_(std::move(section)) {}

  uint64_t offset() const { return base_ + pos_; }  // absolute
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  const std::string& section() const { return section_; }

  // An error at the current position (or at `at`, absolute).
  Error error(const std::string& what) const { return error_at(offset(), what); }
  Error error_at(uint64_t at, const std::string& what) const;

  Result<uint8_t> byte();
  Result<uint8_t> peek() const;
  Result<uint32_t> u32();  // unsigned LEB128, at most 5 bytes, no bits past 32
  Result<uint64_t> u64();
  Result<int64_t> s33();   // signed LEB128 (block types, heap types)
  // A count of items that each take at least `min_item_bytes`: refused when
  // the remaining bytes cannot hold them, so a hostile count never allocates.
  Result<uint32_t> count(const char* what, size_t min_item_bytes = 1);
  Result<std::string> name();  // u32 length + UTF-8 bytes
  Result<std::span<const uint8_t>> bytes(uint64_t n);
  // A sub-reader over the next `n` bytes (advances this one past them).
  Result<Reader> sub(uint64_t n, std::string section);
  Result<void> expect_end();

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  uint64_t base_;
  std::string section_;
};

std::string hex_byte(uint8_t b);  // "0x09"
using ::wink::valid_utf8;  // common/utf8.h

}  // namespace wink::component
