// Signature strings of the artifact ABI (artifact_abi.h: one letter per
// value) spelled as Wasm type names, for error messages of the compiler and
// the linker alike.
#pragma once

#include <string>
#include <string_view>

namespace wink::runtime {

// "iIr" -> "i32<sep>i64<sep>funcref"; a letter outside the ABI reads "?".
inline std::string signature_type_names(std::string_view sig, std::string_view separator) {
  std::string out;
  for (char c : sig) {
    if (!out.empty()) out += separator;
    switch (c) {
      case 'i': out += "i32"; break;
      case 'I': out += "i64"; break;
      case 'f': out += "f32"; break;
      case 'F': out += "f64"; break;
      case 'r': out += "funcref"; break;
      case 'e': out += "externref"; break;
      default: out += "?";
    }
  }
  return out;
}

}  // namespace wink::runtime
