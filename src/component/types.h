// The component type model: value types, function types, resource types,
// and the extern types of imports and exports. Value types carry their
// Canonical ABI layout (size, alignment, flat core types), computed once when
// the type is built, so a hostile type graph (a DAG shared a thousand ways)
// never costs more than one pass, and sizes are 64-bit and saturating.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace wink::component {

// Core WebAssembly value types, as they appear in flattened signatures.
enum class CoreValType : uint8_t { I32, I64, F32, F64 };
const char* core_val_type_name(CoreValType t);

enum class ValKind : uint8_t {
  Bool, S8, U8, S16, U16, S32, U32, S64, U64, F32, F64, Char, String,
  List, Record, Tuple, Variant, Enum, Option, Result, Flags, Own, Borrow,
  // Async and gated types: parsed into the model, refused by the ABI.
  ErrorContext, Stream, Future,
};
const char* val_kind_name(ValKind k);

// Identity of a resource type. Each `(resource ...)` definition and each
// `(sub resource)` import/export bound gets a fresh id; handles are checked
// against it (the spec's `h.rt is not t.rt`).
using ResourceId = uint32_t;

struct ValType;
using ValTypePtr = std::shared_ptr<const ValType>;

struct Field {
  std::string label;
  ValTypePtr type;
};

struct Case {
  std::string label;
  ValTypePtr type;  // null: a case without payload
};

// Limits that keep the ABI's recursion and arithmetic bounded.
inline constexpr uint32_t kMaxTypeDepth = 100;
inline constexpr uint64_t kMaxElemSize = (uint64_t{1} << 28) - 1;  // spec: elem_size < 2^28
inline constexpr size_t kMaxFlatTracked = 17;  // MAX_FLAT_PARAMS + 1: more is "too many"

struct ValType {
  ValKind kind;
  // List, Option, Stream, Future: the element (Stream/Future may have none).
  ValTypePtr element;
  // Record and Tuple (tuple labels are "0", "1", ...). Variant, and the
  // despecialized Enum/Option/Result cases live in `cases`.
  std::vector<Field> fields;
  std::vector<Case> cases;
  // Flags and Enum labels.
  std::vector<std::string> labels;
  // Own/Borrow: the resource.
  ResourceId resource = 0;

  // Canonical ABI layout, filled by the factory functions below.
  uint64_t size = 0;
  uint32_t alignment = 1;
  uint32_t depth = 1;
  // Flattened core types; `flat_overflow` when more than kMaxFlatTracked-1.
  std::vector<CoreValType> flat;
  bool flat_overflow = false;

  bool is_primitive() const { return kind <= ValKind::String; }
  // Number of bytes of the variant discriminant (1, 2 or 4).
  uint32_t discriminant_size() const;
  // Alignment of the payload area of a variant (max over case types).
  uint32_t max_case_alignment() const;
  // Number of 32-bit words a flags value occupies when flattened.
  uint32_t flag_words() const;
};

// Factories: every ValType is built through these, which validate the
// structural limits (depth, size) and compute the layout. Errors name the
// limit that was hit.
ValTypePtr primitive(ValKind k);
Result<ValTypePtr> make_list(ValTypePtr element);
Result<ValTypePtr> make_record(std::vector<Field> fields);
Result<ValTypePtr> make_tuple(std::vector<ValTypePtr> elements);
Result<ValTypePtr> make_variant(std::vector<Case> cases);
Result<ValTypePtr> make_enum(std::vector<std::string> labels);
Result<ValTypePtr> make_option(ValTypePtr element);
Result<ValTypePtr> make_result(ValTypePtr ok, ValTypePtr error);
Result<ValTypePtr> make_flags(std::vector<std::string> labels);
ValTypePtr make_own(ResourceId resource);
ValTypePtr make_borrow(ResourceId resource);
ValTypePtr make_error_context();
Result<ValTypePtr> make_stream(ValTypePtr element);
Result<ValTypePtr> make_future(ValTypePtr element);

bool contains_borrow(const ValType& t);
// Structural equality (resources by id).
bool same_type(const ValType& a, const ValType& b);
// WIT-like rendering for messages and tests: "record { x: s32, y: s32 }".
std::string to_string(const ValType& t);

struct FuncType {
  std::vector<Field> params;
  ValTypePtr result;  // null: no result
  bool async = false;

  std::vector<ValTypePtr> param_types() const;
  std::vector<ValTypePtr> result_types() const;
};
using FuncTypePtr = std::shared_ptr<const FuncType>;

std::string to_string(const FuncType& f);

// A core function signature after flattening.
struct CoreFuncSig {
  std::vector<CoreValType> params;
  std::vector<CoreValType> results;
  bool operator==(const CoreFuncSig&) const = default;
};
std::string to_string(const CoreFuncSig& s);

}  // namespace wink::component
