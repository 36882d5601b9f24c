// Guest output -> HTTP response: the one path both executors (per-request
// WAGI instances in wagi::App, long-lived reactors in lifecycle::App) send a
// finished guest run through, so their answers, headers, caps, redaction and
// log lines cannot drift apart (docs/wagi.md, "Responses and failures").
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "host/host.h"
#include "http/message.h"
#include "runtime/runtime.h"

namespace wink::wagi {

// Receives complete JSON log lines (with the trailing '\n'); may be called
// from several threads at once.
using LogSink = std::function<void(std::string_view line)>;

// A request id: a per-process random prefix and a counter, 16 hex digits,
// held inline (no allocation per request).
struct RequestId {
  char text[16];
  std::string_view view() const { return {text, sizeof text}; }
  operator std::string_view() const { return view(); }  // NOLINT: used where a view is
};
RequestId next_request_id();

// One phase of a run, for Server-Timing ("inst;dur=0.021") and the access log ("instantiate").
struct Phase {
  const char* header_name = "";
  const char* log_name = "";
  double ms = 0;
};

// A run's phases, in order: a few at most, held inline (no allocation per request).
class Phases {
 public:
  static constexpr size_t kMax = 4;
  Phases() = default;
  Phases(std::initializer_list<Phase> phases) {
    for (const Phase& p : phases) push_back(p);
  }
  void push_back(const Phase& p) {
    if (size_ < kMax) items_[size_++] = p;
  }
  size_t size() const { return size_; }
  const Phase& operator[](size_t i) const { return items_[i]; }
  const Phase& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("no phase " + std::to_string(i));
    return items_[i];
  }
  const Phase* begin() const { return items_.data(); }
  const Phase* end() const { return items_.data() + size_; }

 private:
  std::array<Phase, kMax> items_{};
  size_t size_ = 0;
};

// What a wasi:http component answered (instead of CGI stdout).
struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;       // the guest answered err(error-code): its case name
  bool too_large = false;  // the body reached the cap
  // Streamed: the handler returned without finishing the body it took (or
  // its length was not the Content-Length it announced).
  bool incomplete = false;
};

// What one guest run produced, whichever executor ran it.
struct GuestRun {
  // Not run at all: 429/503 (queue full / waited too long, with Retry-After)
  // or 500 (no instance could be created). `refusal` says why.
  int refused = 0;
  uint32_t retry_after_s = 1;
  std::string refusal;
  std::string instantiate_error;  // the instance could not be created: 500
  runtime::Outcome outcome;
  std::chrono::nanoseconds deadline{};
  std::string out, err;     // guest stdout (CGI response) and stderr
  size_t stdout_limit = 0;  // the cap `out` was written under; reaching it is a 500
  Phases phases;
  // A wasi:http component's run (http_component.h): `http` is its answer
  // when it set one; stdout is not parsed as CGI.
  bool component = false;
  std::optional<HttpAnswer> http;
  // The component's status and headers already went to the client (its body
  // streamed): the response can no longer change; a failure after it ended
  // the connection and is only logged.
  bool streamed = false;
};

// Who produced the run, for log lines and redaction.
struct RunSource {
  const LogSink* log = nullptr;  // may be null or empty: no log lines
  std::string_view app, component;
  const host::Prepared* host = nullptr;  // redacts its secret values from stderr; may be null
  std::string_view request_id;
};

// Fills `response` from `run`: X-Request-Id and Server-Timing headers, the
// access-log fields, guest stderr as "guest stderr" log lines (secrets
// redacted), failures as one "request failed" line (refused: 429/503/500;
// deadline: 504; trap, non-zero exit, stdout over the cap: 500), else the
// CGI-parsed stdout (bad output: 500/502), or a component's answer (none,
// an error-code or a body over the cap: 500). Consumes run.out and run.err.
void write_response(const RunSource& source, const http::Request& request, GuestRun& run,
                    http::Response& response);

// The headers wink adds to every guest response: X-Request-Id (when there
// is one) and Server-Timing with `phases`.
void add_run_headers(std::vector<std::pair<std::string, std::string>>& headers, std::string_view request_id,
                     const Phases& phases);
// The same, added to `response` in buffers it kept (http::Response::add_header_value).
void add_run_headers(http::Response& response, std::string_view request_id, const Phases& phases);

// The "request failed" log line (also for failures found before a run).
void log_failure(const RunSource& source, const http::Request& request, int status,
                 std::string_view cause, std::string_view detail);

}  // namespace wink::wagi
