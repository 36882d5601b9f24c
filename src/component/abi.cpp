// Canonical ABI: flattening, load/store, lift/lower, and the synchronous
// call paths. Follows the structure of the specification's Python reference
// (definitions.py) so each trap can be matched against it.
#include "component/abi.h"

#include <cmath>
#include <cstring>

namespace wink::component {

namespace {

uint64_t align_to(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

Error trap(const std::string& why) { return make_error("trap: " + why); }

Error mismatch(const ValType& t, const std::string& why) {
  return make_error("value does not match type " + to_string(t) + ": " + why);
}

size_t flat_count(const std::vector<ValTypePtr>& ts) {
  size_t n = 0;
  for (const auto& t : ts) {
    n += t->flat_overflow ? kMaxFlatTracked : t->flat.size();
    if (n >= kMaxFlatTracked) return kMaxFlatTracked;
  }
  return n;
}

uint64_t read_le(const uint8_t* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void write_le(uint8_t* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

float f32_from_bits(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
double f64_from_bits(uint64_t b) { double d; std::memcpy(&d, &b, 8); return d; }

// Lifting: NaNs become the canonical NaN.
double lift_f32(uint32_t bits) {
  float f = f32_from_bits(bits);
  if (std::isnan(f)) f = f32_from_bits(kCanonicalNan32);
  return f;
}
double lift_f64(uint64_t bits) {
  double d = f64_from_bits(bits);
  if (std::isnan(d)) d = f64_from_bits(kCanonicalNan64);
  return d;
}
// Lowering, deterministic profile: NaNs become the canonical NaN.
uint32_t lower_f32(double v) {
  float f = static_cast<float>(v);
  if (std::isnan(f)) return kCanonicalNan32;
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
uint64_t lower_f64(double v) {
  if (std::isnan(v)) return kCanonicalNan64;
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

Result<uint32_t> char_from_i32(uint64_t i) {
  if (i >= 0x110000) return trap("char value " + std::to_string(i) + " is past U+10FFFF");
  if (i >= 0xD800 && i <= 0xDFFF) return trap("char value " + std::to_string(i) + " is a surrogate");
  return static_cast<uint32_t>(i);
}

// Range checks of host values before lowering: unsigned kinds must fit,
// signed kinds are held sign-extended.
Result<uint64_t> checked_int(const Value& v, const ValType& t) {
  int64_t s = v.as_signed();
  switch (t.kind) {
    case ValKind::Bool: if (v.bits > 1) return mismatch(t, "bool is " + std::to_string(v.bits)); break;
    case ValKind::U8: if (v.bits > 0xFF) return mismatch(t, "out of range"); break;
    case ValKind::U16: if (v.bits > 0xFFFF) return mismatch(t, "out of range"); break;
    case ValKind::U32: if (v.bits > 0xFFFFFFFF) return mismatch(t, "out of range"); break;
    case ValKind::S8: if (s < -128 || s > 127) return mismatch(t, "out of range"); break;
    case ValKind::S16: if (s < -32768 || s > 32767) return mismatch(t, "out of range"); break;
    case ValKind::S32: if (s < INT32_MIN || s > INT32_MAX) return mismatch(t, "out of range"); break;
    case ValKind::Char:
      if (v.bits >= 0x110000 || (v.bits >= 0xD800 && v.bits <= 0xDFFF)) return mismatch(t, "not a Unicode scalar value");
      break;
    default: break;
  }
  return v.bits;
}

Result<void> check_variant_value(const Value& v, const ValType& t) {
  if (v.bits >= t.cases.size()) return mismatch(t, "case " + std::to_string(v.bits) + " does not exist");
  const Case& c = t.cases[v.bits];
  if (!!c.type != (v.items.size() == 1) || v.items.size() > 1) {
    return mismatch(t, "case '" + c.label + "' payload " + (c.type ? "missing" : "unexpected"));
  }
  return {};
}

Result<void> check_unsupported(const ValType& t) {
  if (t.kind == ValKind::ErrorContext || t.kind == ValKind::Stream || t.kind == ValKind::Future) {
    return make_error(std::string(val_kind_name(t.kind)) + " values are not supported (async)");
  }
  return {};
}

uint64_t flags_int(const Value& v, size_t from, size_t to) {
  uint64_t i = 0;
  for (size_t k = from; k < to; ++k) {
    if (v.items[k].bits) i |= uint64_t{1} << (k - from);
  }
  return i;
}

void unpack_flags(Value& out, uint64_t i, size_t count) {
  for (size_t k = 0; k < count; ++k) out.items.push_back(Value::boolean((i >> k) & 1));
}

// ---- handles ----

Result<uint32_t> lift_own(AbiContext& cx, uint32_t i, const ValType& t) {
  WINK_ASSIGN_OR_RETURN(ResourceHandle * h, cx.inst.handles.get(i));
  if (h->resource != t.resource) return trap("handle " + std::to_string(i) + " is of another resource type");
  if (h->num_lends != 0) return trap("owned handle " + std::to_string(i) + " is lent to a call");
  if (!h->own) return trap("handle " + std::to_string(i) + " is a borrow, not owned");
  WINK_ASSIGN_OR_RETURN(ResourceHandle removed, cx.inst.handles.remove(i));
  return removed.rep;
}

Result<uint32_t> lift_borrow(AbiContext& cx, uint32_t i, const ValType& t) {
  if (!cx.subtask) return make_error("borrow lifted outside a lowered call");
  WINK_ASSIGN_OR_RETURN(ResourceHandle * h, cx.inst.handles.get(i));
  if (h->resource != t.resource) return trap("handle " + std::to_string(i) + " is of another resource type");
  cx.subtask->add_lender(h);
  return h->rep;
}

Result<uint32_t> lower_own(AbiContext& cx, uint32_t rep, const ValType& t) {
  return cx.inst.handles.add({t.resource, rep, true, nullptr, 0});
}

Result<uint32_t> lower_borrow(AbiContext& cx, uint32_t rep, const ValType& t) {
  if (!cx.task) return make_error("borrow lowered outside a lifted call");
  if (cx.inst.implements(t.resource)) return rep;
  WINK_ASSIGN_OR_RETURN(uint32_t i, cx.inst.handles.add({t.resource, rep, false, cx.task, 0}));
  cx.task->num_borrows += 1;
  return i;
}

Result<uint32_t> lift_handle(AbiContext& cx, uint32_t i, const ValType& t) {
  return t.kind == ValKind::Own ? lift_own(cx, i, t) : lift_borrow(cx, i, t);
}

Result<uint32_t> lower_handle(AbiContext& cx, const Value& v, const ValType& t) {
  if (v.bits > 0xFFFFFFFF) return mismatch(t, "handle rep does not fit 32 bits");
  uint32_t rep = static_cast<uint32_t>(v.bits);
  return t.kind == ValKind::Own ? lower_own(cx, rep, t) : lower_borrow(cx, rep, t);
}

// ---- lists ----

Result<Value> load_list_from_range(AbiContext& cx, uint64_t ptr, uint64_t length, const ValType& elem) {
  uint64_t bytes = length * elem.size;  // length < 2^32, size < 2^28: no wrap
  if (bytes > kMaxListByteLength) return trap("list of " + std::to_string(bytes) + " bytes is past 2^28-1");
  if (ptr != align_to(ptr, elem.alignment)) {
    return trap("list pointer " + std::to_string(ptr) + " is not aligned to " + std::to_string(elem.alignment));
  }
  WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
  if (ptr + bytes > mem->size) {
    return trap("list [" + std::to_string(ptr) + ", +" + std::to_string(bytes) + ") is out of bounds of memory of " +
                std::to_string(mem->size) + " bytes");
  }
  if (elem.kind == ValKind::U8) {  // bytes fast path: raw bytes in `str`, no Value per element
    WINK_TRY(cx.charge(length));
    Value out;
    out.str.assign(reinterpret_cast<const char*>(mem->base + ptr), length);
    return out;
  }
  WINK_TRY(cx.charge(length * sizeof(Value)));
  Value out;
  out.items.reserve(length);
  for (uint64_t i = 0; i < length; ++i) {
    WINK_ASSIGN_OR_RETURN(Value e, load(cx, ptr + i * elem.size, elem));
    out.items.push_back(std::move(e));
  }
  return out;
}

Result<std::pair<uint32_t, uint32_t>> store_list_into_range(AbiContext& cx, const Value& v, const ValType& elem) {
  if (elem.kind == ValKind::U8 && v.items.empty()) {  // bytes fast path: a list<u8> given as raw bytes in `str`
    if (v.str.size() > kMaxListByteLength) {
      return make_error("list of " + std::to_string(v.str.size()) + " bytes is past 2^28-1");
    }
    WINK_ASSIGN_OR_RETURN(uint32_t ptr, cx.reallocate(0, 0, 1, v.str.size()));
    WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
    if (!v.str.empty()) std::memcpy(mem->base + ptr, v.str.data(), v.str.size());
    return std::pair<uint32_t, uint32_t>(ptr, static_cast<uint32_t>(v.str.size()));
  }
  uint64_t bytes = uint64_t{v.items.size()} * elem.size;
  if (bytes > 0xFFFFFFFFull) return make_error("list of " + std::to_string(bytes) + " bytes does not fit a 32-bit memory");
  WINK_ASSIGN_OR_RETURN(uint32_t ptr, cx.reallocate(0, 0, elem.alignment, bytes));
  for (size_t i = 0; i < v.items.size(); ++i) {
    WINK_TRY(store(cx, v.items[i], elem, ptr + i * elem.size));
  }
  return std::pair<uint32_t, uint32_t>(ptr, static_cast<uint32_t>(v.items.size()));
}

// Iterator that reads a variant's joined flat types and converts each to the
// type the case's payload wants (lift_flat_variant's CoerceValueIter).
class CoercingReader : public FlatReader {
 public:
  CoercingReader(FlatReader& inner, std::span<const CoreValType> have) : inner_(inner), have_(have) {}
  Result<CoreValue> next(CoreValType want) override {
    if (k_ >= have_.size()) return make_error("variant payload reads past its flat types");
    CoreValType have = have_[k_++];
    WINK_ASSIGN_OR_RETURN(CoreValue x, inner_.next(have));
    if (have == want) return x;
    if (have == CoreValType::I32 && want == CoreValType::F32) return CoreValue::f32_bits(x.as_i32());
    if (have == CoreValType::I64 && want == CoreValType::I32) return CoreValue::i32(static_cast<uint32_t>(x.bits));
    if (have == CoreValType::I64 && want == CoreValType::F32) return CoreValue::f32_bits(static_cast<uint32_t>(x.bits));
    if (have == CoreValType::I64 && want == CoreValType::F64) return CoreValue::f64_bits(x.bits);
    return make_error("variant payload type cannot be coerced");
  }
  size_t used() const { return k_; }

 private:
  FlatReader& inner_;
  std::span<const CoreValType> have_;
  size_t k_ = 0;
};

}  // namespace

// ---- flattening ----

FlatSizes flat_sizes(const FuncType& ft) {
  return {flat_count(ft.param_types()), flat_count(ft.result_types())};
}

CoreFuncSig flatten_functype(const FuncType& ft, FlattenContext context) {
  CoreFuncSig sig;
  FlatSizes n = flat_sizes(ft);
  if (n.params > kMaxFlatParams) {
    sig.params = {CoreValType::I32};
  } else {
    for (const Field& p : ft.params) sig.params.insert(sig.params.end(), p.type->flat.begin(), p.type->flat.end());
  }
  if (n.results > kMaxFlatResults) {
    if (context == FlattenContext::Lift) {
      sig.results = {CoreValType::I32};
    } else {
      sig.params.push_back(CoreValType::I32);
    }
  } else if (ft.result) {
    sig.results = ft.result->flat;
  }
  return sig;
}

Result<FuncLayout> func_layout(const FuncType& ft) {
  FuncLayout l;
  l.params = ft.param_types();
  l.results = ft.result_types();
  l.lift = flatten_functype(ft, FlattenContext::Lift);
  l.lower = flatten_functype(ft, FlattenContext::Lower);
  if (flat_count(l.params) > kMaxFlatParams) {
    WINK_ASSIGN_OR_RETURN(l.params_spill, make_tuple(l.params));
  }
  if (flat_count(l.results) > kMaxFlatResults) {
    WINK_ASSIGN_OR_RETURN(l.results_spill, make_tuple(l.results));
  }
  return l;
}

// ---- context ----

Result<GuestMemory*> AbiContext::memory() {
  if (!opts.memory) return make_error("value needs a memory, but the canonical options have none");
  return opts.memory;
}

Result<void> AbiContext::charge(uint64_t bytes) {
  lifted_bytes += bytes;
  if (lifted_bytes > opts.max_lifted_bytes) {
    return trap("lifted value exceeds the host limit of " + std::to_string(opts.max_lifted_bytes) + " bytes");
  }
  return {};
}

Result<uint32_t> AbiContext::reallocate(uint32_t old_ptr, uint32_t old_size, uint32_t align, uint64_t new_size) {
  if (!opts.realloc) return make_error("value needs realloc, but the canonical options have none");
  if (new_size > 0xFFFFFFFFull) return make_error("allocation of " + std::to_string(new_size) + " bytes");
  inst.may_leave = false;
  auto r = opts.realloc(old_ptr, old_size, align, static_cast<uint32_t>(new_size));
  inst.may_leave = true;
  if (!r) return std::move(r).error().with_context("realloc");
  uint64_t ptr = *r;
  if (ptr != align_to(ptr, align)) {
    return trap("realloc returned " + std::to_string(ptr) + ", not aligned to " + std::to_string(align));
  }
  WINK_ASSIGN_OR_RETURN(GuestMemory * mem, memory());
  if (ptr + new_size > mem->size) {
    return trap("realloc returned [" + std::to_string(ptr) + ", +" + std::to_string(new_size) +
                "), out of bounds of memory of " + std::to_string(mem->size) + " bytes");
  }
  return static_cast<uint32_t>(ptr);
}

Result<CoreValue> FlatIter::next(CoreValType want) {
  if (i_ >= values_.size()) return make_error("too few core values for the function type");
  const CoreValue& v = values_[i_++];
  if (v.type != want) {
    return make_error(std::string("core value is ") + core_val_type_name(v.type) + ", expected " +
                      core_val_type_name(want));
  }
  return v;
}

// ---- load / store ----

Result<Value> load(AbiContext& cx, uint64_t ptr, const ValType& t) {
  WINK_TRY(check_unsupported(t));
  WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
  // Callers have checked alignment and bounds of the enclosing value; a
  // failure here is a bug in this file, not in the guest.
  if (ptr != align_to(ptr, t.alignment) || ptr + t.size > mem->size) {
    return trap("load of " + to_string(t) + " at " + std::to_string(ptr) + " is misaligned or out of bounds");
  }
  const uint8_t* p = mem->base + ptr;
  WINK_TRY(cx.charge(sizeof(Value)));
  switch (t.kind) {
    case ValKind::Bool: return Value::boolean(p[0] != 0);
    case ValKind::U8: return Value::u(p[0]);
    case ValKind::U16: return Value::u(read_le(p, 2));
    case ValKind::U32: return Value::u(read_le(p, 4));
    case ValKind::U64: return Value::u(read_le(p, 8));
    case ValKind::S8: return Value::s(static_cast<int8_t>(p[0]));
    case ValKind::S16: return Value::s(static_cast<int16_t>(read_le(p, 2)));
    case ValKind::S32: return Value::s(static_cast<int32_t>(read_le(p, 4)));
    case ValKind::S64: return Value::s(static_cast<int64_t>(read_le(p, 8)));
    case ValKind::F32: return Value::float64(lift_f32(static_cast<uint32_t>(read_le(p, 4))));
    case ValKind::F64: return Value::float64(lift_f64(read_le(p, 8)));
    case ValKind::Char: {
      WINK_ASSIGN_OR_RETURN(uint32_t c, char_from_i32(read_le(p, 4)));
      return Value::ch(c);
    }
    case ValKind::String: {
      WINK_ASSIGN_OR_RETURN(std::string s, load_string_from_range(cx, read_le(p, 4), read_le(p + 4, 4)));
      return Value::string(std::move(s));
    }
    case ValKind::List: return load_list_from_range(cx, read_le(p, 4), read_le(p + 4, 4), *t.element);
    case ValKind::Record: case ValKind::Tuple: {
      Value out;
      uint64_t at = ptr;
      for (const Field& f : t.fields) {
        at = align_to(at, f.type->alignment);
        WINK_ASSIGN_OR_RETURN(Value v, load(cx, at, *f.type));
        out.items.push_back(std::move(v));
        at += f.type->size;
      }
      return out;
    }
    case ValKind::Variant: case ValKind::Enum: case ValKind::Option: case ValKind::Result: {
      uint32_t disc = t.discriminant_size();
      uint64_t index = read_le(p, disc);
      if (index >= t.cases.size()) {
        return trap("variant discriminant " + std::to_string(index) + " at " + std::to_string(ptr) + " is past its " +
                    std::to_string(t.cases.size()) + " cases");
      }
      const Case& c = t.cases[index];
      Value out = Value::variant(static_cast<uint32_t>(index));
      if (c.type) {
        uint64_t at = align_to(ptr + disc, t.max_case_alignment());
        WINK_ASSIGN_OR_RETURN(Value payload, load(cx, at, *c.type));
        out.items.push_back(std::move(payload));
      }
      return out;
    }
    case ValKind::Flags: {
      Value out;
      size_t n = t.labels.size();
      if (n <= 32) {
        unpack_flags(out, read_le(p, static_cast<unsigned>(t.size)), n);
      } else {
        for (size_t w = 0; w < t.flag_words(); ++w) {
          unpack_flags(out, read_le(p + 4 * w, 4), std::min<size_t>(32, n - 32 * w));
        }
      }
      return out;
    }
    case ValKind::Own: case ValKind::Borrow: {
      WINK_ASSIGN_OR_RETURN(uint32_t rep, lift_handle(cx, static_cast<uint32_t>(read_le(p, 4)), t));
      return Value::handle(rep);
    }
    default:
      return make_error("cannot load " + to_string(t));
  }
}

Result<void> store(AbiContext& cx, const Value& v, const ValType& t, uint64_t ptr) {
  WINK_TRY(check_unsupported(t));
  WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
  if (ptr != align_to(ptr, t.alignment) || ptr + t.size > mem->size) {
    return trap("store of " + to_string(t) + " at " + std::to_string(ptr) + " is misaligned or out of bounds");
  }
  switch (t.kind) {
    case ValKind::Bool: case ValKind::U8: case ValKind::S8: case ValKind::U16: case ValKind::S16:
    case ValKind::U32: case ValKind::S32: case ValKind::U64: case ValKind::S64: case ValKind::Char: {
      WINK_ASSIGN_OR_RETURN(uint64_t bits, checked_int(v, t));
      write_le(mem->base + ptr, bits, static_cast<unsigned>(t.size));
      return {};
    }
    case ValKind::F32: write_le(mem->base + ptr, lower_f32(v.f), 4); return {};
    case ValKind::F64: write_le(mem->base + ptr, lower_f64(v.f), 8); return {};
    case ValKind::String: {
      WINK_ASSIGN_OR_RETURN(StoredString s, store_string_into_range(cx, v.str));
      mem = cx.opts.memory;  // realloc may have grown it
      write_le(mem->base + ptr, s.ptr, 4);
      write_le(mem->base + ptr + 4, s.tagged_code_units, 4);
      return {};
    }
    case ValKind::List: {
      WINK_ASSIGN_OR_RETURN(auto range, store_list_into_range(cx, v, *t.element));
      mem = cx.opts.memory;
      write_le(mem->base + ptr, range.first, 4);
      write_le(mem->base + ptr + 4, range.second, 4);
      return {};
    }
    case ValKind::Record: case ValKind::Tuple: {
      if (v.items.size() != t.fields.size()) {
        return mismatch(t, std::to_string(v.items.size()) + " fields given, " + std::to_string(t.fields.size()) +
                               " expected");
      }
      uint64_t at = ptr;
      for (size_t i = 0; i < t.fields.size(); ++i) {
        const ValType& ft = *t.fields[i].type;
        at = align_to(at, ft.alignment);
        WINK_TRY(store(cx, v.items[i], ft, at));
        at += ft.size;
      }
      return {};
    }
    case ValKind::Variant: case ValKind::Enum: case ValKind::Option: case ValKind::Result: {
      WINK_TRY(check_variant_value(v, t));
      uint32_t disc = t.discriminant_size();
      write_le(mem->base + ptr, v.bits, disc);
      const Case& c = t.cases[v.bits];
      if (c.type) WINK_TRY(store(cx, v.items[0], *c.type, align_to(ptr + disc, t.max_case_alignment())));
      return {};
    }
    case ValKind::Flags: {
      size_t n = t.labels.size();
      if (v.items.size() != n) return mismatch(t, std::to_string(v.items.size()) + " flags given");
      if (n <= 32) {
        write_le(mem->base + ptr, flags_int(v, 0, n), static_cast<unsigned>(t.size));
      } else {
        for (size_t w = 0; w < t.flag_words(); ++w) {
          write_le(mem->base + ptr + 4 * w, flags_int(v, 32 * w, std::min(n, 32 * w + 32)), 4);
        }
      }
      return {};
    }
    case ValKind::Own: case ValKind::Borrow: {
      WINK_ASSIGN_OR_RETURN(uint32_t h, lower_handle(cx, v, t));
      write_le(mem->base + ptr, h, 4);
      return {};
    }
    default:
      return make_error("cannot store " + to_string(t));
  }
}

// ---- flat lift / lower ----

Result<Value> lift_flat(AbiContext& cx, FlatReader& vi, const ValType& t) {
  WINK_TRY(check_unsupported(t));
  WINK_TRY(cx.charge(sizeof(Value)));
  switch (t.kind) {
    case ValKind::Bool: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32));
      return Value::boolean(x.as_i32() != 0);
    }
    case ValKind::U8: case ValKind::U16: case ValKind::U32: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32));
      uint64_t mask = t.kind == ValKind::U8 ? 0xFF : t.kind == ValKind::U16 ? 0xFFFF : 0xFFFFFFFF;
      return Value::u(x.bits & mask);
    }
    case ValKind::S8: { WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32)); return Value::s(static_cast<int8_t>(x.bits)); }
    case ValKind::S16: { WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32)); return Value::s(static_cast<int16_t>(x.bits)); }
    case ValKind::S32: { WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32)); return Value::s(static_cast<int32_t>(x.bits)); }
    case ValKind::U64: { WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I64)); return Value::u(x.bits); }
    case ValKind::S64: { WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I64)); return Value::s(static_cast<int64_t>(x.bits)); }
    case ValKind::F32: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::F32));
      return Value::float64(lift_f32(static_cast<uint32_t>(x.bits)));
    }
    case ValKind::F64: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::F64));
      return Value::float64(lift_f64(x.bits));
    }
    case ValKind::Char: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32));
      WINK_ASSIGN_OR_RETURN(uint32_t c, char_from_i32(x.as_i32()));
      return Value::ch(c);
    }
    case ValKind::String: {
      WINK_ASSIGN_OR_RETURN(CoreValue p, vi.next(CoreValType::I32));
      WINK_ASSIGN_OR_RETURN(CoreValue n, vi.next(CoreValType::I32));
      WINK_ASSIGN_OR_RETURN(std::string s, load_string_from_range(cx, p.as_i32(), n.as_i32()));
      return Value::string(std::move(s));
    }
    case ValKind::List: {
      WINK_ASSIGN_OR_RETURN(CoreValue p, vi.next(CoreValType::I32));
      WINK_ASSIGN_OR_RETURN(CoreValue n, vi.next(CoreValType::I32));
      return load_list_from_range(cx, p.as_i32(), n.as_i32(), *t.element);
    }
    case ValKind::Record: case ValKind::Tuple: {
      Value out;
      for (const Field& f : t.fields) {
        WINK_ASSIGN_OR_RETURN(Value v, lift_flat(cx, vi, *f.type));
        out.items.push_back(std::move(v));
      }
      return out;
    }
    case ValKind::Variant: case ValKind::Enum: case ValKind::Option: case ValKind::Result: {
      if (t.flat_overflow) return make_error("variant too large to lift from flat values");
      WINK_ASSIGN_OR_RETURN(CoreValue d, vi.next(CoreValType::I32));
      uint32_t index = d.as_i32();
      if (index >= t.cases.size()) {
        return trap("variant discriminant " + std::to_string(index) + " is past its " +
                    std::to_string(t.cases.size()) + " cases");
      }
      std::span<const CoreValType> payload_types(t.flat.data() + 1, t.flat.size() - 1);
      CoercingReader coerce(vi, payload_types);
      Value out = Value::variant(index);
      const Case& c = t.cases[index];
      if (c.type) {
        WINK_ASSIGN_OR_RETURN(Value payload, lift_flat(cx, coerce, *c.type));
        out.items.push_back(std::move(payload));
      }
      for (size_t k = coerce.used(); k < payload_types.size(); ++k) WINK_TRY(vi.next(payload_types[k]));
      return out;
    }
    case ValKind::Flags: {
      Value out;
      size_t n = t.labels.size();
      for (size_t w = 0; w < t.flag_words(); ++w) {
        WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32));
        unpack_flags(out, x.as_i32(), std::min<size_t>(32, n - 32 * w));
      }
      return out;
    }
    case ValKind::Own: case ValKind::Borrow: {
      WINK_ASSIGN_OR_RETURN(CoreValue x, vi.next(CoreValType::I32));
      WINK_ASSIGN_OR_RETURN(uint32_t rep, lift_handle(cx, x.as_i32(), t));
      return Value::handle(rep);
    }
    default:
      return make_error("cannot lift " + to_string(t));
  }
}

