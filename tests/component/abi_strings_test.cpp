// Canonical ABI strings: UTF-8, UTF-16 and latin1+utf16 in guest memory,
// the exact realloc sequences of the transcoding rules, and the traps for
// bad pointers, lengths and encodings.
#include <gtest/gtest.h>

#include "component/abi.h"
#include "guest_heap.h"

namespace wink::component {
namespace {

using testing::GuestHeap;
using testing::ReallocCall;

struct Strings {
  explicit Strings(StringEncoding e) { heap.options.string_encoding = e; }
  GuestHeap heap;
  InstanceState inst;
  AbiContext cx{heap.options, inst};

  StoredString lower(const std::string& s) {
    auto r = store_string_into_range(cx, s);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : StoredString{};
  }
  Result<std::string> lift(uint64_t ptr, uint64_t units) { return load_string_from_range(cx, ptr, units); }
};

std::string err(const Result<std::string>& r) { return r.ok() ? "no trap" : r.error().message; }

TEST(AbiStrings, Utf8CopiesBytesWithOneAllocation) {
  Strings s(StringEncoding::Utf8);
  std::string text = "héllo \xF0\x9F\x98\x80";  // with a 4-byte code point
  StoredString st = s.lower(text);
  EXPECT_EQ(st.tagged_code_units, text.size());
  ASSERT_EQ(s.heap.calls.size(), 1u);
  EXPECT_EQ(s.heap.calls[0], (ReallocCall{0, 0, 1, static_cast<uint32_t>(text.size())}));
  EXPECT_EQ(*s.lift(st.ptr, st.tagged_code_units), text);
  EXPECT_EQ(*s.lift(st.ptr, 0), "");
}

TEST(AbiStrings, Utf8InvalidSequencesTrap) {
  Strings s(StringEncoding::Utf8);
  const char* bad[] = {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80"};
  for (const char* b : bad) {
    s.heap.put(100, b);
    EXPECT_NE(err(s.lift(100, std::strlen(b))).find("not valid UTF-8"), std::string::npos) << b;
  }
  EXPECT_FALSE(store_string_into_range(s.cx, "\xff").ok());  // host side is checked too
}

TEST(AbiStrings, Utf16AllocatesWorstCaseThenShrinks) {
  Strings s(StringEncoding::Utf16);
  std::string text = "a\xC3\xA9\xF0\x9F\x98\x80";  // "aé😀": 7 UTF-8 bytes, 4 UTF-16 units
  StoredString st = s.lower(text);
  EXPECT_EQ(st.tagged_code_units, 4u);
  ASSERT_EQ(s.heap.calls.size(), 2u);
  EXPECT_EQ(s.heap.calls[0], (ReallocCall{0, 0, 2, 14}));      // 2 * utf-8 length
  EXPECT_EQ(s.heap.calls[1], (ReallocCall{s.heap.calls[1].old_ptr, 14, 2, 8}));  // shrink to 8 bytes
  EXPECT_EQ(s.heap.bytes(st.ptr, 8),
            (std::vector<uint8_t>{0x61, 0x00, 0xE9, 0x00, 0x3D, 0xD8, 0x00, 0xDE}));
  EXPECT_EQ(*s.lift(st.ptr, st.tagged_code_units), text);
}

TEST(AbiStrings, Utf16SurrogateErrorsTrap) {
  Strings s(StringEncoding::Utf16);
  s.heap.put16(200, 0xD83D);  // high surrogate at the end
  EXPECT_NE(err(s.lift(200, 1)).find("unpaired high surrogate"), std::string::npos);
  s.heap.put16(200, 0xD83D);
  s.heap.put16(202, 0x0041);  // high followed by a non-surrogate
  EXPECT_NE(err(s.lift(200, 2)).find("not followed by a low"), std::string::npos);
  s.heap.put16(200, 0xDE00);  // lone low surrogate
  EXPECT_NE(err(s.lift(200, 1)).find("unpaired low surrogate"), std::string::npos);
  s.heap.put16(200, 0xD83D);
  s.heap.put16(202, 0xDE00);
  EXPECT_EQ(*s.lift(200, 2), "\xF0\x9F\x98\x80");
}

TEST(AbiStrings, Utf16PointerMustBeAligned) {
  Strings s(StringEncoding::Utf16);
  EXPECT_NE(err(s.lift(201, 1)).find("not aligned to 2"), std::string::npos);
  // The allocation realloc returns is checked as well.
  s.heap.return_override = 301;
  auto r = store_string_into_range(s.cx, "abc");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not aligned to 2"), std::string::npos) << r.error().message;
}

TEST(AbiStrings, LengthsAndBoundsAreCheckedIn64Bits) {
  Strings s(StringEncoding::Utf8);
  EXPECT_NE(err(s.lift(65536 - 3, 4)).find("out of bounds"), std::string::npos);
  EXPECT_TRUE(s.lift(65536 - 4, 4).ok());
  EXPECT_NE(err(s.lift(0, (1u << 28))).find("past 2^28-1"), std::string::npos);
  EXPECT_NE(err(s.lift(0xffffffff, 0xffffffff)).find("trap"), std::string::npos);
  Strings w(StringEncoding::Utf16);
  // 0x7fffffff UTF-16 units would be 2^32 - 2 bytes: refused by the length rule.
  EXPECT_NE(err(w.lift(0, 0x7fffffff)).find("past 2^28-1"), std::string::npos);
  // realloc that returns memory past the end traps.
  s.heap.return_override = 65530;
  auto r = store_string_into_range(s.cx, "0123456789");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("out of bounds"), std::string::npos) << r.error().message;
}

TEST(AbiStrings, Latin1StaysLatin1AndShrinks) {
  Strings s(StringEncoding::Latin1Utf16);
  std::string text = "caf\xC3\xA9";  // "café": 5 UTF-8 bytes, 4 latin-1 bytes
  StoredString st = s.lower(text);
  EXPECT_EQ(st.tagged_code_units, 4u);  // no UTF-16 tag
  ASSERT_EQ(s.heap.calls.size(), 2u);
  EXPECT_EQ(s.heap.calls[0], (ReallocCall{0, 0, 2, 5}));
  EXPECT_EQ(s.heap.calls[1].old_size, 5u);  // shrink from 5 to 4 bytes
  EXPECT_EQ(s.heap.calls[1].new_size, 4u);
  EXPECT_EQ(s.heap.calls[1].align, 2u);
  EXPECT_EQ(s.heap.bytes(st.ptr, 4), (std::vector<uint8_t>{'c', 'a', 'f', 0xE9}));
  EXPECT_EQ(*s.lift(st.ptr, st.tagged_code_units), text);
}

TEST(AbiStrings, Latin1InflatesToUtf16AtTheFirstWideCodePoint) {
  Strings s(StringEncoding::Latin1Utf16);
  std::string text = "\xC3\xA9\xE2\x82\xAC!";  // "é€!": 6 UTF-8 bytes, 3 UTF-16 units
  StoredString st = s.lower(text);
  EXPECT_EQ(st.tagged_code_units, 3u | kUtf16Tag);
  ASSERT_EQ(s.heap.calls.size(), 3u);
  EXPECT_EQ(s.heap.calls[0], (ReallocCall{0, 0, 2, 6}));
  EXPECT_EQ(s.heap.calls[1].old_size, 6u);   // grow to the worst case
  EXPECT_EQ(s.heap.calls[1].new_size, 12u);
  EXPECT_EQ(s.heap.calls[2].old_size, 12u);  // shrink to what was written
  EXPECT_EQ(s.heap.calls[2].new_size, 6u);
  EXPECT_EQ(s.heap.bytes(st.ptr, 6), (std::vector<uint8_t>{0xE9, 0x00, 0xAC, 0x20, 0x21, 0x00}));
  EXPECT_EQ(*s.lift(st.ptr, st.tagged_code_units), text);
}

TEST(AbiStrings, Latin1TagSelectsTheEncodingWhenLifting) {
  Strings s(StringEncoding::Latin1Utf16);
  s.heap.put(400, "\xE9\xFF");
  EXPECT_EQ(*s.lift(400, 2), "\xC3\xA9\xC3\xBF");  // latin-1 é ÿ
  s.heap.put16(410, 0x20AC);
  EXPECT_EQ(*s.lift(410, 1 | kUtf16Tag), "\xE2\x82\xAC");
  EXPECT_NE(err(s.lift(401, 1)).find("not aligned"), std::string::npos);  // alignment 2 in both forms
}

TEST(AbiStrings, ReallocMayNotCallImports) {
  Strings s(StringEncoding::Utf8);
  FuncType ft;  // a host function with no params/results
  bool called = false;
  Result<std::vector<CoreValue>> inner = std::vector<CoreValue>{};
  s.heap.on_realloc = [&] {
    inner = call_lowered(ft, s.heap.options, s.inst, [&](auto&) {
      called = true;
      return Result<std::vector<Value>>(std::vector<Value>{});
    }, {});
  };
  s.lower("x");
  EXPECT_FALSE(called);
  ASSERT_FALSE(inner.ok());
  EXPECT_NE(inner.error().message.find("may not leave"), std::string::npos);
  EXPECT_TRUE(s.inst.may_leave);  // restored afterwards
}

}  // namespace
}  // namespace wink::component
