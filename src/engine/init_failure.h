// The error of an init (or a warm-up request on the init instance) that did
// not return: the same words for a module's init snapshot and a component's
// init image.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "runtime/runtime.h"

namespace wink::engine {

// "<what> ran past its deadline of N ms" (Trap::kDeadline), "<what> called
// <exit_call>(N) instead of returning" (an exit), "<what> trapped: <trap>:
// <detail>", or "<what> failed: <error>" when `o` holds no trap (the call
// was refused around the guest); then "; its output: " and the last 2000
// bytes of `output`, if any.
Error init_failure(std::string_view what, const runtime::Outcome& o, std::chrono::nanoseconds deadline,
                   std::string_view output, std::string_view exit_call = "proc_exit", std::string_view error = {});

}  // namespace wink::engine
