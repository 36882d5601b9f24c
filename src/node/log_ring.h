// A bounded ring of an app's JSON log lines (guest logs, lifecycle events,
// deploy steps) with increasing sequence numbers; readers long-poll for lines
// newer than the last they saw. The oldest lines drop when it is full.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "node/apps.h"

namespace wink::node {

class LogRing {
 public:
  explicit LogRing(size_t capacity) : capacity_(capacity ? capacity : 1) {}
  // One JSON object (a trailing newline is dropped).
  void append(std::string_view json);
  // Splits complete lines ('\n'-separated) and appends each non-empty one.
  void append_lines(std::string_view lines);
  // Lines with seq > after, at most `max`; waits up to `wait` for one.
  std::vector<LogLine> read(uint64_t after, size_t max, std::chrono::milliseconds wait) const;
  // Wakes every waiting reader (the app is going away).
  void close();

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<LogLine> lines_;
  uint64_t next_seq_ = 1;
  bool closed_ = false;
};

// {"ts":"...","level":"info","msg":"deploy","stage":"compiling","message":"..."}
std::string deploy_log_line(const DeployEvent& event);

}  // namespace wink::node
