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

}  // namespace wink::compiler
