// Canonical ABI load/store and flat lift/lower per value type: round trips,
// exact byte layouts, and each trap of the specification.
#include <gtest/gtest.h>

#include <cmath>

#include "component/abi.h"
#include "guest_heap.h"

namespace wink::component {
namespace {

using testing::GuestHeap;
using testing::ok;
using testing::T;

struct Fixture {
  GuestHeap heap;
  InstanceState inst;
  Task task;
  Subtask subtask;
  AbiContext cx{heap.options, inst, &task, &subtask};
};

Value store_load(Fixture& f, const ValType& t, const Value& v, uint64_t at = 64) {
  auto s = store(f.cx, v, t, at);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  auto l = load(f.cx, at, t);
  EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().message);
  return l.ok() ? *l : Value{};
}

Value flat_round_trip(Fixture& f, const ValType& t, const Value& v, std::vector<CoreValue>* flat_out = nullptr) {
  std::vector<CoreValue> flat;
  auto s = lower_flat(f.cx, v, t, flat);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  EXPECT_EQ(flat.size(), t.flat.size());
  for (size_t i = 0; i < flat.size() && i < t.flat.size(); ++i) EXPECT_EQ(flat[i].type, t.flat[i]);
  if (flat_out) *flat_out = flat;
  FlatIter it(flat);
  auto l = lift_flat(f.cx, it, t);
  EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().message);
  EXPECT_TRUE(it.done());
  return l.ok() ? *l : Value{};
}

std::string trap_of(const Result<Value>& r) { return r.ok() ? std::string("no trap") : r.error().message; }

TEST(AbiValues, IntegersRoundTripAtTheirBoundaries) {
  Fixture f;
  struct { ValKind k; std::vector<Value> vs; } cases[] = {
      {ValKind::U8, {Value::u(0), Value::u(255)}},
      {ValKind::S8, {Value::s(-128), Value::s(127)}},
      {ValKind::U16, {Value::u(65535)}},
      {ValKind::S16, {Value::s(-32768)}},
      {ValKind::U32, {Value::u(0xFFFFFFFF)}},
      {ValKind::S32, {Value::s(INT32_MIN), Value::s(-1)}},
      {ValKind::U64, {Value::u(UINT64_MAX)}},
      {ValKind::S64, {Value::s(INT64_MIN), Value::s(-1)}},
  };
  for (auto& c : cases) {
    for (const Value& v : c.vs) {
      EXPECT_EQ(store_load(f, *T(c.k), v), v) << val_kind_name(c.k);
      EXPECT_EQ(flat_round_trip(f, *T(c.k), v), v) << val_kind_name(c.k);
    }
  }
  // s8 -1 is stored as one byte 0xff, s16 -2 as fe ff.
  ASSERT_TRUE(store(f.cx, Value::s(-1), *T(ValKind::S8), 8).ok());
  EXPECT_EQ(*f.heap.at(8), 0xff);
  ASSERT_TRUE(store(f.cx, Value::s(-2), *T(ValKind::S16), 10).ok());
  EXPECT_EQ(f.heap.bytes(10, 2), (std::vector<uint8_t>{0xfe, 0xff}));
}

TEST(AbiValues, OutOfRangeHostIntegersAreRefused) {
  Fixture f;
  std::vector<CoreValue> flat;
  EXPECT_FALSE(lower_flat(f.cx, Value::u(256), *T(ValKind::U8), flat).ok());
  EXPECT_FALSE(lower_flat(f.cx, Value::s(128), *T(ValKind::S8), flat).ok());
  EXPECT_FALSE(lower_flat(f.cx, Value::u(2), *T(ValKind::Bool), flat).ok());
  EXPECT_FALSE(store(f.cx, Value::u(0x1'0000'0000), *T(ValKind::U32), 0).ok());
}

TEST(AbiValues, FlatLiftTakesLowBitsOfWiderCoreValues) {
  Fixture f;
  std::vector<CoreValue> in{CoreValue::i32(0x1ff)};
  FlatIter a(in);
  EXPECT_EQ(*lift_flat(f.cx, a, *T(ValKind::U8)), Value::u(0xff));
  std::vector<CoreValue> in2{CoreValue::i32(0x80)};
  FlatIter b(in2);
  EXPECT_EQ(*lift_flat(f.cx, b, *T(ValKind::S8)), Value::s(-128));
  std::vector<CoreValue> in3{CoreValue::i32(0xffff8000)};
  FlatIter c(in3);
  EXPECT_EQ(*lift_flat(f.cx, c, *T(ValKind::S16)), Value::s(-32768));
}

