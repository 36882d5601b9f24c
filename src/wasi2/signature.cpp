#include "wasi2/signature.h"

#include <cctype>
#include <string>

namespace wink::wasi2 {
namespace {

using component::ValKind;
using component::ValType;

// A recursive-descent reader of a pattern that matches as it reads; on a
// mismatch it still consumes the rest of the sub-pattern so siblings line up.
class Matcher {
 public:
  explicit Matcher(std::string_view p) : p_(p) {}

  bool failed_syntax() const { return bad_; }
  bool at_end() { skip(); return i_ >= p_.size(); }
  bool eat(std::string_view tok) {
    skip();
    if (p_.substr(i_, tok.size()) != tok) return false;
    i_ += tok.size();
    return true;
  }
  void expect(std::string_view tok) {
    if (!eat(tok)) bad_ = true;
  }
  std::string word() {
    skip();
    size_t start = i_;
    while (i_ < p_.size() && (std::isalnum(static_cast<unsigned char>(p_[i_])) || p_[i_] == '-' || p_[i_] == '_' ||
                              p_[i_] == '*')) {
      ++i_;
    }
    if (start == i_) bad_ = true;
    return std::string(p_.substr(start, i_ - start));
  }

  // Reads one type pattern; true when `t` (may be null: "no type") matches.
  bool type(const ValType* t) {
    if (bad_) return false;
    if (eat("_")) return t == nullptr;
    std::string w = word();
    if (w == "*") return t != nullptr;
    struct Prim { const char* name; ValKind kind; };
    static constexpr Prim kPrims[] = {
        {"bool", ValKind::Bool}, {"s8", ValKind::S8},   {"u8", ValKind::U8},   {"s16", ValKind::S16},
        {"u16", ValKind::U16},   {"s32", ValKind::S32}, {"u32", ValKind::U32}, {"s64", ValKind::S64},
        {"u64", ValKind::U64},   {"f32", ValKind::F32}, {"f64", ValKind::F64}, {"char", ValKind::Char},
        {"string", ValKind::String}, {"own", ValKind::Own}, {"borrow", ValKind::Borrow},
    };
    for (const Prim& p : kPrims) {
      if (w == p.name) return t && t->kind == p.kind;
    }
    if (w == "list" || w == "option") {
      ValKind k = w == "list" ? ValKind::List : ValKind::Option;
      expect("<");
      bool ok = t && t->kind == k;
      const ValType* elem = nullptr;
      if (ok && k == ValKind::List) elem = t->element.get();
      if (ok && k == ValKind::Option) elem = t->cases.size() == 2 ? t->cases[1].type.get() : nullptr;
      ok = type(elem) && ok;
      expect(">");
      return ok;
    }
    if (w == "result") {
      bool ok = t && t->kind == ValKind::Result && t->cases.size() == 2;
      if (!eat("<")) return ok && !t->cases[0].type && !t->cases[1].type;
      ok = type(ok ? t->cases[0].type.get() : nullptr) && ok;
      expect(",");
      ok = type(ok ? t->cases[1].type.get() : nullptr) && ok;
      expect(">");
      return ok;
    }
    if (w == "tuple") {
      expect("<");
      bool ok = t && t->kind == ValKind::Tuple;
      size_t n = 0;
      do {
        const ValType* f = ok && n < t->fields.size() ? t->fields[n].type.get() : nullptr;
        ok = type(f) && ok && f;
        ++n;
      } while (eat(","));
      expect(">");
      return ok && n == t->fields.size();
    }
    if (w == "record" || w == "variant") {
      bool record = w == "record";
      expect("{");
      bool ok = t && t->kind == (record ? ValKind::Record : ValKind::Variant);
      size_t n = 0;
      do {
        std::string label = word();
        const ValType* f = nullptr;
        if (ok && n < (record ? t->fields.size() : t->cases.size())) {
          ok = (record ? t->fields[n].label : t->cases[n].label) == label;
          if (ok) f = record ? t->fields[n].type.get() : t->cases[n].type.get();
        } else {
          ok = false;
        }
        if (eat(":")) {
          ok = type(f) && ok;
        } else if (f != nullptr) {
          ok = false;  // the pattern has no payload for this case
        }
        ++n;
      } while (eat(","));
      expect("}");
      return ok && n == (record ? t->fields.size() : t->cases.size());
    }
    if (w == "enum" || w == "flags") {
      expect("{");
      bool ok = t && t->kind == (w == "enum" ? ValKind::Enum : ValKind::Flags);
      size_t n = 0;
      do {
        std::string label = word();
        ok = ok && n < t->labels.size() && t->labels[n] == label;
        ++n;
      } while (eat(","));
      expect("}");
      return ok && n == t->labels.size();
    }
    bad_ = true;
    return false;
  }

 private:
  void skip() {
    while (i_ < p_.size() && std::isspace(static_cast<unsigned char>(p_[i_]))) ++i_;
  }
  std::string_view p_;
  size_t i_ = 0;
  bool bad_ = false;
};

}  // namespace

bool matches_type(const ValType& type, std::string_view pattern) {
  Matcher m(pattern);
  bool ok = m.type(&type);
  return ok && m.at_end() && !m.failed_syntax();
}

Result<void> check_signature(const component::FuncType& type, std::string_view pattern) {
  Matcher m(pattern);
  bool ok = !type.async;
  m.expect("(");
  size_t n = 0;
  if (!m.eat(")")) {
    do {
      const ValType* p = n < type.params.size() ? type.params[n].type.get() : nullptr;
      ok = m.type(p) && ok && p;
      ++n;
    } while (m.eat(","));
    m.expect(")");
  }
  ok = ok && n == type.params.size();
  if (m.eat("->")) {
    ok = m.type(type.result.get()) && ok;
  } else {
    ok = ok && !type.result;
  }
  if (m.failed_syntax() || !m.at_end()) {
    return make_error("host signature pattern is malformed: " + std::string(pattern));
  }
  if (!ok) {
    return make_error("the component declares " + component::to_string(type) + ", the host implements " +
                      std::string(pattern));
  }
  return {};
}

}  // namespace wink::wasi2
