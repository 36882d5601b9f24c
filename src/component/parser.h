// Parser for the component binary format (component-model design/mvp/
// Binary.md): preamble, every section, nested components, with hostile-input
// limits. The result is the type model and resolved index spaces of
// model.h. Every refusal names the byte offset, the section and the reason.
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"
#include "component/model.h"

namespace wink::component {

// What the first 8 bytes say a .wasm file is.
enum class BinaryLayer { CoreModule, Component, Unknown };
BinaryLayer detect_layer(std::span<const uint8_t> bytes);

struct ParseLimits {
  uint32_t max_component_depth = 16;   // nested components
  uint32_t max_type_scope_depth = 16;  // component/instance types inside types
  uint64_t max_input_bytes = uint64_t{1} << 30;
  uint32_t max_index_space = 1'000'000;  // entries in any one index space
  uint32_t max_fields = 10'000;          // record fields, variant cases, params
  uint32_t max_flags = 32;               // Binary.md: 0 < |flags| <= 32
};

Result<Component> parse_component(std::span<const uint8_t> bytes, const ParseLimits& limits = {});

}  // namespace wink::component