Result<void> lower_flat(AbiContext& cx, const Value& v, const ValType& t, std::vector<CoreValue>& out) {
  WINK_TRY(check_unsupported(t));
  switch (t.kind) {
    case ValKind::Bool: case ValKind::U8: case ValKind::S8: case ValKind::U16: case ValKind::S16:
    case ValKind::U32: case ValKind::S32: case ValKind::Char: {
      WINK_ASSIGN_OR_RETURN(uint64_t bits, checked_int(v, t));
      out.push_back(CoreValue::i32(static_cast<uint32_t>(bits)));
      return {};
    }
    case ValKind::U64: case ValKind::S64: out.push_back(CoreValue::i64(v.bits)); return {};
    case ValKind::F32: out.push_back(CoreValue::f32_bits(lower_f32(v.f))); return {};
    case ValKind::F64: out.push_back(CoreValue::f64_bits(lower_f64(v.f))); return {};
    case ValKind::String: {
      WINK_ASSIGN_OR_RETURN(StoredString s, store_string_into_range(cx, v.str));
      out.push_back(CoreValue::i32(s.ptr));
      out.push_back(CoreValue::i32(s.tagged_code_units));
      return {};
    }
    case ValKind::List: {
      WINK_ASSIGN_OR_RETURN(auto range, store_list_into_range(cx, v, *t.element));
      out.push_back(CoreValue::i32(range.first));
      out.push_back(CoreValue::i32(range.second));
      return {};
    }
    case ValKind::Record: case ValKind::Tuple: {
      if (v.items.size() != t.fields.size()) {
        return mismatch(t, std::to_string(v.items.size()) + " fields given, " + std::to_string(t.fields.size()) +
                               " expected");
      }
      for (size_t i = 0; i < t.fields.size(); ++i) WINK_TRY(lower_flat(cx, v.items[i], *t.fields[i].type, out));
      return {};
    }
    case ValKind::Variant: case ValKind::Enum: case ValKind::Option: case ValKind::Result: {
      if (t.flat_overflow) return make_error("variant too large to lower to flat values");
      WINK_TRY(check_variant_value(v, t));
      out.push_back(CoreValue::i32(static_cast<uint32_t>(v.bits)));
      std::vector<CoreValue> payload;
      const Case& c = t.cases[v.bits];
      if (c.type) WINK_TRY(lower_flat(cx, v.items[0], *c.type, payload));
      // Widen each payload value to the joined type, then zero-fill.
      for (size_t k = 1; k < t.flat.size(); ++k) {
        CoreValType want = t.flat[k];
        if (k - 1 >= payload.size()) {
          out.push_back({want, 0});
          continue;
        }
        CoreValue have = payload[k - 1];
        out.push_back({want, have.bits});  // f32->i32, i32->i64, f32->i64, f64->i64: same bits, zero-extended
      }
      return {};
    }
    case ValKind::Flags: {
      size_t n = t.labels.size();
      if (v.items.size() != n) return mismatch(t, std::to_string(v.items.size()) + " flags given");
      for (size_t w = 0; w < t.flag_words(); ++w) {
        out.push_back(CoreValue::i32(static_cast<uint32_t>(flags_int(v, 32 * w, std::min(n, 32 * w + 32)))));
      }
      return {};
    }
    case ValKind::Own: case ValKind::Borrow: {
      WINK_ASSIGN_OR_RETURN(uint32_t h, lower_handle(cx, v, t));
      out.push_back(CoreValue::i32(h));
      return {};
    }
    default:
      return make_error("cannot lower " + to_string(t));
  }
}

