// Layout of value types per the Canonical ABI (CanonicalABI.md: alignment,
// elem_size, flatten_type), computed once per type node at construction.
#include "component/types.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

namespace wink::component {

const char* core_val_type_name(CoreValType t) {
  switch (t) {
    case CoreValType::I32: return "i32";
    case CoreValType::I64: return "i64";
    case CoreValType::F32: return "f32";
    case CoreValType::F64: return "f64";
  }
  return "?";
}

const char* val_kind_name(ValKind k) {
  switch (k) {
    case ValKind::Bool: return "bool";
    case ValKind::S8: return "s8";
    case ValKind::U8: return "u8";
    case ValKind::S16: return "s16";
    case ValKind::U16: return "u16";
    case ValKind::S32: return "s32";
    case ValKind::U32: return "u32";
    case ValKind::S64: return "s64";
    case ValKind::U64: return "u64";
    case ValKind::F32: return "f32";
    case ValKind::F64: return "f64";
    case ValKind::Char: return "char";
    case ValKind::String: return "string";
    case ValKind::List: return "list";
    case ValKind::Record: return "record";
    case ValKind::Tuple: return "tuple";
    case ValKind::Variant: return "variant";
    case ValKind::Enum: return "enum";
    case ValKind::Option: return "option";
    case ValKind::Result: return "result";
    case ValKind::Flags: return "flags";
    case ValKind::Own: return "own";
    case ValKind::Borrow: return "borrow";
    case ValKind::ErrorContext: return "error-context";
    case ValKind::Stream: return "stream";
    case ValKind::Future: return "future";
  }
  return "?";
}

namespace {

uint64_t align_to(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

// Saturating add: a type whose size passes kMaxElemSize is refused anyway.
uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r < a ? UINT64_MAX : r;
}

CoreValType join(CoreValType a, CoreValType b) {
  if (a == b) return a;
  if ((a == CoreValType::I32 && b == CoreValType::F32) ||
      (a == CoreValType::F32 && b == CoreValType::I32)) {
    return CoreValType::I32;
  }
  return CoreValType::I64;
}

void append_flat(ValType& t, const ValType& child) {
  if (child.flat_overflow) t.flat_overflow = true;
  for (CoreValType c : child.flat) {
    if (t.flat.size() >= kMaxFlatTracked - 1) {
      t.flat_overflow = true;
      return;
    }
    t.flat.push_back(c);
  }
}

uint32_t discriminant_bytes(size_t n) {
  if (n <= 256) return 1;
  if (n <= 65536) return 2;
  return 4;
}

Result<ValTypePtr> finish(std::shared_ptr<ValType> t) {
  if (t->depth > kMaxTypeDepth) {
    return make_error("type nesting depth " + std::to_string(t->depth) + " exceeds the limit of " +
                      std::to_string(kMaxTypeDepth));
  }
  if (t->size > kMaxElemSize) {
    return make_error(std::string(val_kind_name(t->kind)) + " type of " +
                      (t->size == UINT64_MAX ? std::string("overflowing") : std::to_string(t->size)) +
                      " bytes exceeds the Canonical ABI limit of 2^28-1");
  }
  return ValTypePtr(std::move(t));
}

void set_depth(ValType& t, const ValTypePtr& child) {
  if (child) t.depth = std::max(t.depth, child->depth + 1);
}

// Layout of a variant-shaped type (variant, enum, option, result).
void layout_variant(ValType& t) {
  uint32_t disc = discriminant_bytes(t.cases.size());
  uint32_t case_align = 1;
  uint64_t case_size = 0;
  for (const Case& c : t.cases) {
    if (!c.type) continue;
    case_align = std::max(case_align, c.type->alignment);
    case_size = std::max(case_size, c.type->size);
    set_depth(t, c.type);
  }
  t.alignment = std::max(disc, case_align);
  t.size = align_to(sat_add(align_to(disc, case_align), case_size), t.alignment);
  // Flat: discriminant, then the case payloads joined position by position.
  std::vector<CoreValType> joined;
  for (const Case& c : t.cases) {
    if (!c.type) continue;
    if (c.type->flat_overflow) t.flat_overflow = true;
    for (size_t i = 0; i < c.type->flat.size(); ++i) {
      if (i < joined.size()) {
        joined[i] = join(joined[i], c.type->flat[i]);
      } else {
        joined.push_back(c.type->flat[i]);
      }
    }
  }
  t.flat.push_back(CoreValType::I32);
  for (CoreValType c : joined) {
    if (t.flat.size() >= kMaxFlatTracked - 1) {
      t.flat_overflow = true;
      break;
    }
    t.flat.push_back(c);
  }
}

Result<void> check_unique(const std::vector<std::string>& labels, const char* what) {
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].empty()) return make_error(std::string(what) + " label " + std::to_string(i) + " is empty");
    if (!seen.insert(labels[i]).second) {
      return make_error(std::string(what) + " label '" + labels[i] + "' appears twice");
    }
  }
  return {};
}

}  // namespace

