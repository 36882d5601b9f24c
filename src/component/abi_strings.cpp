// Canonical ABI strings: lifting from utf8 / utf16 / latin1+utf16 guest
// memory into host UTF-8, and lowering host UTF-8 into the guest's encoding
// with exactly the spec's realloc sequence (allocate the worst case, shrink
// afterwards; latin1+utf16 inflates in place when it meets a code point
// above U+00FF).
#include <cstring>

#include "component/abi.h"
#include "component/reader.h"

namespace wink::component {

namespace {

Error trap(const std::string& why) { return make_error("trap: " + why); }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes valid UTF-8 (checked by the caller) into code points.
std::vector<uint32_t> code_points(const std::string& s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = c; n = 0; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 1; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 2; }
    else { cp = c & 0x07; n = 3; }
    for (size_t k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n + 1;
  }
  return out;
}

std::vector<uint16_t> to_utf16(const std::vector<uint32_t>& cps) {
  std::vector<uint16_t> out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      out.push_back(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

void write_utf16(uint8_t* dst, const uint16_t* units, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    dst[2 * i] = static_cast<uint8_t>(units[i]);
    dst[2 * i + 1] = static_cast<uint8_t>(units[i] >> 8);
  }
}

}  // namespace

Result<std::string> load_string_from_range(AbiContext& cx, uint64_t ptr, uint64_t tagged_code_units) {
  enum { Utf8, Utf16, Latin1 } encoding;
  uint64_t alignment, byte_length;
  switch (cx.opts.string_encoding) {
    case StringEncoding::Utf8:
      encoding = Utf8; alignment = 1; byte_length = tagged_code_units; break;
    case StringEncoding::Utf16:
      encoding = Utf16; alignment = 2; byte_length = 2 * tagged_code_units; break;
    case StringEncoding::Latin1Utf16:
    default:
      alignment = 2;
      if (tagged_code_units & kUtf16Tag) {
        encoding = Utf16;
        byte_length = 2 * (tagged_code_units ^ kUtf16Tag);
      } else {
        encoding = Latin1;
        byte_length = tagged_code_units;
      }
      break;
  }
  if (byte_length > kMaxStringByteLength) {
    return trap("string of " + std::to_string(byte_length) + " bytes is past 2^28-1");
  }
  if (ptr % alignment != 0) {
    return trap("string pointer " + std::to_string(ptr) + " is not aligned to " + std::to_string(alignment));
  }
  WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
  if (ptr + byte_length > mem->size) {
    return trap("string [" + std::to_string(ptr) + ", +" + std::to_string(byte_length) +
                ") is out of bounds of memory of " + std::to_string(mem->size) + " bytes");
  }
  const uint8_t* p = mem->base + ptr;
  std::string out;
  switch (encoding) {
    case Utf8:
      WINK_TRY(cx.charge(byte_length));
      out.assign(reinterpret_cast<const char*>(p), byte_length);
      if (!valid_utf8(out)) return trap("string at " + std::to_string(ptr) + " is not valid UTF-8");
      return out;
    case Latin1:
      WINK_TRY(cx.charge(2 * byte_length));
      out.reserve(byte_length);
      for (uint64_t i = 0; i < byte_length; ++i) append_utf8(out, p[i]);
      return out;
    case Utf16: {
      WINK_TRY(cx.charge(byte_length / 2 * 3));
      uint64_t n = byte_length / 2;
      out.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        uint32_t u = p[2 * i] | (uint32_t{p[2 * i + 1]} << 8);
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (i + 1 >= n) return trap("UTF-16 string ends with an unpaired high surrogate");
          uint32_t lo = p[2 * i + 2] | (uint32_t{p[2 * i + 3]} << 8);
          if (lo < 0xDC00 || lo > 0xDFFF) {
            return trap("UTF-16 high surrogate at code unit " + std::to_string(i) + " is not followed by a low one");
          }
          append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
          ++i;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return trap("UTF-16 unpaired low surrogate at code unit " + std::to_string(i));
        } else {
          append_utf8(out, u);
        }
      }
      return out;
    }
  }
  return out;
}

Result<StoredString> store_string_into_range(AbiContext& cx, const std::string& src) {
  if (!valid_utf8(src)) return make_error("host string is not valid UTF-8");
  if (src.size() > kMaxStringByteLength) {
    return make_error("string of " + std::to_string(src.size()) + " bytes is too long to pass (2^28-1)");
  }
  const uint32_t units = static_cast<uint32_t>(src.size());  // source: UTF-8 code units
  switch (cx.opts.string_encoding) {
    case StringEncoding::Utf8: {
      WINK_ASSIGN_OR_RETURN(uint32_t ptr, cx.reallocate(0, 0, 1, units));
      std::memcpy(cx.opts.memory->base + ptr, src.data(), units);
      return StoredString{ptr, units};
    }
    case StringEncoding::Utf16: {
      uint64_t worst = 2 * uint64_t{units};
      WINK_ASSIGN_OR_RETURN(uint32_t ptr, cx.reallocate(0, 0, 2, worst));
      std::vector<uint16_t> encoded = to_utf16(code_points(src));
      write_utf16(cx.opts.memory->base + ptr, encoded.data(), encoded.size());
      uint64_t len = 2 * uint64_t{encoded.size()};
      if (len < worst) {
        WINK_ASSIGN_OR_RETURN(ptr, cx.reallocate(ptr, static_cast<uint32_t>(worst), 2, len));
      }
      return StoredString{ptr, static_cast<uint32_t>(encoded.size())};
    }
    case StringEncoding::Latin1Utf16:
    default: {
      WINK_ASSIGN_OR_RETURN(uint32_t ptr, cx.reallocate(0, 0, 2, units));
      std::vector<uint32_t> cps = code_points(src);
      uint32_t dst_len = 0;
      for (uint32_t cp : cps) {
        if (cp < 0x100) {
          cx.opts.memory->base[ptr + dst_len] = static_cast<uint8_t>(cp);
          ++dst_len;
          continue;
        }
        // First code point past latin-1: grow to UTF-16, inflate what was written.
        uint64_t worst = 2 * uint64_t{units};
        WINK_ASSIGN_OR_RETURN(ptr, cx.reallocate(ptr, units, 2, worst));
        uint8_t* base = cx.opts.memory->base + ptr;
        for (int64_t j = int64_t{dst_len} - 1; j >= 0; --j) {
          base[2 * j] = base[j];
          base[2 * j + 1] = 0;
        }
        std::vector<uint16_t> encoded = to_utf16(cps);
        write_utf16(base + 2 * uint64_t{dst_len}, encoded.data() + dst_len, encoded.size() - dst_len);
        uint64_t len = 2 * uint64_t{encoded.size()};
        if (worst > len) {
          WINK_ASSIGN_OR_RETURN(ptr, cx.reallocate(ptr, static_cast<uint32_t>(worst), 2, len));
        }
        return StoredString{ptr, static_cast<uint32_t>(encoded.size()) | kUtf16Tag};
      }
      if (dst_len < units) {
        WINK_ASSIGN_OR_RETURN(ptr, cx.reallocate(ptr, units, 2, dst_len));
      }
      return StoredString{ptr, dst_len};
    }
  }
}

}  // namespace wink::component
