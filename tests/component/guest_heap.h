// A guest linear memory for ABI tests: real bytes plus a bump allocator
// behind cabi_realloc that records every call, so tests can check the exact
// allocation sequence the specification prescribes and make realloc
// misbehave (misaligned or out-of-bounds results) the way a hostile guest would.
#pragma once

#include <cstring>
#include <vector>

#include "component/abi.h"

namespace wink::component::testing {

struct ReallocCall {
  uint32_t old_ptr, old_size, align, new_size;
  bool operator==(const ReallocCall&) const = default;
};

class GuestHeap {
 public:
  explicit GuestHeap(uint32_t size = 1 << 16, uint32_t heap_start = 1024) : bytes_(size), next_(heap_start) {
    memory.base = bytes_.data();
    memory.size = bytes_.size();
    options.memory = &memory;
    options.realloc = [this](uint32_t old_ptr, uint32_t old_size, uint32_t align, uint32_t new_size) {
      return realloc(old_ptr, old_size, align, new_size);
    };
  }

  Result<uint32_t> realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align, uint32_t new_size) {
    calls.push_back({old_ptr, old_size, align, new_size});
    if (on_realloc) on_realloc();
    if (return_override) return *return_override;
    uint64_t p = (uint64_t{next_} + align - 1) / align * align;
    if (p + new_size > bytes_.size()) return make_error("guest out of memory");
    if (old_ptr) std::memmove(bytes_.data() + p, bytes_.data() + old_ptr, std::min(old_size, new_size));
    next_ = static_cast<uint32_t>(p + new_size);
    return static_cast<uint32_t>(p);
  }

  uint8_t* at(uint64_t p) { return bytes_.data() + p; }
  void put32(uint64_t p, uint32_t v) { std::memcpy(at(p), &v, 4); }
  void put16(uint64_t p, uint16_t v) { std::memcpy(at(p), &v, 2); }
  void put(uint64_t p, const std::string& s) { std::memcpy(at(p), s.data(), s.size()); }
  uint32_t get32(uint64_t p) { uint32_t v; std::memcpy(&v, at(p), 4); return v; }
  std::vector<uint8_t> bytes(uint64_t p, size_t n) { return {at(p), at(p) + n}; }

  GuestMemory memory;
  AbiOptions options;
  std::vector<ReallocCall> calls;
  std::optional<uint32_t> return_override;
  std::function<void()> on_realloc;

 private:
  std::vector<uint8_t> bytes_;
  uint32_t next_;
};

inline ValTypePtr T(ValKind k) { return primitive(k); }
template <typename R>
ValTypePtr ok(R r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return std::move(r).value();
}

}  // namespace wink::component::testing