TEST(AbiValues, BoolAcceptsAnyNonzeroBitPattern) {
  Fixture f;
  *f.heap.at(16) = 0x02;
  EXPECT_EQ(*load(f.cx, 16, *T(ValKind::Bool)), Value::boolean(true));
  *f.heap.at(16) = 0x80;
  EXPECT_EQ(*load(f.cx, 16, *T(ValKind::Bool)), Value::boolean(true));
  *f.heap.at(16) = 0x00;
  EXPECT_EQ(*load(f.cx, 16, *T(ValKind::Bool)), Value::boolean(false));
  std::vector<CoreValue> in{CoreValue::i32(0x100)};
  FlatIter it(in);
  EXPECT_EQ(*lift_flat(f.cx, it, *T(ValKind::Bool)), Value::boolean(true));
  // Lowering writes exactly 0 or 1.
  ASSERT_TRUE(store(f.cx, Value::boolean(true), *T(ValKind::Bool), 17).ok());
  EXPECT_EQ(*f.heap.at(17), 1);
}

TEST(AbiValues, CharRejectsSurrogatesAndValuesPastUnicode) {
  Fixture f;
  EXPECT_EQ(flat_round_trip(f, *T(ValKind::Char), Value::ch(0x1F600)), Value::ch(0x1F600));
  EXPECT_EQ(flat_round_trip(f, *T(ValKind::Char), Value::ch(0xD7FF)), Value::ch(0xD7FF));
  EXPECT_EQ(flat_round_trip(f, *T(ValKind::Char), Value::ch(0xE000)), Value::ch(0xE000));
  for (uint32_t bad : {0xD800u, 0xDFFFu, 0x110000u, 0xFFFFFFFFu}) {
    f.heap.put32(32, bad);
    auto r = load(f.cx, 32, *T(ValKind::Char));
    EXPECT_NE(trap_of(r).find("trap: char value"), std::string::npos) << bad << " " << trap_of(r);
    std::vector<CoreValue> in{CoreValue::i32(bad)};
    FlatIter it(in);
    EXPECT_FALSE(lift_flat(f.cx, it, *T(ValKind::Char)).ok()) << bad;
    std::vector<CoreValue> out;
    EXPECT_FALSE(lower_flat(f.cx, Value::ch(bad), *T(ValKind::Char), out).ok()) << bad;
  }
}

TEST(AbiValues, NaNsAreCanonicalizedBothWays) {
  Fixture f;
  f.heap.put32(40, 0x7fc00001);  // a NaN with payload
  auto v = load(f.cx, 40, *T(ValKind::F32));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(std::isnan(v->f));
  ASSERT_TRUE(store(f.cx, *v, *T(ValKind::F32), 44).ok());
  EXPECT_EQ(f.heap.get32(44), kCanonicalNan32);
  f.heap.put32(48, 0xffffffff);  // negative NaN
  ASSERT_TRUE(store(f.cx, *load(f.cx, 48, *T(ValKind::F32)), *T(ValKind::F32), 52).ok());
  EXPECT_EQ(f.heap.get32(52), kCanonicalNan32);

  uint64_t nan64 = 0xfff0000000000001ull;
  std::memcpy(f.heap.at(56), &nan64, 8);
  ASSERT_TRUE(store(f.cx, *load(f.cx, 56, *T(ValKind::F64)), *T(ValKind::F64), 64).ok());
  uint64_t stored;
  std::memcpy(&stored, f.heap.at(64), 8);
  EXPECT_EQ(stored, kCanonicalNan64);

  std::vector<CoreValue> in{CoreValue::f32_bits(0x7f800001)};
  FlatIter it(in);
  std::vector<CoreValue> out;
  ASSERT_TRUE(lower_flat(f.cx, *lift_flat(f.cx, it, *T(ValKind::F32)), *T(ValKind::F32), out).ok());
  EXPECT_EQ(out[0].bits, kCanonicalNan32);
  // Ordinary values keep their exact bits.
  EXPECT_EQ(flat_round_trip(f, *T(ValKind::F32), Value::float64(-1.5f)), Value::float64(-1.5f));
  EXPECT_EQ(flat_round_trip(f, *T(ValKind::F64), Value::float64(1e300)), Value::float64(1e300));
}

