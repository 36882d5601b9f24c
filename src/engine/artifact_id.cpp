// Artifact identity for snapshots: the loaded object's build id (see artifact_id.h).
#include "engine/artifact_id.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstring>
#include <span>

#include "common/hash.h"
#include "engine/engine.h"

namespace wink::engine {
namespace {

struct Search {
  uintptr_t inside = 0;  // an address within the artifact (its descriptor)
  std::string id;
};

std::string to_hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

bool contains(const dl_phdr_info* info, uintptr_t address) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (address >= start && address < start + ph.p_memsz) return true;
  }
  return false;
}

// The NT_GNU_BUILD_ID note of a loaded object, or empty.
std::string build_id(const dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    const size_t align = ph.p_align > 4 ? ph.p_align : 4;
    auto round = [align](size_t n) { return (n + align - 1) / align * align; };
    while (static_cast<size_t>(end - p) >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) note;
      std::memcpy(&note, p, sizeof note);
      const uint8_t* name = p + sizeof note;
      const uint8_t* desc = name + round(note.n_namesz);
      if (desc > end || note.n_descsz > static_cast<size_t>(end - desc)) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 &&
          note.n_descsz > 0) {
        return to_hex(desc, note.n_descsz);
      }
      p = desc + round(note.n_descsz);
    }
  }
  return {};
}

// sha256 over the read-only loaded segments (no relocations land there: the
// artifact is position-independent code).
std::string text_hash(const dl_phdr_info* info) {
  Sha256 h;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
    h.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr), ph.p_filesz));
  }
  return h.hex();
}

int visit(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Search*>(data);
  if (!contains(info, s->inside)) return 0;
  std::string id = build_id(info);
  s->id = id.empty() ? "text-sha256:" + text_hash(info) : "gnu-build-id:" + id;
  return 1;
}

}  // namespace

std::string artifact_id(const Module& module) {
  Search s;
  s.inside = reinterpret_cast<uintptr_t>(&module.abi());
  dl_iterate_phdr(visit, &s);
  return s.id;
}

}  // namespace wink::engine
