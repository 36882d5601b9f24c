// Little-endian binary writer and bounds-checked reader for wink's own file
// formats (snapshot metadata, component instance images). The reader never
// reads past its span: a short input sets `bad` and every later read
// returns zero/empty, so a parser checks `bad` once at the end (and before
// trusting a count it is about to allocate for).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wink {

struct ByteWriter {
  std::vector<uint8_t> out;
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void raw(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
};

struct ByteReader {
  std::span<const uint8_t> in;
  size_t pos = 0;
  bool bad = false;
  bool need(size_t n) {
    if (bad || in.size() - pos < n) bad = true;
    return !bad;
  }
  // Bytes not read yet (bounds a count before allocating for it).
  size_t left() const { return bad ? 0 : in.size() - pos; }
  uint8_t u8() { return need(1) ? in[pos++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    if (need(4)) std::memcpy(&v, in.data() + pos, 4), pos += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    if (need(8)) std::memcpy(&v, in.data() + pos, 8), pos += 8;
    return v;
  }
  std::string str() {
    uint32_t n = u32();
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(in.data() + pos), n);
    pos += n;
    return s;
  }
  std::span<const uint8_t> bytes(size_t n) {
    if (!need(n)) return {};
    auto s = in.subspan(pos, n);
    pos += n;
    return s;
  }
  bool done() const { return !bad && pos == in.size(); }
};

}  // namespace wink
