// Builds component binaries byte by byte for parser tests, so malformed
// inputs can be made exactly (and their offsets known).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "component/parser.h"

namespace wink::component::testing {

struct Bytes {
  std::vector<uint8_t> b;

  Bytes& u8(uint8_t v) { b.push_back(v); return *this; }
  Bytes& u32(uint64_t v) {
    do {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      if (v) byte |= 0x80;
      b.push_back(byte);
    } while (v);
    return *this;
  }
  // Signed LEB128: value types carry type indices as s33.
  Bytes& s33(int64_t v) {
    while (true) {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      bool done = (v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40));
      b.push_back(done ? byte : (byte | 0x80));
      if (done) return *this;
    }
  }
  Bytes& name(const std::string& s) {
    u32(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& raw(const std::vector<uint8_t>& v) { b.insert(b.end(), v.begin(), v.end()); return *this; }
  Bytes& raw(const Bytes& v) { return raw(v.b); }
  // A section: id, LEB size, contents.
  Bytes& section(uint8_t id, const Bytes& body) { u8(id); u32(body.b.size()); return raw(body); }
  size_t size() const { return b.size(); }
};

inline Bytes preamble() {
  Bytes p;
  p.raw({0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00});
  return p;
}

// A core module with one memory and exports `mem`, and `f: (i32 i32) -> i32`.
inline Bytes small_core_module() {
  Bytes m;
  m.raw({0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00});
  m.section(1, Bytes().u32(1).u8(0x60).u32(2).u8(0x7f).u8(0x7f).u32(1).u8(0x7f));  // type (i32 i32)->i32
  m.section(3, Bytes().u32(1).u32(0));                                           // func 0: type 0
  m.section(5, Bytes().u32(1).u8(0x00).u32(1));                                  // memory min 1
  m.section(7, Bytes().u32(2).name("f").u8(0x00).u32(0).name("mem").u8(0x02).u32(0));
  m.section(10, Bytes().u32(1).u32(7).u32(0).u8(0x20).u32(0).u8(0x20).u32(1).u8(0x6a).u8(0x0b));  // body: a+b
  return m;
}

// Offsets where a top-level section ends: a prefix ending there is itself
// a (smaller) valid component.
inline std::vector<size_t> section_ends(const std::vector<uint8_t>& b) {
  std::vector<size_t> ends{8};
  size_t pos = 8;
  while (pos < b.size()) {
    size_t p = pos + 1, size = 0;
    for (int shift = 0;; shift += 7) {
      size |= size_t{b[p] & 0x7fu} << shift;
      if (!(b[p++] & 0x80)) break;
    }
    pos = p + size;
    ends.push_back(pos);
  }
  return ends;
}

inline std::vector<size_t> accepted_prefixes(const std::vector<uint8_t>& full, size_t step = 1) {
  std::vector<size_t> accepted;
  for (size_t n = 0; n < full.size(); n += step) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    auto r = parse_component(cut);
    if (r.ok()) {
      accepted.push_back(n);
    } else {
      EXPECT_NE(r.error().message.find("at byte offset"), std::string::npos) << n << ": " << r.error().message;
    }
  }
  return accepted;
}

}  // namespace wink::component::testing
