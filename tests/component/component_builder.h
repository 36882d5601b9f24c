// Builds component binaries byte by byte for parser tests, so malformed
// inputs can be made exactly (and their offsets known).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
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

// Writes a component section by section, for linker tests: each helper
// appends one section with one entry (sections may repeat, so definitions
// appear exactly in the order a test lists them).
struct ComponentWriter {
  Bytes c = preamble();

  // Sort bytes (Binary.md): core sorts after 0x00, component sorts.
  static constexpr uint8_t kCoreFunc = 0x00, kCoreTable = 0x01, kCoreMemory = 0x02, kCoreGlobal = 0x03;
  static constexpr uint8_t kFunc = 0x01, kType = 0x03, kInstance = 0x05;

  ComponentWriter& core_module(const std::vector<uint8_t>& module) { c.section(1, Bytes().raw(module)); return *this; }
  // (core instance (instantiate module (with name instance)*))
  ComponentWriter& core_instantiate(uint32_t module, const std::vector<std::pair<std::string, uint32_t>>& args = {}) {
    Bytes b = Bytes().u32(1).u8(0x00).u32(module).u32(args.size());
    for (const auto& [name, inst] : args) b.name(name).u8(0x12).u32(inst);
    c.section(2, b);
    return *this;
  }
  // (core instance (export name (sort index))*): {name, core sort byte, index}
  struct Inline {
    std::string name;
    uint8_t sort;
    uint32_t index;
  };
  ComponentWriter& core_exports(const std::vector<Inline>& exports) {
    Bytes b = Bytes().u32(1).u8(0x01).u32(exports.size());
    for (const Inline& e : exports) b.name(e.name).u8(e.sort).u32(e.index);
    c.section(2, b);
    return *this;
  }
  // (alias core export instance "name" (core sort))
  ComponentWriter& alias_core(uint8_t core_sort, uint32_t instance, const std::string& name) {
    c.section(6, Bytes().u32(1).u8(0x00).u8(core_sort).u8(0x01).u32(instance).name(name));
    return *this;
  }
  // (alias export instance "name" (sort))
  ComponentWriter& alias_export(uint8_t sort, uint32_t instance, const std::string& name) {
    c.section(6, Bytes().u32(1).u8(sort).u8(0x00).u32(instance).name(name));
    return *this;
  }
  ComponentWriter& type(const Bytes& deftype) { c.section(7, Bytes().u32(1).raw(deftype)); return *this; }
  ComponentWriter& lift(uint32_t core_func, const Bytes& opts, uint32_t type) {
    c.section(8, Bytes().u32(1).u8(0x00).u8(0x00).u32(core_func).raw(opts).u32(type));
    return *this;
  }
  ComponentWriter& lower(uint32_t func, const Bytes& opts) {
    c.section(8, Bytes().u32(1).u8(0x01).u8(0x00).u32(func).raw(opts));
    return *this;
  }
  // canon resource.new (0x02) / resource.drop (0x03) / resource.rep (0x04)
  ComponentWriter& resource_builtin(uint8_t op, uint32_t type) { c.section(8, Bytes().u32(1).u8(op).u32(type)); return *this; }
  // (import "name" externdesc): desc e.g. Bytes().u8(0x01).u32(type) for a func
  ComponentWriter& import(const std::string& name, const Bytes& desc) {
    c.section(10, Bytes().u32(1).u8(0x00).name(name).raw(desc));
    return *this;
  }
  // (component ...): a nested component, written by another ComponentWriter.
  ComponentWriter& nested(const ComponentWriter& inner) { c.section(4, inner.c); return *this; }
  // (instance (instantiate component (with name (sort index))*)): {name, sort byte, index}
  struct Arg {
    std::string name;
    uint8_t sort;
    uint32_t index;
  };
  ComponentWriter& instantiate(uint32_t component, const std::vector<Arg>& args) {
    Bytes b = Bytes().u32(1).u8(0x00).u32(component).u32(args.size());
    for (const Arg& a : args) b.name(a.name).u8(a.sort).u32(a.index);
    c.section(5, b);
    return *this;
  }
  ComponentWriter& export_item(const std::string& name, uint8_t sort, uint32_t index) {
    c.section(11, Bytes().u32(1).u8(0x00).name(name).u8(sort).u32(index).u8(0x00));
    return *this;
  }
};

// Type encodings for ComponentWriter::type.
inline Bytes func_type(const std::vector<std::pair<std::string, Bytes>>& params, const Bytes* result = nullptr) {
  Bytes b = Bytes().u8(0x40).u32(params.size());
  for (const auto& [name, t] : params) b.name(name).raw(t);
  if (result) b.u8(0x00).raw(*result);
  else b.u8(0x01).u8(0x00);
  return b;
}
// Canonical options: string encodings 0x00 utf8, 0x01 utf16, 0x02 latin1+utf16;
// 0x03 memory, 0x04 realloc, 0x05 post-return.
struct CanonOpts {
  std::vector<std::pair<uint8_t, std::optional<uint32_t>>> opts;
  CanonOpts& encoding(uint8_t e) { opts.push_back({e, std::nullopt}); return *this; }
  CanonOpts& memory(uint32_t m) { opts.push_back({0x03, m}); return *this; }
  CanonOpts& realloc(uint32_t f) { opts.push_back({0x04, f}); return *this; }
  CanonOpts& post_return(uint32_t f) { opts.push_back({0x05, f}); return *this; }
  Bytes bytes() const {
    Bytes b = Bytes().u32(opts.size());
    for (const auto& [op, idx] : opts) {
      b.u8(op);
      if (idx) b.u32(*idx);
    }
    return b;
  }
};

}  // namespace wink::component::testing
