// The Canonical ABI (component-model design/mvp/CanonicalABI.md), driven by
// the type model: flattening, load/store, lift/lower of every value type
// against a guest linear memory given as (base, size) plus a realloc
// callback. Every guest-provided pointer and length is checked exactly where
// the specification traps; traps come back as errors naming the cause.
// Sizes are computed in 64 bits, so no length wraps.
//
// Scope: 32-bit memories, synchronous calls (no async, streams, futures,
// error-context), the deterministic float profile (NaNs canonical both ways).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/result.h"
#include "component/handles.h"
#include "component/model.h"
#include "component/types.h"
#include "component/value.h"

namespace wink::component {

inline constexpr size_t kMaxFlatParams = 16;
inline constexpr size_t kMaxFlatResults = 1;
inline constexpr uint64_t kMaxStringByteLength = (uint64_t{1} << 28) - 1;
inline constexpr uint64_t kMaxListByteLength = (uint64_t{1} << 28) - 1;
inline constexpr uint32_t kUtf16Tag = 1u << 31;
inline constexpr uint32_t kCanonicalNan32 = 0x7fc00000;
inline constexpr uint64_t kCanonicalNan64 = 0x7ff8000000000000;

enum class FlattenContext { Lift, Lower };

struct FlatSizes {
  size_t params = 0;   // saturates at kMaxFlatTracked
  size_t results = 0;
};
FlatSizes flat_sizes(const FuncType& ft);
// flatten_functype for synchronous functions on a 32-bit memory.
CoreFuncSig flatten_functype(const FuncType& ft, FlattenContext context);

// What every call of one function type needs, computed once (at load, per
// canon lift or lower) instead of per call: its parameter and result types,
// both flattened signatures, and the tuple types its values spill to.
struct FuncLayout {
  std::vector<ValTypePtr> params, results;
  CoreFuncSig lift, lower;  // flatten_functype(ft, Lift / Lower)
  ValTypePtr params_spill;   // the params as a tuple when they pass kMaxFlatParams; else null
  ValTypePtr results_spill;  // likewise past kMaxFlatResults
};
Result<FuncLayout> func_layout(const FuncType& ft);

struct GuestMemory {
  uint8_t* base = nullptr;
  uint64_t size = 0;
};

// cabi_realloc(old_ptr, old_size, align, new_size) -> new_ptr. The callback
// may grow the memory; it then updates the GuestMemory it shares with the
// context before returning.
using ReallocFn = std::function<Result<uint32_t>(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                                 uint32_t new_size)>;

struct AbiOptions {
  StringEncoding string_encoding = StringEncoding::Utf8;
  GuestMemory* memory = nullptr;  // required when a value touches memory
  ReallocFn realloc;              // required when lowering strings/lists into the guest
  // A lifted value may not make the host hold more than this many bytes
  // (Value nodes plus string bytes): one small guest list may name the same
  // large range many times over.
  uint64_t max_lifted_bytes = uint64_t{256} << 20;
};

// LiftLowerContext: options, the instance whose handle table is used, and
// the borrow scope (a Task when lowering into a callee, a Subtask when
// lifting a caller's arguments).
class AbiContext {
 public:
  AbiContext(const AbiOptions& options, InstanceState& instance, Task* task = nullptr, Subtask* subtask = nullptr)
      : opts(options), inst(instance), task(task), subtask(subtask) {}

  const AbiOptions& opts;
  InstanceState& inst;
  Task* task;
  Subtask* subtask;
  uint64_t lifted_bytes = 0;

  Result<GuestMemory*> memory();
  // Calls realloc with the instance marked as unable to leave, then checks
  // that [ptr, ptr+new_size) is aligned and inside memory.
  Result<uint32_t> reallocate(uint32_t old_ptr, uint32_t old_size, uint32_t align, uint64_t new_size);
  Result<void> charge(uint64_t bytes);
};

// Reads flattened core values in order, checking each one's type.
class FlatReader {
 public:
  virtual ~FlatReader() = default;
  virtual Result<CoreValue> next(CoreValType want) = 0;
};

class FlatIter : public FlatReader {
 public:
  explicit FlatIter(std::span<const CoreValue> values) : values_(values) {}
  Result<CoreValue> next(CoreValType want) override;
  bool done() const { return i_ == values_.size(); }

 private:
  std::span<const CoreValue> values_;
  size_t i_ = 0;
};

// Memory.
Result<Value> load(AbiContext& cx, uint64_t ptr, const ValType& t);
Result<void> store(AbiContext& cx, const Value& v, const ValType& t, uint64_t ptr);

// Flat (core values).
Result<Value> lift_flat(AbiContext& cx, FlatReader& vi, const ValType& t);
Result<void> lower_flat(AbiContext& cx, const Value& v, const ValType& t, std::vector<CoreValue>& out);

// Whole parameter/result lists, spilling to memory past `max_flat`.
Result<std::vector<Value>> lift_flat_values(AbiContext& cx, size_t max_flat, FlatReader& vi,
                                            const std::vector<ValTypePtr>& ts);
// `out_param`: for results of a lowered call, the caller's return area
// pointer is read from it instead of allocating.
Result<std::vector<CoreValue>> lower_flat_values(AbiContext& cx, size_t max_flat, const std::vector<Value>& vs,
                                                 const std::vector<ValTypePtr>& ts, FlatReader* out_param = nullptr);

// Strings (abi_strings.cpp): lift from guest memory into UTF-8, lower UTF-8
// into the guest's encoding with the spec's allocation sequence.
Result<std::string> load_string_from_range(AbiContext& cx, uint64_t ptr, uint64_t tagged_code_units);
struct StoredString {
  uint32_t ptr = 0;
  uint32_t tagged_code_units = 0;
};
Result<StoredString> store_string_into_range(AbiContext& cx, const std::string& utf8);

// Host calls a lifted guest function (canon lift, synchronous):
// lower args, call, lift results, check the borrow scope, post-return.
using CoreCallee = std::function<Result<std::vector<CoreValue>>(const std::vector<CoreValue>& args)>;
using PostReturn = std::function<Result<void>(const std::vector<CoreValue>& results)>;
Result<std::vector<Value>> call_lifted(const FuncLayout& layout, const AbiOptions& opts, InstanceState& inst,
                                       const CoreCallee& callee, const std::vector<Value>& args,
                                       const PostReturn& post_return = nullptr);
// The same, the layout computed for this one call.
Result<std::vector<Value>> call_lifted(const FuncType& ft, const AbiOptions& opts, InstanceState& inst,
                                       const CoreCallee& callee, const std::vector<Value>& args,
                                       const PostReturn& post_return = nullptr);

// Guest calls a lowered host function (canon lower, synchronous): lift the
// flat args, run `host` (it may take the lifted values: they are its own),
// lower its results (into the caller's return area when they spill).
using HostFunc = std::function<Result<std::vector<Value>>(std::vector<Value>& args)>;
Result<std::vector<CoreValue>> call_lowered(const FuncLayout& layout, const AbiOptions& opts, InstanceState& inst,
                                            const HostFunc& host, std::span<const CoreValue> flat_args);
// The same, the layout computed for this one call.
Result<std::vector<CoreValue>> call_lowered(const FuncType& ft, const AbiOptions& opts, InstanceState& inst,
                                            const HostFunc& host, const std::vector<CoreValue>& flat_args);

}  // namespace wink::component