TEST(AbiValues, RecordByteLayoutIsExact) {
  Fixture f;
  auto r = ok(make_record({{"a", T(ValKind::U8)}, {"b", T(ValKind::U16)}, {"c", T(ValKind::U32)}, {"d", T(ValKind::U8)}}));
  Value v = Value::record({Value::u(0xaa), Value::u(0xbbcc), Value::u(0x11223344), Value::u(0xdd)});
  std::memset(f.heap.at(128), 0x55, 16);
  ASSERT_TRUE(store(f.cx, v, *r, 128).ok());
  // a@0, pad@1 untouched, b@2, c@4, d@8, size 12.
  EXPECT_EQ(f.heap.bytes(128, 12), (std::vector<uint8_t>{0xaa, 0x55, 0xcc, 0xbb, 0x44, 0x33, 0x22, 0x11, 0xdd, 0x55,
                                                         0x55, 0x55}));
  EXPECT_EQ(*load(f.cx, 128, *r), v);
  EXPECT_EQ(flat_round_trip(f, *r, v), v);
  EXPECT_FALSE(store(f.cx, Value::record({Value::u(1)}), *r, 128).ok());  // wrong field count
}

TEST(AbiValues, VariantByteLayoutIsExact) {
  Fixture f;
  auto res = ok(make_result(T(ValKind::U64), T(ValKind::U8)));
  std::memset(f.heap.at(256), 0x55, 16);
  ASSERT_TRUE(store(f.cx, Value::err(Value::u(7)), *res, 256).ok());
  // disc 1 at 0, payload (u8) at 8 after alignment to the max case alignment.
  EXPECT_EQ(f.heap.bytes(256, 9), (std::vector<uint8_t>{0x01, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x07}));
  EXPECT_EQ(*load(f.cx, 256, *res), Value::err(Value::u(7)));
  ASSERT_TRUE(store(f.cx, Value::ok(Value::u(0x0102030405060708)), *res, 256).ok());
  EXPECT_EQ(f.heap.bytes(256, 16), (std::vector<uint8_t>{0, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 8, 7, 6, 5, 4, 3, 2, 1}));

  // A 300-case enum has a two-byte discriminant.
  std::vector<std::string> labels;
  for (int i = 0; i < 300; ++i) labels.push_back("e" + std::to_string(i));
  auto e = ok(make_enum(labels));
  ASSERT_TRUE(store(f.cx, Value::enumeration(299), *e, 300).ok());
  EXPECT_EQ(f.heap.bytes(300, 2), (std::vector<uint8_t>{0x2b, 0x01}));
  EXPECT_EQ(*load(f.cx, 300, *e), Value::enumeration(299));
}

TEST(AbiValues, BadDiscriminantsTrap) {
  Fixture f;
  auto opt = ok(make_option(T(ValKind::U32)));
  *f.heap.at(512) = 2;
  EXPECT_NE(trap_of(load(f.cx, 512, *opt)).find("discriminant 2"), std::string::npos);
  auto e = ok(make_enum({"a", "b", "c"}));
  *f.heap.at(520) = 3;
  EXPECT_FALSE(load(f.cx, 520, *e).ok());
  std::vector<CoreValue> in{CoreValue::i32(5), CoreValue::i32(0)};
  FlatIter it(in);
  EXPECT_NE(trap_of(lift_flat(f.cx, it, *opt)).find("discriminant 5"), std::string::npos);
  // Host side: a case that does not exist, or a payload where none belongs.
  std::vector<CoreValue> out;
  EXPECT_FALSE(lower_flat(f.cx, Value::variant(7), *opt, out).ok());
  EXPECT_FALSE(lower_flat(f.cx, Value::variant(0, Value::u(1)), *opt, out).ok());
  EXPECT_FALSE(lower_flat(f.cx, Value::variant(1), *opt, out).ok());
}

TEST(AbiValues, VariantFlatPayloadsAreCoercedThroughTheJoinedType) {
  Fixture f;
  auto v = ok(make_variant({{"a", T(ValKind::F32)}, {"b", T(ValKind::U64)}, {"c", nullptr}}));
  std::vector<CoreValue> flat;
  Value a = Value::variant(0, Value::float64(2.5f));
  EXPECT_EQ(flat_round_trip(f, *v, a, &flat), a);
  // f32 travels as its bits zero-extended in an i64.
  float x = 2.5f;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  EXPECT_EQ(flat[1], CoreValue::i64(bits));
  Value b = Value::variant(1, Value::u(UINT64_MAX));
  EXPECT_EQ(flat_round_trip(f, *v, b), b);
  Value c = Value::variant(2);
  EXPECT_EQ(flat_round_trip(f, *v, c, &flat), c);
  EXPECT_EQ(flat[1], CoreValue::i64(0));  // unused slots are zero
  // An i32 payload in an i64 slot: the high bits are ignored when lifting.
  auto w = ok(make_variant({{"a", T(ValKind::U32)}, {"b", T(ValKind::S64)}}));
  std::vector<CoreValue> in{CoreValue::i32(0), CoreValue::i64(0xffffffff00000005ull)};
  FlatIter it(in);
  EXPECT_EQ(*lift_flat(f.cx, it, *w), Value::variant(0, Value::u(5)));
}