uint32_t ValType::discriminant_size() const { return discriminant_bytes(cases.size()); }

uint32_t ValType::max_case_alignment() const {
  uint32_t a = 1;
  for (const Case& c : cases) {
    if (c.type) a = std::max(a, c.type->alignment);
  }
  return a;
}

uint32_t ValType::flag_words() const { return static_cast<uint32_t>((labels.size() + 31) / 32); }

ValTypePtr primitive(ValKind k) {
  auto t = std::make_shared<ValType>();
  t->kind = k;
  switch (k) {
    case ValKind::Bool: case ValKind::S8: case ValKind::U8:
      t->size = t->alignment = 1; t->flat = {CoreValType::I32}; break;
    case ValKind::S16: case ValKind::U16:
      t->size = t->alignment = 2; t->flat = {CoreValType::I32}; break;
    case ValKind::S32: case ValKind::U32: case ValKind::Char:
      t->size = t->alignment = 4; t->flat = {CoreValType::I32}; break;
    case ValKind::S64: case ValKind::U64:
      t->size = t->alignment = 8; t->flat = {CoreValType::I64}; break;
    case ValKind::F32:
      t->size = t->alignment = 4; t->flat = {CoreValType::F32}; break;
    case ValKind::F64:
      t->size = t->alignment = 8; t->flat = {CoreValType::F64}; break;
    case ValKind::String:
      // 32-bit memories only (wasm32): pointer + length.
      t->size = 8; t->alignment = 4; t->flat = {CoreValType::I32, CoreValType::I32}; break;
    default:
      assert(false && "not a primitive");
  }
  return t;
}

Result<ValTypePtr> make_list(ValTypePtr element) {
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::List;
  t->size = 8;
  t->alignment = 4;
  t->flat = {CoreValType::I32, CoreValType::I32};
  set_depth(*t, element);
  t->element = std::move(element);
  return finish(std::move(t));
}

Result<ValTypePtr> make_record(std::vector<Field> fields) {
  if (fields.empty()) return make_error("record has no fields");
  std::vector<std::string> labels;
  for (const Field& f : fields) labels.push_back(f.label);
  WINK_TRY(check_unique(labels, "record field"));
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Record;
  uint64_t s = 0;
  for (const Field& f : fields) {
    s = sat_add(align_to(s, f.type->alignment), f.type->size);
    t->alignment = std::max(t->alignment, f.type->alignment);
    append_flat(*t, *f.type);
    set_depth(*t, f.type);
  }
  t->size = s == UINT64_MAX ? s : align_to(s, t->alignment);
  t->fields = std::move(fields);
  return finish(std::move(t));
}

Result<ValTypePtr> make_tuple(std::vector<ValTypePtr> elements) {
  if (elements.empty()) return make_error("tuple has no elements");
  std::vector<Field> fields;
  for (size_t i = 0; i < elements.size(); ++i) fields.push_back({std::to_string(i), std::move(elements[i])});
  WINK_ASSIGN_OR_RETURN(ValTypePtr record, make_record(std::move(fields)));
  auto t = std::make_shared<ValType>(*record);
  t->kind = ValKind::Tuple;
  return ValTypePtr(std::move(t));
}