namespace {

// lift_flat_values with the spill decided: `tuple` is the values' tuple type
// when they spill to memory, else null.
Result<std::vector<Value>> lift_values(AbiContext& cx, FlatReader& vi, const std::vector<ValTypePtr>& ts,
                                       const ValTypePtr& tuple) {
  std::vector<Value> out;
  if (tuple) {
    WINK_ASSIGN_OR_RETURN(CoreValue p, vi.next(CoreValType::I32));
    uint64_t ptr = p.as_i32();
    if (ptr != align_to(ptr, tuple->alignment)) {
      return trap("spilled values pointer " + std::to_string(ptr) + " is not aligned to " +
                  std::to_string(tuple->alignment));
    }
    WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
    if (ptr + tuple->size > mem->size) {
      return trap("spilled values [" + std::to_string(ptr) + ", +" + std::to_string(tuple->size) +
                  ") are out of bounds");
    }
    WINK_ASSIGN_OR_RETURN(Value v, load(cx, ptr, *tuple));
    return std::move(v.items);
  }
  out.reserve(ts.size());
  for (const auto& t : ts) {
    WINK_ASSIGN_OR_RETURN(Value v, lift_flat(cx, vi, *t));
    out.push_back(std::move(v));
  }
  return out;
}

// lower_flat_values with the spill decided (lift_values).
Result<std::vector<CoreValue>> lower_values(AbiContext& cx, const std::vector<Value>& vs,
                                            const std::vector<ValTypePtr>& ts, const ValTypePtr& tuple,
                                            FlatReader* out_param) {
  if (vs.size() != ts.size()) {
    return make_error(std::to_string(vs.size()) + " values given for " + std::to_string(ts.size()) + " types");
  }
  std::vector<CoreValue> flat;
  if (tuple) {
    uint64_t ptr;
    if (!out_param) {
      WINK_ASSIGN_OR_RETURN(uint32_t p, cx.reallocate(0, 0, tuple->alignment, tuple->size));
      ptr = p;
      flat.push_back(CoreValue::i32(p));
    } else {
      WINK_ASSIGN_OR_RETURN(CoreValue p, out_param->next(CoreValType::I32));
      ptr = p.as_i32();
    }
    if (ptr != align_to(ptr, tuple->alignment)) {
      return trap("return area pointer " + std::to_string(ptr) + " is not aligned to " +
                  std::to_string(tuple->alignment));
    }
    WINK_ASSIGN_OR_RETURN(GuestMemory * mem, cx.memory());
    if (ptr + tuple->size > mem->size) {
      return trap("return area [" + std::to_string(ptr) + ", +" + std::to_string(tuple->size) + ") is out of bounds");
    }
    WINK_TRY(store(cx, Value::tuple(vs), *tuple, ptr));
    return flat;
  }
  for (size_t i = 0; i < vs.size(); ++i) WINK_TRY(lower_flat(cx, vs[i], *ts[i], flat));
  return flat;
}

}  // namespace

