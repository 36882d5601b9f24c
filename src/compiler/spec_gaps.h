// Spec rules libwabt 1.0.32 does not enforce, checked by the front end after
// wabt's validation (see spec_gaps.cpp).
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"

namespace wabt {
struct Module;
}

namespace wink::compiler {

Result<void> check_spec_gaps(std::span<const uint8_t> wasm, const wabt::Module& module);

// What must be refused before libwabt builds its IR, because its IR reader
// fails an assertion (aborting the process) instead of reporting an error:
// a non-constant instruction in a constant expression. The error carries the
// byte offset of the instruction ("at byte offset N").
Result<void> check_before_ir(std::span<const uint8_t> wasm);

}  // namespace wink::compiler
