// The `producers` custom section of a component (tool-conventions
// ProducersSection.md): which tools made it, e.g. `processed-by
// ComponentizeJS 0.23.0`. Only the component's own (top-level) section is
// read, never those of its core modules; the rest of the binary is skipped
// section by section, so this is cheap on a 13 MB component.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace wink::component {

struct Producer {
  std::string field;  // "language", "processed-by", "sdk"
  std::string name, version;
};

// Every (field, name, version) of the top-level producers section; empty
// when there is none. A malformed section is an error with its offset.
Result<std::vector<Producer>> read_producers(std::span<const uint8_t> component);

}  // namespace wink::component