Result<std::vector<Value>> lift_flat_values(AbiContext& cx, size_t max_flat, FlatReader& vi,
                                            const std::vector<ValTypePtr>& ts) {
  ValTypePtr tuple;
  if (flat_count(ts) > max_flat) {
    WINK_ASSIGN_OR_RETURN(tuple, make_tuple(ts));
  }
  return lift_values(cx, vi, ts, tuple);
}

Result<std::vector<CoreValue>> lower_flat_values(AbiContext& cx, size_t max_flat, const std::vector<Value>& vs,
                                                 const std::vector<ValTypePtr>& ts, FlatReader* out_param) {
  ValTypePtr tuple;
  if (flat_count(ts) > max_flat) {
    WINK_ASSIGN_OR_RETURN(tuple, make_tuple(ts));
  }
  return lower_values(cx, vs, ts, tuple, out_param);
}

// ---- calls ----

Result<std::vector<Value>> call_lifted(const FuncLayout& layout, const AbiOptions& opts, InstanceState& inst,
                                       const CoreCallee& callee, const std::vector<Value>& args,
                                       const PostReturn& post_return) {
  Task task;
  AbiContext cx(opts, inst, &task, nullptr);
  WINK_ASSIGN_OR_RETURN(std::vector<CoreValue> flat_args,
                        lower_values(cx, args, layout.params, layout.params_spill, nullptr));
  WINK_ASSIGN_OR_RETURN(std::vector<CoreValue> flat_results, callee(flat_args));
  if (flat_results.size() != layout.lift.results.size())
    return make_error("callee returned the wrong number of core values");
  FlatIter vi(flat_results);
  WINK_ASSIGN_OR_RETURN(std::vector<Value> results, lift_values(cx, vi, layout.results, layout.results_spill));
  // task.return: every borrow handed to the callee must have been dropped.
  if (task.num_borrows > 0) {
    return trap(std::to_string(task.num_borrows) + " borrowed handle(s) not dropped before the call returned");
  }
  if (post_return) {
    inst.may_leave = false;
    auto r = post_return(flat_results);
    inst.may_leave = true;
    if (!r) return std::move(r).error().with_context("post-return");
  }
  return results;
}

