// Checks a function type a component declares for an import against the
// shape the WASI 0.2 host implements, written as a compact pattern:
//   "(borrow, list<u8>) -> result<_, variant{last-operation-failed: own, closed}>"
// Types: bool s8..s64 u8..u64 f32 f64 char string own borrow list<T>
// option<T> result (no payloads) result<T|_, T|_> tuple<T, ...>
// record{label: T, ...} variant{label[: T], ...} enum{label, ...}
// flags{label, ...}, and `*` for any type. Labels are checked, parameter
// names are not; handles match any resource (the host checks the kind of
// every rep it receives). Runs once per import at link time.
#pragma once

#include <string_view>

#include "common/result.h"
#include "component/types.h"

namespace wink::wasi2 {

// Ok when `type` has the shape of `pattern`; the error says where they differ.
Result<void> check_signature(const component::FuncType& type, std::string_view pattern);
// Whether one value type has the shape of a type pattern.
bool matches_type(const component::ValType& type, std::string_view pattern);

}  // namespace wink::wasi2
