// Stack frames of code from a compiler without stack probes (TinyCC, the
// quick tier): the largest frame an object file's code allocates, read from
// its machine code, so a part whose frame could step over the guard region
// below a guest thread's stack is compiled again by a compiler that probes.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/result.h"

namespace wink::compiler {

// The most any `sub $imm32, %rsp` (48 81 ec imm32) or negative `add $imm32,
// %rsp` (48 81 c4 imm32) in the executable sections of the x86-64 ELF object
// `obj` grows the stack. TinyCC allocates every frame with exactly that sub
// in its prologue (patched once the function's size is known), makes room
// for a struct argument with one too, and passes other stack arguments with
// `push`, so this bounds every frame of its code (wasm2c's C has no alloca
// or variable-length arrays). The byte pattern is searched at every
// offset, not only at instruction starts: a match inside another instruction
// can only make the bound larger (a needless fallback), never smaller.
// An error for anything but a readable x86-64 ELF relocatable object.
Result<uint64_t> largest_stack_frame(const std::filesystem::path& obj);

}  // namespace wink::compiler
