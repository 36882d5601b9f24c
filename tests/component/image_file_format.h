// For tests and the fuzzer of component image files (linker::save_image,
// engine::Snapshot::write_linked_file): the header layout, resealing a file
// after its bytes were changed (so the change gets past the checksums to
// the structural checks), and the places in the metadata of the values an
// attacker would change. Mirrors src/engine/snapshot.cpp (FileHeader, the
// linked metadata); a test that resealed an unchanged file and had it
// refused would show the mirror is stale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "common/hash.h"

namespace wink::test {

struct ImageFileHeader {  // as FileHeader in snapshot.cpp
  char magic[8];
  uint32_t format_version;
  uint32_t header_bytes;
  char engine_version[48];
  char module_hash[72];
  char artifact_id[96];
  char spec_key[72];
  uint64_t meta_offset, meta_bytes;
  uint64_t data_offset, data_bytes;
  uint8_t meta_sha256[32];
  uint8_t data_sha256[32];
  uint8_t header_sha256[32];
};

inline void image_sha256(const uint8_t* data, size_t size, uint8_t out[32]) {
  std::string hex = Sha256().update(std::span<const uint8_t>(data, size)).hex();
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
}

// Recomputes the metadata, data and header checksums of `file` (where the
// header's offsets allow), keeping everything else.
inline void reseal_image_file(std::vector<uint8_t>& file) {
  if (file.size() < sizeof(ImageFileHeader)) return;
  ImageFileHeader h;
  std::memcpy(&h, file.data(), sizeof h);
  if (h.meta_offset <= file.size() && h.meta_bytes <= file.size() - h.meta_offset) {
    image_sha256(file.data() + h.meta_offset, h.meta_bytes, h.meta_sha256);
  }
  if (h.data_offset <= file.size() && h.data_bytes <= file.size() - h.data_offset) {
    image_sha256(file.data() + h.data_offset, h.data_bytes, h.data_sha256);
  }
  std::memset(h.header_sha256, 0, sizeof h.header_sha256);
  image_sha256(reinterpret_cast<const uint8_t*>(&h), sizeof h, h.header_sha256);
  std::memcpy(file.data(), &h, sizeof h);
}

// File offsets of values in the linked metadata (write_linked_file's order).
struct ImageFileMap {
  struct Func {
    size_t kind = 0, artifact = 0, offset = 0, type_artifact = 0, type_index = 0;  // 0: null function
  };
  struct Reloc {
    size_t at = 0, range = 0, offset = 0;
  };
  struct Core {
    std::vector<Reloc> image_relocs;
    std::vector<Func> table_entries;  // every funcref table's, in order
    std::vector<Reloc> table_relocs;
  };
  std::vector<Core> cores;  // present core instances, in order
  bool ok = false;
};

inline ImageFileMap map_image_file(const std::vector<uint8_t>& file) {
  ImageFileMap map;
  if (file.size() < sizeof(ImageFileHeader)) return map;
  ImageFileHeader h;
  std::memcpy(&h, file.data(), sizeof h);
  if (h.meta_offset > file.size() || h.meta_bytes > file.size() - h.meta_offset) return map;
  size_t pos = h.meta_offset;
  const size_t end = h.meta_offset + h.meta_bytes;
  bool bad = false;
  auto take = [&](size_t n) {
    if (end - pos < n) bad = true;
    size_t at = pos;
    if (!bad) pos += n;
    return at;
  };
  auto u8 = [&] { size_t at = take(1); return bad ? 0u : uint32_t{file[at]}; };
  auto u32 = [&] { size_t at = take(4); uint32_t v = 0; if (!bad) std::memcpy(&v, &file[at], 4); return v; };
  auto u64 = [&] { size_t at = take(8); uint64_t v = 0; if (!bad) std::memcpy(&v, &file[at], 8); return v; };
  auto func = [&] {
    ImageFileMap::Func f;
    f.kind = pos;
    if (u8() == 0) return ImageFileMap::Func{};
    f.artifact = take(4);
    f.offset = take(8);
    f.type_artifact = take(4);
    f.type_index = take(4);
    return f;
  };
  auto reloc = [&] {
    ImageFileMap::Reloc r;
    r.at = take(8);
    r.range = take(4);
    r.offset = take(8);
    return r;
  };
  const uint32_t ncore = u32();
  for (uint32_t i = 0; i < ncore && !bad; ++i) {
    if (u8() == 0) continue;
    ImageFileMap::Core core;
    take(u64());                                              // the struct
    for (uint32_t n = u32(); n-- && !bad;) func();            // funcref globals
    for (uint32_t n = u32(); n-- && !bad;) core.image_relocs.push_back(reloc());
    for (uint32_t n = u32(); n-- && !bad;) {                  // memories
      take(16);
      for (uint32_t runs = u32(); runs-- && !bad;) take(16);
    }
    for (uint32_t n = u32(); n-- && !bad;) {                  // tables
      take(8);
      const bool funcref = u8() != 0;
      const uint32_t size = u32();
      take(4);
      if (!funcref) continue;
      for (uint32_t e = 0; e < size && !bad; ++e) core.table_entries.push_back(func());
      for (uint32_t r = u32(); r-- && !bad;) core.table_relocs.push_back(reloc());
    }
    map.cores.push_back(std::move(core));
  }
  map.ok = !bad;
  return map;
}

template <class T>
void poke_image_file(std::vector<uint8_t>& file, size_t at, T value) {
  std::memcpy(&file[at], &value, sizeof value);
}

template <class T>
T peek_image_file(const std::vector<uint8_t>& file, size_t at) {
  T v;
  std::memcpy(&v, &file[at], sizeof v);
  return v;
}

}  // namespace wink::test
