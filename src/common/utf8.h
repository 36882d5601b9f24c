// UTF-8 well-formedness (RFC 3629): the one check for names the WebAssembly
// binary formats require to be UTF-8 (core custom sections, component names).
#pragma once

#include <string_view>

namespace wink {

// No overlong forms, no surrogates, nothing past U+10FFFF, no truncation.
bool valid_utf8(std::string_view s);

}  // namespace wink
