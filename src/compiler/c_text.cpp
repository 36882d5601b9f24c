// Reading wasm2c's C text (see c_text.h).
#include "compiler/c_text.h"

#include <algorithm>
#include <cctype>

namespace wink::compiler::c_text {

// Splits `text` (after the prologue) into top-level items, tracking braces
// outside comments and literals. Standalone comment lines are dropped.
std::vector<Item> split_items(std::string_view text) {
  std::vector<Item> items;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size() - 1;
    std::string_view line = text.substr(pos, eol - pos + 1);
    std::string_view t = trim_right(line);
    if (t.empty() || (starts_with(t, "/*") && t.find("*/") == t.size() - 2)) {
      pos = eol + 1;
      continue;
    }
    // An item: scan until braces balance at a line ending in ';' or '}'.
    size_t start = pos;
    int depth = 0;
    bool in_comment = false;
    size_t p = pos;
    if (t[0] == '#') {  // preprocessor line, with continuations
      while (p < text.size()) {
        size_t e = text.find('\n', p);
        if (e == std::string_view::npos) { p = text.size(); break; }
        bool cont = e > 0 && text[e - 1] == '\\';
        p = e + 1;
        if (!cont) break;
      }
      items.push_back({text.substr(start, p - start)});
      pos = p;
      continue;
    }
    char last_sig = 0;
    while (p < text.size()) {
      char c = text[p];
      if (in_comment) {
        if (c == '*' && p + 1 < text.size() && text[p + 1] == '/') { in_comment = false; ++p; }
      } else if (c == '/' && p + 1 < text.size() && text[p + 1] == '*') {
        in_comment = true;
        ++p;
      } else if (c == '"' || c == '\'') {
        char q = c;
        for (++p; p < text.size() && text[p] != q; ++p)
          if (text[p] == '\\') ++p;
        last_sig = q;
      } else if (c == '{') {
        ++depth;
        last_sig = c;
      } else if (c == '}') {
        --depth;
        last_sig = c;
      } else if (c == '\n') {
        if (depth == 0 && !in_comment && (last_sig == ';' || last_sig == '}')) { ++p; break; }
      } else if (c != ' ' && c != '\r' && c != '\t') {
        last_sig = c;
      }
      ++p;
    }
    items.push_back({text.substr(start, p - start)});
    pos = p;
  }
  return items;
}

std::string_view name_before_paren(std::string_view head) {
  size_t paren = head.find('(');
  if (paren == std::string_view::npos) return {};
  size_t e = paren;
  while (e > 0 && head[e - 1] == ' ') --e;
  size_t b = e;
  while (b > 0 && (std::isalnum(static_cast<unsigned char>(head[b - 1])) || head[b - 1] == '_')) --b;
  return head.substr(b, e - b);
}

std::string item_head(std::string_view item) {
  size_t end = item.find_first_of("{;");
  std::string head(item.substr(0, end == std::string_view::npos ? item.size() : end + 1));
  std::replace(head.begin(), head.end(), '\n', ' ');
  head.resize(trim_right(head).size());
  return head;
}

}  // namespace wink::compiler::c_text