TEST(AbiValues, FlagsPackBitsInLabelOrder) {
  Fixture f;
  std::vector<std::string> nine;
  for (int i = 0; i < 9; ++i) nine.push_back("f" + std::to_string(i));
  auto fl = ok(make_flags(nine));
  std::vector<bool> set(9, false);
  set[0] = set[8] = true;
  ASSERT_TRUE(store(f.cx, Value::flags(set), *fl, 600).ok());
  EXPECT_EQ(f.heap.bytes(600, 2), (std::vector<uint8_t>{0x01, 0x01}));
  EXPECT_EQ(*load(f.cx, 600, *fl), Value::flags(set));

  std::vector<std::string> forty;
  for (int i = 0; i < 40; ++i) forty.push_back("g" + std::to_string(i));
  auto big = ok(make_flags(forty));
  std::vector<bool> s40(40, false);
  s40[1] = s40[31] = s40[32] = s40[39] = true;
  std::vector<CoreValue> flat;
  EXPECT_EQ(flat_round_trip(f, *big, Value::flags(s40), &flat), Value::flags(s40));
  EXPECT_EQ(flat, (std::vector<CoreValue>{CoreValue::i32(0x80000002u), CoreValue::i32(0x81)}));
  ASSERT_TRUE(store(f.cx, Value::flags(s40), *big, 608).ok());
  EXPECT_EQ(f.heap.get32(608), 0x80000002u);
  EXPECT_EQ(f.heap.get32(612), 0x81u);
  // Bits past the last label are ignored when lifting.
  *f.heap.at(620) = 0xff;
  *f.heap.at(621) = 0xff;
  EXPECT_EQ(*load(f.cx, 620, *fl), Value::flags(std::vector<bool>(9, true)));
}

TEST(AbiValues, ListsRoundTripThroughRealloc) {
  Fixture f;
  auto pt = ok(make_record({{"x", T(ValKind::S32)}, {"y", T(ValKind::S32)}}));
  auto lt = ok(make_list(pt));
  Value v = Value::list({Value::record({Value::s(1), Value::s(-2)}), Value::record({Value::s(3), Value::s(4)})});
  EXPECT_EQ(flat_round_trip(f, *lt, v), v);
  ASSERT_EQ(f.heap.calls.size(), 1u);
  EXPECT_EQ(f.heap.calls[0], (testing::ReallocCall{0, 0, 4, 16}));
  EXPECT_EQ(flat_round_trip(f, *lt, Value::list({})), Value::list({}));
  auto nested = ok(make_list(ok(make_list(T(ValKind::String)))));
  Value n = Value::list({Value::list({Value::string("a"), Value::string("bc")}), Value::list({})});
  EXPECT_EQ(store_load(f, *nested, n, 680), n);
}

TEST(AbiValues, ByteListsLiftIntoRawBytesAndLowerFromThem) {
  Fixture f;
  auto bytes = ok(make_list(T(ValKind::U8)));
  std::string payload("a\0b\xff", 4);
  f.heap.put(2000, payload);
  std::vector<CoreValue> in{CoreValue::i32(2000), CoreValue::i32(4)};
  FlatIter it(in);
  Value v = *lift_flat(f.cx, it, *bytes);
  EXPECT_EQ(v.str, payload);  // raw bytes, NUL and 0xff included
  EXPECT_TRUE(v.items.empty());
  // Lowering from raw bytes: one realloc of exactly the byte count, alignment 1.
  std::vector<CoreValue> flat;
  ASSERT_TRUE(lower_flat(f.cx, v, *bytes, flat).ok());
  ASSERT_EQ(f.heap.calls.size(), 1u);
  EXPECT_EQ(f.heap.calls[0], (testing::ReallocCall{0, 0, 1, 4}));
  EXPECT_EQ(flat[1].as_i32(), 4u);
  EXPECT_EQ(f.heap.bytes(flat[0].as_i32(), 4), std::vector<uint8_t>(payload.begin(), payload.end()));
  // Per-element Values are still accepted when lowering.
  Value per_element = Value::list({Value::u(7), Value::u(8)});
  EXPECT_EQ(store_load(f, *bytes, per_element, 3000).str, std::string("\x07\x08"));
  // In memory (a list<u8> inside a record) and bounded like any list.
  auto rec = ok(make_record({{"body", bytes}}));
  EXPECT_EQ(store_load(f, *rec, Value::record({Value::string("xyz")}), 3100).items[0].str, "xyz");
  std::vector<CoreValue> oob{CoreValue::i32(65536 - 2), CoreValue::i32(3)};
  FlatIter it2(oob);
  EXPECT_NE(trap_of(lift_flat(f.cx, it2, *bytes)).find("out of bounds"), std::string::npos);
  f.heap.options.max_lifted_bytes = 100;
  std::vector<CoreValue> big{CoreValue::i32(0), CoreValue::i32(101)};
  FlatIter it3(big);
  EXPECT_NE(trap_of(lift_flat(f.cx, it3, *bytes)).find("host limit"), std::string::npos);
}

