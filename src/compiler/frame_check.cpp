// largest_stack_frame: section headers of an ELF64 object, then a byte scan.
#include "compiler/frame_check.h"

#include <elf.h>

#include <cstring>
#include <string>

#include "common/files.h"

namespace wink::compiler {

Result<uint64_t> largest_stack_frame(const std::filesystem::path& obj) {
  WINK_ASSIGN_OR_RETURN(std::string bytes, read_text_file(obj));
  auto bad = [&](const std::string& what) {
    return make_error(obj.filename().string() + ": not an object file the frame check can read (" + what + ")");
  };
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof eh) return bad("truncated");
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
    return bad("not x86-64 ELF64");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > bytes.size() ||
      uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr) > bytes.size() - eh.e_shoff)
    return bad("section headers out of bounds");
  uint64_t largest = 0;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, bytes.data() + eh.e_shoff + uint64_t{i} * sizeof sh, sizeof sh);
    if (!(sh.sh_flags & SHF_EXECINSTR) || sh.sh_type != SHT_PROGBITS) continue;
    if (sh.sh_offset > bytes.size() || sh.sh_size > bytes.size() - sh.sh_offset) return bad("section out of bounds");
    const auto* code = reinterpret_cast<const unsigned char*>(bytes.data() + sh.sh_offset);
    for (uint64_t k = 0; k + 7 <= sh.sh_size; ++k) {
      // 48 81 ec imm32: sub $imm, %rsp; 48 81 c4 imm32: add $imm, %rsp (a
      // negative add grows the stack just the same).
      if (code[k] != 0x48 || code[k + 1] != 0x81 || (code[k + 2] != 0xec && code[k + 2] != 0xc4)) continue;
      int32_t imm;
      std::memcpy(&imm, code + k + 3, 4);
      int64_t grows = code[k + 2] == 0xec ? int64_t{imm} : -int64_t{imm};
      // A sub of a negative (moving %rsp up) is not something compilers
      // emit: count any such sign oddity as the largest frame there is.
      uint64_t frame = code[k + 2] == 0xec && imm < 0 ? UINT64_MAX : grows > 0 ? static_cast<uint64_t>(grows) : 0;
      if (frame > largest) largest = frame;
    }
  }
  return largest;
}

}  // namespace wink::compiler
