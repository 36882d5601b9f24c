#include "compiler/data_split.h"

#include <cstring>
#include <string>

#include "common/hash.h"

namespace wink::compiler {
namespace {

// A strict reader: any malformed byte makes the split give up (the whole
// module is then compiled, and validation says what is wrong).
class Reader {
 public:
  Reader(std::span<const uint8_t> b, size_t pos, size_t end) : b_(b), pos_(pos), end_(end) {}
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == end_; }

  std::optional<uint8_t> byte() {
    if (pos_ >= end_) return std::nullopt;
    return b_[pos_++];
  }
  std::optional<uint32_t> u32() {
    uint64_t v = 0;
    for (int i = 0; i < 5; ++i) {
      auto x = byte();
      if (!x) return std::nullopt;
      v |= uint64_t(*x & 0x7f) << (7 * i);
      if (!(*x & 0x80)) {
        if (v > UINT32_MAX) return std::nullopt;
        return static_cast<uint32_t>(v);
      }
    }
    return std::nullopt;
  }
  std::optional<int32_t> s32() {
    int64_t v = 0;
    int shift = 0;
    for (int i = 0; i < 5; ++i) {
      auto x = byte();
      if (!x) return std::nullopt;
      v |= int64_t(*x & 0x7f) << shift;
      shift += 7;
      if (!(*x & 0x80)) {
        if (shift < 64 && (*x & 0x40)) v |= -(int64_t(1) << shift);
        if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
        return static_cast<int32_t>(v);
      }
    }
    return std::nullopt;
  }
  bool skip(uint64_t n) {
    if (n > end_ - pos_) return false;
    pos_ += n;
    return true;
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_, end_;
};

// Position of each known section id in the order the binary format requires.
int section_rank(uint8_t id) {
  switch (id) {
    case 1: case 2: case 3: case 4: case 5: return id;
    case 13: return 6;   // tag
    case 6: case 7: case 8: case 9: return id + 1;
    case 12: return 11;  // data count
    case 10: return 12;  // code
    case 11: return 13;  // data
    default: return -1;
  }
}

std::optional<DataImage> read_data_section(std::span<const uint8_t> wasm, size_t start, size_t end) {
  Reader r(wasm, start, end);
  auto count = r.u32();
  if (!count || *count > end - start) return std::nullopt;  // each segment takes bytes
  DataImage image;
  image.segments.reserve(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    auto flags = r.u32();
    if (!flags) return std::nullopt;
    if (*flags == 2) {
      auto mem = r.u32();
      if (!mem || *mem != 0) return std::nullopt;
    } else if (*flags != 0) {
      return std::nullopt;  // passive: memory.init reads it, so it stays in the code
    }
    // The offset expression: exactly `i32.const N end`.
    if (r.byte() != std::optional<uint8_t>(0x41)) return std::nullopt;
    auto offset = r.s32();
    if (!offset || r.byte() != std::optional<uint8_t>(0x0b)) return std::nullopt;
    auto size = r.u32();
    if (!size) return std::nullopt;
    size_t at = r.pos();
    if (!r.skip(*size)) return std::nullopt;
    DataImage::Segment seg;
    seg.offset = static_cast<uint32_t>(*offset);
    seg.size = *size;
    seg.at = image.bytes.size();
    image.bytes.insert(image.bytes.end(), wasm.begin() + at, wasm.begin() + at + *size);
    image.segments.push_back(seg);
  }
  if (!r.at_end()) return std::nullopt;
  return image;
}

}  // namespace

std::optional<SplitModule> split_data(std::span<const uint8_t> wasm) {
  static constexpr uint8_t kHeader[8] = {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00};
  if (wasm.size() < 8 || std::memcmp(wasm.data(), kHeader, 8) != 0) return std::nullopt;
  SplitModule out;
  out.code.assign(wasm.begin(), wasm.begin() + 8);
  int last_rank = 0;
  bool has_memory = false;
  std::optional<uint32_t> data_count;
  std::optional<DataImage> image;
  size_t p = 8;
  while (p < wasm.size()) {
    Reader h(wasm, p, wasm.size());
    auto id = h.byte();
    auto size = h.u32();
    if (!id || !size) return std::nullopt;
    size_t start = h.pos();
    if (*size > wasm.size() - start) return std::nullopt;
    size_t end = start + *size;
    if (*id != 0) {
      // Out-of-order or repeated sections make the module invalid; the code
      // module alone could still be valid, so do not split such a module.
      int rank = section_rank(*id);
      if (rank <= last_rank) return std::nullopt;
      last_rank = rank;
    }
    switch (*id) {
      case 0: break;  // custom (names, producers): no meaning, and names would only rename the C
      case 8: return std::nullopt;  // start: runs before the engine could write the data
      case 5: {
        Reader r(wasm, start, end);
        auto n = r.u32();
        if (!n) return std::nullopt;
        has_memory = *n > 0;
        out.code.insert(out.code.end(), wasm.begin() + p, wasm.begin() + end);
        break;
      }
      case 12: {
        Reader r(wasm, start, end);
        data_count = r.u32();
        if (!data_count || !r.at_end()) return std::nullopt;
        break;
      }
      case 11:
        image = read_data_section(wasm, start, end);
        if (!image) return std::nullopt;
        break;
      default:
        out.code.insert(out.code.end(), wasm.begin() + p, wasm.begin() + end);
    }
    p = end;
  }
  if (!has_memory || !image || image->segments.empty()) return std::nullopt;
  if (data_count && *data_count != image->segments.size()) return std::nullopt;
  Sha256 h;
  for (const DataImage::Segment& s : image->segments) {
    uint32_t fields[2] = {s.offset, s.size};
    h.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(fields), sizeof fields));
  }
  h.update(image->bytes);
  image->hash = h.hex();
  out.data = std::make_shared<const DataImage>(std::move(*image));
  return out;
}

Result<void> apply_data(const DataImage& image, uint8_t* memory, uint64_t memory_size) {
  for (size_t i = 0; i < image.segments.size(); ++i) {
    const DataImage::Segment& s = image.segments[i];
    if (uint64_t(s.offset) + s.size > memory_size) {
      return make_error("out of bounds memory access: data segment " + std::to_string(i) + " (" +
                        std::to_string(s.size) + " bytes at " + std::to_string(s.offset) +
                        ") ends past the memory's " + std::to_string(memory_size) + " bytes");
    }
    if (s.size) std::memcpy(memory + s.offset, image.bytes.data() + s.at, s.size);
  }
  return {};
}

}  // namespace wink::compiler
