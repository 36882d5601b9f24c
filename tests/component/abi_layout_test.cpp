// Canonical ABI layout and flattening against CanonicalABI.md: alignment,
// elem_size, discriminant sizes, flags words, flatten_type joins and
// flatten_functype spilling.
#include <gtest/gtest.h>

#include "component/abi.h"
#include "guest_heap.h"

namespace wink::component {
namespace {

using testing::ok;
using testing::T;
using V = CoreValType;

TEST(AbiLayout, PrimitivesHaveSpecSizes) {
  struct { ValKind k; uint64_t size; uint32_t align; } cases[] = {
      {ValKind::Bool, 1, 1}, {ValKind::S8, 1, 1}, {ValKind::U16, 2, 2}, {ValKind::S32, 4, 4},
      {ValKind::U64, 8, 8}, {ValKind::F32, 4, 4}, {ValKind::F64, 8, 8}, {ValKind::Char, 4, 4},
      {ValKind::String, 8, 4},
  };
  for (auto& c : cases) {
    EXPECT_EQ(T(c.k)->size, c.size) << val_kind_name(c.k);
    EXPECT_EQ(T(c.k)->alignment, c.align) << val_kind_name(c.k);
  }
  EXPECT_EQ(make_own(1)->size, 4u);
  EXPECT_EQ(ok(make_list(T(ValKind::U8)))->size, 8u);
}

TEST(AbiLayout, RecordPadsFieldsAndRoundsToAlignment) {
  // record { a: u8, b: u32, c: u8 }: a@0, b@4, c@8, size 12, align 4.
  auto r = ok(make_record({{"a", T(ValKind::U8)}, {"b", T(ValKind::U32)}, {"c", T(ValKind::U8)}}));
  EXPECT_EQ(r->size, 12u);
  EXPECT_EQ(r->alignment, 4u);
  auto t = ok(make_tuple({T(ValKind::U8), T(ValKind::U64)}));
  EXPECT_EQ(t->size, 16u);
  EXPECT_EQ(t->alignment, 8u);
}

TEST(AbiLayout, VariantDiscriminantGrowsWithCaseCount) {
  auto labels = [](size_t n) {
    std::vector<std::string> l;
    for (size_t i = 0; i < n; ++i) l.push_back("c" + std::to_string(i));
    return l;
  };
  EXPECT_EQ(ok(make_enum(labels(1)))->size, 1u);
  EXPECT_EQ(ok(make_enum(labels(256)))->size, 1u);  // 256 cases still fit one byte
  EXPECT_EQ(ok(make_enum(labels(257)))->size, 2u);
  EXPECT_EQ(ok(make_enum(labels(65536)))->size, 2u);
  EXPECT_EQ(ok(make_enum(labels(65537)))->size, 4u);
  // option<u8>: disc@0, payload@1, size 2. result<u64, u8>: payload@8, size 16.
  EXPECT_EQ(ok(make_option(T(ValKind::U8)))->size, 2u);
  auto res = ok(make_result(T(ValKind::U64), T(ValKind::U8)));
  EXPECT_EQ(res->size, 16u);
  EXPECT_EQ(res->alignment, 8u);
  // result (no payloads) is just a discriminant.
  EXPECT_EQ(ok(make_result(nullptr, nullptr))->size, 1u);
}

TEST(AbiLayout, FlagsUseSmallestIntegerThenWords) {
  auto flags = [](size_t n) {
    std::vector<std::string> l;
    for (size_t i = 0; i < n; ++i) l.push_back("f" + std::to_string(i));
    return ok(make_flags(l));
  };
  EXPECT_EQ(flags(8)->size, 1u);
  EXPECT_EQ(flags(9)->size, 2u);
  EXPECT_EQ(flags(16)->size, 2u);
  EXPECT_EQ(flags(17)->size, 4u);
  EXPECT_EQ(flags(32)->size, 4u);
  EXPECT_EQ(flags(33)->size, 8u);  // beyond 32: one u32 per 32 flags
  EXPECT_EQ(flags(33)->flat, (std::vector<V>{V::I32, V::I32}));
  EXPECT_EQ(flags(32)->flat, (std::vector<V>{V::I32}));
}

TEST(AbiLayout, VariantFlatJoinsCasesPositionwise) {
  // join(f32, i32) = i32; join(f32, i64) = i64; join(f64, f32) = i64.
  auto v1 = ok(make_variant({{"a", T(ValKind::F32)}, {"b", T(ValKind::U32)}}));
  EXPECT_EQ(v1->flat, (std::vector<V>{V::I32, V::I32}));
  auto v2 = ok(make_variant({{"a", T(ValKind::F32)}, {"b", T(ValKind::U64)}}));
  EXPECT_EQ(v2->flat, (std::vector<V>{V::I32, V::I64}));
  auto v3 = ok(make_variant({{"a", T(ValKind::F64)}, {"b", T(ValKind::F32)}, {"c", nullptr}}));
  EXPECT_EQ(v3->flat, (std::vector<V>{V::I32, V::I64}));
  auto v4 = ok(make_variant({{"a", T(ValKind::F32)}, {"b", T(ValKind::F32)}}));
  EXPECT_EQ(v4->flat, (std::vector<V>{V::I32, V::F32}));
  // option<string>: discriminant + ptr + len.
  EXPECT_EQ(ok(make_option(T(ValKind::String)))->flat, (std::vector<V>{V::I32, V::I32, V::I32}));
  // The longer case decides the length.
  auto v5 = ok(make_variant({{"a", T(ValKind::U8)}, {"b", ok(make_tuple({T(ValKind::F64), T(ValKind::F32)}))}}));
  EXPECT_EQ(v5->flat, (std::vector<V>{V::I32, V::I64, V::F32}));
}

TEST(AbiLayout, FlattenFunctypeSpillsPastLimits) {
  FuncType ft;
  for (int i = 0; i < 16; ++i) ft.params.push_back({"p" + std::to_string(i), T(ValKind::U32)});
  EXPECT_EQ(flatten_functype(ft, FlattenContext::Lift).params.size(), 16u);
  ft.params.push_back({"p16", T(ValKind::U32)});
  EXPECT_EQ(flatten_functype(ft, FlattenContext::Lift).params, (std::vector<V>{V::I32}));

  FuncType two;
  two.result = ok(make_tuple({T(ValKind::F32), T(ValKind::F64)}));
  // Lift: the callee returns a pointer. Lower: the caller passes a return area.
  EXPECT_EQ(flatten_functype(two, FlattenContext::Lift), (CoreFuncSig{{}, {V::I32}}));
  EXPECT_EQ(flatten_functype(two, FlattenContext::Lower), (CoreFuncSig{{V::I32}, {}}));

  FuncType str;
  str.params.push_back({"s", T(ValKind::String)});
  str.result = T(ValKind::U64);
  EXPECT_EQ(flatten_functype(str, FlattenContext::Lower), (CoreFuncSig{{V::I32, V::I32}, {V::I64}}));
}

TEST(AbiLayout, TypesPastTheSizeLimitAreRefusedWithoutBlowup) {
  // Each tuple doubles the size: the 25th doubling of u64 reaches 2^28. Shared
  // nodes make the tree exponential, the layout pass stays linear.
  ValTypePtr t = T(ValKind::U64);
  Result<ValTypePtr> last = t;
  int refused_at = -1;
  for (int i = 0; i < 40; ++i) {
    last = make_tuple({t, t});
    if (!last) {
      refused_at = i;
      EXPECT_NE(last.error().message.find("2^28-1"), std::string::npos) << last.error().message;
      break;
    }
    t = *last;
  }
  EXPECT_EQ(refused_at, 24);  // iteration 24 builds 8 * 2^25 = 2^28 > 2^28 - 1
}

TEST(AbiLayout, DepthLimitRefusesDeepTypes) {
  ValTypePtr t = T(ValKind::U8);
  std::string error;
  for (int i = 0; i < 200; ++i) {
    auto r = make_list(t);
    if (!r) {
      error = r.error().message;
      break;
    }
    t = *r;
  }
  EXPECT_NE(error.find("nesting depth"), std::string::npos) << error;
}

TEST(AbiLayout, DuplicateLabelsAreRefused) {
  EXPECT_FALSE(make_record({{"a", T(ValKind::U8)}, {"a", T(ValKind::U8)}}).ok());
  EXPECT_FALSE(make_enum({"x", "x"}).ok());
  EXPECT_FALSE(make_flags({"x", "x"}).ok());
  EXPECT_FALSE(make_variant({}).ok());
}

}  // namespace
}  // namespace wink::component
