// Access log: one JSON object per request, one per line. Formatting is here;
// the server batches lines per worker and writes them to the configured sink.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"
#include "http/server.h"

namespace wink::http {

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;  // when the line is formatted (after the send)
  std::string_view remote;
  std::string_view method;  // "" when the request line was not parsed
  std::string_view path;
  std::string_view query;
  int version_minor = 1;
  int status = 0;
  uint64_t bytes = 0;           // response body bytes (0 for HEAD)
  uint64_t request_bytes = 0;   // request body bytes
  double duration_ms = 0;       // first request byte -> response queued
  double handler_ms = 0;        // time inside the handler
  const LogFields* fields = nullptr;  // app, component, timings (may be null)
  std::string_view error;       // parser/timeout reason for error responses
};

// Appends `s` as a JSON string literal (quotes included). Bytes >= 0x80 are
// written as \u00XX so the line is valid JSON whatever the client sent.
void append_json_string(std::string& out, std::string_view s);
// Appends a duration in milliseconds with three decimals ("0.029"); a
// negative or NaN one as "0.000". Used by the log lines, Server-Timing and
// the lifecycle's log fields alike.
void append_ms(std::string& out, double ms);
inline std::string format_ms(double ms) {
  std::string out;
  append_ms(out, ms);
  return out;
}
// Appends one JSON line (with '\n').
void append_access_log_line(std::string& out, const AccessLogEntry& entry);

// The sink, shared by all workers; write() is serialized.
class AccessLogSink {
 public:
  Result<void> open(const AccessLogConfig& config);
  bool enabled() const { return kind_ != AccessLogConfig::Sink::kOff; }
  void write(std::string_view lines);
  void close();
  ~AccessLogSink() { close(); }

 private:
  AccessLogConfig::Sink kind_ = AccessLogConfig::Sink::kOff;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::function<void(std::string_view)> callback_;
  std::mutex mu_;
};

}  // namespace wink::http