Result<std::vector<Value>> call_lifted(const FuncType& ft, const AbiOptions& opts, InstanceState& inst,
                                       const CoreCallee& callee, const std::vector<Value>& args,
                                       const PostReturn& post_return) {
  WINK_ASSIGN_OR_RETURN(FuncLayout layout, func_layout(ft));
  return call_lifted(layout, opts, inst, callee, args, post_return);
}

Result<std::vector<CoreValue>> call_lowered(const FuncLayout& layout, const AbiOptions& opts, InstanceState& inst,
                                            const HostFunc& host, std::span<const CoreValue> flat_args) {
  if (!inst.may_leave) return trap("import called while the instance may not leave (realloc or post-return)");
  if (flat_args.size() != layout.lower.params.size()) return make_error("wrong number of core arguments");
  Subtask subtask;
  AbiContext cx(opts, inst, nullptr, &subtask);
  FlatIter vi(flat_args);
  auto args = lift_values(cx, vi, layout.params, layout.params_spill);
  if (!args) {
    subtask.deliver_resolve();
    return std::move(args).error();
  }
  auto results = host(*args);
  if (!results) {
    subtask.deliver_resolve();
    return std::move(results).error();
  }
  auto flat = lower_values(cx, *results, layout.results, layout.results_spill, &vi);
  subtask.deliver_resolve();
  return flat;
}

Result<std::vector<CoreValue>> call_lowered(const FuncType& ft, const AbiOptions& opts, InstanceState& inst,
                                            const HostFunc& host, const std::vector<CoreValue>& flat_args) {
  WINK_ASSIGN_OR_RETURN(FuncLayout layout, func_layout(ft));
  return call_lowered(layout, opts, inst, host, flat_args);
}

}  // namespace wink::component