Result<ValTypePtr> make_variant(std::vector<Case> cases) {
  if (cases.empty()) return make_error("variant has no cases");
  std::vector<std::string> labels;
  for (const Case& c : cases) labels.push_back(c.label);
  WINK_TRY(check_unique(labels, "variant case"));
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Variant;
  t->cases = std::move(cases);
  layout_variant(*t);
  return finish(std::move(t));
}

Result<ValTypePtr> make_enum(std::vector<std::string> labels) {
  if (labels.empty()) return make_error("enum has no cases");
  WINK_TRY(check_unique(labels, "enum case"));
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Enum;
  for (const std::string& l : labels) t->cases.push_back({l, nullptr});
  t->labels = std::move(labels);
  layout_variant(*t);
  return finish(std::move(t));
}

Result<ValTypePtr> make_option(ValTypePtr element) {
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Option;
  t->cases = {{"none", nullptr}, {"some", element}};
  t->element = std::move(element);
  layout_variant(*t);
  return finish(std::move(t));
}

Result<ValTypePtr> make_result(ValTypePtr ok, ValTypePtr error) {
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Result;
  t->cases = {{"ok", std::move(ok)}, {"error", std::move(error)}};
  layout_variant(*t);
  return finish(std::move(t));
}

Result<ValTypePtr> make_flags(std::vector<std::string> labels) {
  if (labels.empty()) return make_error("flags has no labels");
  WINK_TRY(check_unique(labels, "flags"));
  auto t = std::make_shared<ValType>();
  t->kind = ValKind::Flags;
  size_t n = labels.size();
  if (n <= 8) {
    t->size = t->alignment = 1;
  } else if (n <= 16) {
    t->size = t->alignment = 2;
  } else {
    // Up to 32 flags: one u32 (current spec). Beyond 32 (the earlier spec,
    // still produced by older toolchains): one u32 per 32 flags.
    t->alignment = 4;
    t->size = 4 * ((n + 31) / 32);
  }
  for (size_t i = 0; i < (n + 31) / 32; ++i) {
    if (t->flat.size() >= kMaxFlatTracked - 1) {
      t->flat_overflow = true;
      break;
    }
    t->flat.push_back(CoreValType::I32);
  }
  t->labels = std::move(labels);
  return finish(std::move(t));
}

namespace {
ValTypePtr handle_type(ValKind kind, ResourceId resource) {
  auto t = std::make_shared<ValType>();
  t->kind = kind;
  t->resource = resource;
  t->size = t->alignment = 4;
  t->flat = {CoreValType::I32};
  return t;
}
}  // namespace

ValTypePtr make_own(ResourceId resource) { return handle_type(ValKind::Own, resource); }
ValTypePtr make_borrow(ResourceId resource) { return handle_type(ValKind::Borrow, resource); }
ValTypePtr make_error_context() { return handle_type(ValKind::ErrorContext, 0); }

Result<ValTypePtr> make_stream(ValTypePtr element) {
  auto t = std::const_pointer_cast<ValType>(handle_type(ValKind::Stream, 0));
  set_depth(*t, element);
  t->element = std::move(element);
  return finish(std::move(t));
}

Result<ValTypePtr> make_future(ValTypePtr element) {
  auto t = std::const_pointer_cast<ValType>(handle_type(ValKind::Future, 0));
  set_depth(*t, element);
  t->element = std::move(element);
  return finish(std::move(t));
}

bool contains_borrow(const ValType& t) {
  // Depth is bounded by kMaxTypeDepth, but a DAG may share nodes; the
  // answer is cached nowhere, so walk with memo on pointer identity.
  std::vector<const ValType*> stack{&t};
  std::vector<const ValType*> seen;
  while (!stack.empty()) {
    const ValType* n = stack.back();
    stack.pop_back();
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    if (n->kind == ValKind::Borrow) return true;
    if (n->element) stack.push_back(n->element.get());
    for (const Field& f : n->fields) stack.push_back(f.type.get());
    for (const Case& c : n->cases) {
      if (c.type) stack.push_back(c.type.get());
    }
  }
  return false;
}

