// Errors as values: Result<T> carries a T or an Error with a readable message.
// Used on every path that handles untrusted input (guest code, network,
// manifests, module bytes); exceptions stay out of the request path.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace wink {

struct Error {
  std::string message;

  // Prefixes context ("while loading x: ") so errors read outermost-first.
  Error&& with_context(const std::string& context) && {
    message = context + ": " + message;
    return std::move(*this);
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace wink

// WINK_TRY(expr): return the error of a failed Result from the enclosing function.
#define WINK_TRY(expr)                                   \
  do {                                                   \
    auto&& wink_try_result_ = (expr);                    \
    if (!wink_try_result_.ok()) {                        \
      return std::move(wink_try_result_).error();        \
    }                                                    \
  } while (0)

#define WINK_CONCAT_INNER_(a, b) a##b
#define WINK_CONCAT_(a, b) WINK_CONCAT_INNER_(a, b)

// WINK_ASSIGN_OR_RETURN(lhs, expr): lhs = value of expr, or return its error.
#define WINK_ASSIGN_OR_RETURN(lhs, expr) \
  WINK_ASSIGN_OR_RETURN_IMPL_(WINK_CONCAT_(wink_result_, __LINE__), lhs, expr)
#define WINK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()
