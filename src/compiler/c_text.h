// Reading wasm2c's C text: its top-level items and the names in their heads.
// Shared by the splitter (codegen.cpp) and the ranged translation
// (ranged_translation.cpp), which both take wasm2c 1.0.32's output apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wink::compiler::c_text {

struct Item {
  std::string_view text;  // whole item, including the trailing newline
};

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

inline std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits `text` (after the prologue) into top-level items, tracking braces
// outside comments and literals. Standalone comment lines are dropped.
std::vector<Item> split_items(std::string_view text);

// Identifier just before the first '(' of a declaration/definition head.
std::string_view name_before_paren(std::string_view head);

// The head of an item: its text up to the first '{' or ';', on one line
// (wasm2c wraps long parameter lists over several lines), trailing blanks cut.
std::string item_head(std::string_view item);

}  // namespace wink::compiler::c_text