bool same_type(const ValType& a, const ValType& b) {
  if (&a == &b) return true;
  if (a.kind != b.kind || a.labels != b.labels || a.resource != b.resource) return false;
  if (!!a.element != !!b.element) return false;
  if (a.element && !same_type(*a.element, *b.element)) return false;
  if (a.fields.size() != b.fields.size() || a.cases.size() != b.cases.size()) return false;
  for (size_t i = 0; i < a.fields.size(); ++i) {
    if (a.fields[i].label != b.fields[i].label || !same_type(*a.fields[i].type, *b.fields[i].type)) return false;
  }
  for (size_t i = 0; i < a.cases.size(); ++i) {
    const Case& x = a.cases[i];
    const Case& y = b.cases[i];
    if (x.label != y.label || !!x.type != !!y.type) return false;
    if (x.type && !same_type(*x.type, *y.type)) return false;
  }
  return true;
}

std::string to_string(const ValType& t) {
  auto opt = [](const ValTypePtr& p) { return p ? to_string(*p) : std::string("_"); };
  switch (t.kind) {
    case ValKind::List: return "list<" + to_string(*t.element) + ">";
    case ValKind::Option: return "option<" + to_string(*t.element) + ">";
    case ValKind::Result: return "result<" + opt(t.cases[0].type) + ", " + opt(t.cases[1].type) + ">";
    case ValKind::Own: return "own<" + std::to_string(t.resource) + ">";
    case ValKind::Borrow: return "borrow<" + std::to_string(t.resource) + ">";
    case ValKind::Stream: return "stream<" + opt(t.element) + ">";
    case ValKind::Future: return "future<" + opt(t.element) + ">";
    case ValKind::Tuple: {
      std::string s = "tuple<";
      for (size_t i = 0; i < t.fields.size(); ++i) s += (i ? ", " : "") + to_string(*t.fields[i].type);
      return s + ">";
    }
    case ValKind::Record: {
      std::string s = "record { ";
      for (size_t i = 0; i < t.fields.size(); ++i) {
        s += (i ? ", " : "") + t.fields[i].label + ": " + to_string(*t.fields[i].type);
      }
      return s + " }";
    }
    case ValKind::Variant: {
      std::string s = "variant { ";
      for (size_t i = 0; i < t.cases.size(); ++i) {
        s += (i ? ", " : "") + t.cases[i].label;
        if (t.cases[i].type) s += "(" + to_string(*t.cases[i].type) + ")";
      }
      return s + " }";
    }
    case ValKind::Enum: case ValKind::Flags: {
      std::string s = std::string(val_kind_name(t.kind)) + " { ";
      for (size_t i = 0; i < t.labels.size(); ++i) s += (i ? ", " : "") + t.labels[i];
      return s + " }";
    }
    default: return val_kind_name(t.kind);
  }
}

std::vector<ValTypePtr> FuncType::param_types() const {
  std::vector<ValTypePtr> out;
  for (const Field& f : params) out.push_back(f.type);
  return out;
}

std::vector<ValTypePtr> FuncType::result_types() const {
  if (!result) return {};
  return {result};
}

std::string to_string(const FuncType& f) {
  std::string s = f.async ? "async func(" : "func(";
  for (size_t i = 0; i < f.params.size(); ++i) {
    s += (i ? ", " : "") + f.params[i].label + ": " + to_string(*f.params[i].type);
  }
  s += ")";
  if (f.result) s += " -> " + to_string(*f.result);
  return s;
}

std::string to_string(const CoreFuncSig& sig) {
  std::string s = "(";
  for (size_t i = 0; i < sig.params.size(); ++i) s += std::string(i ? " " : "") + core_val_type_name(sig.params[i]);
  s += ") -> (";
  for (size_t i = 0; i < sig.results.size(); ++i) s += std::string(i ? " " : "") + core_val_type_name(sig.results[i]);
  return s + ")";
}

}  // namespace wink::component