TEST(AbiValues, ListPointersAreCheckedForAlignmentAndBounds) {
  Fixture f;
  auto lt = ok(make_list(T(ValKind::U32)));
  auto lift = [&](uint32_t ptr, uint32_t len) {
    std::vector<CoreValue> in{CoreValue::i32(ptr), CoreValue::i32(len)};
    FlatIter it(in);
    return lift_flat(f.cx, it, *lt);
  };
  EXPECT_TRUE(lift(1024, 4).ok());
  EXPECT_NE(trap_of(lift(1026, 4)).find("not aligned to 4"), std::string::npos);
  EXPECT_NE(trap_of(lift(65536 - 8, 3)).find("out of bounds"), std::string::npos);
  EXPECT_TRUE(lift(65536 - 8, 2).ok());  // ends exactly at the end of memory
  EXPECT_TRUE(lift(65536, 0).ok());      // empty list at the very end
  // 0xffffffff elements of 4 bytes: checked in 64 bits, refused, never wrapped.
  EXPECT_NE(trap_of(lift(0, 0xffffffff)).find("past 2^28-1"), std::string::npos);
  EXPECT_NE(trap_of(lift(0xfffffffc, 0x40000001)).find("trap"), std::string::npos);
}

TEST(AbiValues, LiftedSizeIsBoundedAgainstAmplification) {
  Fixture f;
  f.heap.options.max_lifted_bytes = 1 << 20;
  // 2,000 strings that all point at the same 2 KB range: 4 MB if copied.
  auto lt = ok(make_list(T(ValKind::String)));
  for (uint32_t i = 0; i < 2000; ++i) {
    f.heap.put32(2048 + 8 * i, 0);
    f.heap.put32(2048 + 8 * i + 4, 2000);
  }
  std::memset(f.heap.at(0), 'a', 2048);
  std::vector<CoreValue> in{CoreValue::i32(2048), CoreValue::i32(2000)};
  FlatIter it(in);
  auto r = lift_flat(f.cx, it, *lt);
  EXPECT_NE(trap_of(r).find("host limit"), std::string::npos) << trap_of(r);
}

TEST(AbiValues, TupleAndOptionNestRoundTrip) {
  Fixture f;
  auto t = ok(make_tuple({T(ValKind::U8), ok(make_option(T(ValKind::String))), T(ValKind::F64)}));
  Value v = Value::tuple({Value::u(9), Value::some(Value::string("hé")), Value::float64(0.25)});
  EXPECT_EQ(store_load(f, *t, v, 800), v);
  EXPECT_EQ(flat_round_trip(f, *t, v), v);
  Value none = Value::tuple({Value::u(9), Value::none(), Value::float64(0.25)});
  EXPECT_EQ(flat_round_trip(f, *t, none), none);
}

TEST(AbiValues, UnalignedOrOutOfBoundsLoadsAreRefused) {
  Fixture f;
  EXPECT_FALSE(load(f.cx, 1, *T(ValKind::U32)).ok());
  EXPECT_FALSE(load(f.cx, 65536 - 2, *T(ValKind::U32)).ok());
  EXPECT_FALSE(load(f.cx, uint64_t{1} << 40, *T(ValKind::U8)).ok());
  EXPECT_TRUE(load(f.cx, 65536 - 4, *T(ValKind::U32)).ok());
}

TEST(AbiValues, ValuesNeedingMemoryFailWithoutOne) {
  InstanceState inst;
  AbiOptions none;
  AbiContext cx(none, inst);
  std::vector<CoreValue> out;
  auto r = lower_flat(cx, Value::string("x"), *T(ValKind::String), out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("realloc"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace wink::component
