// Dynamic component values (what the host sees of a lifted value) and core
// values (what flattened signatures carry). One Value shape serves every
// type; the ValType says how to read it:
//   bool, integers, char, enum/variant/option/result case, handle rep: `bits`
//     (signed integers sign-extended to 64 bits)
//   f32, f64: `f`
//   string: `str`, always UTF-8 on the host side
//   list<u8>: `str` as raw bytes (the fast path for bodies); lowering also
//     accepts one Value per element in `items`
//   list elements, record/tuple fields, flags (one bool Value per label),
//     variant payload (zero or one): `items`
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "component/types.h"

namespace wink::component {

struct Value {
  uint64_t bits = 0;
  double f = 0;
  std::string str;
  std::vector<Value> items;

  static Value boolean(bool b) { return scalar(b ? 1 : 0); }
  static Value s(int64_t v) { return scalar(static_cast<uint64_t>(v)); }
  static Value u(uint64_t v) { return scalar(v); }
  static Value ch(char32_t c) { return scalar(c); }
  static Value float32(float v) { Value x; x.f = v; return x; }
  static Value float64(double v) { Value x; x.f = v; return x; }
  static Value string(std::string s) { Value x; x.str = std::move(s); return x; }
  static Value list(std::vector<Value> v) { Value x; x.items = std::move(v); return x; }
  static Value record(std::vector<Value> v) { return list(std::move(v)); }
  static Value tuple(std::vector<Value> v) { return list(std::move(v)); }
  static Value variant(uint32_t case_index, std::optional<Value> payload = std::nullopt) {
    Value x = scalar(case_index);
    if (payload) x.items.push_back(std::move(*payload));
    return x;
  }
  static Value enumeration(uint32_t case_index) { return scalar(case_index); }
  static Value none() { return variant(0); }
  static Value some(Value v) { return variant(1, std::move(v)); }
  static Value ok(std::optional<Value> v = std::nullopt) { return variant(0, std::move(v)); }
  static Value err(std::optional<Value> v = std::nullopt) { return variant(1, std::move(v)); }
  static Value flags(const std::vector<bool>& set) {
    Value x;
    for (bool b : set) x.items.push_back(boolean(b));
    return x;
  }
  static Value handle(uint32_t rep) { return scalar(rep); }

  int64_t as_signed() const { return static_cast<int64_t>(bits); }
  bool operator==(const Value& o) const {
    bool same_f = std::memcmp(&f, &o.f, sizeof f) == 0 || f == o.f;
    return bits == o.bits && same_f && str == o.str && items == o.items;
  }

 private:
  static Value scalar(uint64_t v) { Value x; x.bits = v; return x; }
};

// A core WebAssembly value: i32 in the low 32 bits, floats as their bits.
struct CoreValue {
  CoreValType type = CoreValType::I32;
  uint64_t bits = 0;

  static CoreValue i32(uint32_t v) { return {CoreValType::I32, v}; }
  static CoreValue i64(uint64_t v) { return {CoreValType::I64, v}; }
  static CoreValue f32(float v) { uint32_t b; std::memcpy(&b, &v, 4); return {CoreValType::F32, b}; }
  static CoreValue f64(double v) { uint64_t b; std::memcpy(&b, &v, 8); return {CoreValType::F64, b}; }
  static CoreValue f32_bits(uint32_t b) { return {CoreValType::F32, b}; }
  static CoreValue f64_bits(uint64_t b) { return {CoreValType::F64, b}; }

  uint32_t as_i32() const { return static_cast<uint32_t>(bits); }
  bool operator==(const CoreValue&) const = default;
};

}  // namespace wink::component
