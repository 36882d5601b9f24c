// Why an init did not return (init_failure.h).
#include "engine/init_failure.h"

namespace wink::engine {

Error init_failure(std::string_view what, const runtime::Outcome& o, std::chrono::nanoseconds deadline,
                   std::string_view output, std::string_view exit_call, std::string_view error) {
  std::string msg(what);
  if (o.trap == runtime::Trap::kDeadline) {
    msg += " ran past its deadline of " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count()) + " ms";
  } else if (o.exited()) {
    msg += " called " + std::string(exit_call) + "(" + std::to_string(o.exit_code) + ") instead of returning";
  } else if (!o.ok()) {
    msg += " trapped: " + runtime::outcome_message(o);
  } else {
    msg += " failed: " + std::string(error);
  }
  if (!output.empty()) msg += "; its output: " + std::string(output.size() > 2000 ? output.substr(output.size() - 2000) : output);
  return make_error(msg);
}

}  // namespace wink::engine
