// Per-app log ring with long-poll reads (log_ring.h).
#include "node/log_ring.h"

#include "host/metrics.h"

namespace wink::node {

void LogRing::append(std::string_view json) {
  while (!json.empty() && (json.back() == '\n' || json.back() == '\r')) json.remove_suffix(1);
  if (json.empty()) return;
  {
    std::lock_guard lock(mu_);
    lines_.push_back(LogLine{next_seq_++, std::string(json)});
    while (lines_.size() > capacity_) lines_.pop_front();
  }
  cv_.notify_all();
}

void LogRing::append_lines(std::string_view lines) {
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    append(lines.substr(0, nl));
    if (nl == std::string_view::npos) break;
    lines.remove_prefix(nl + 1);
  }
}

std::vector<LogLine> LogRing::read(uint64_t after, size_t max, std::chrono::milliseconds wait) const {
  std::unique_lock lock(mu_);
  auto has_new = [&] { return closed_ || (!lines_.empty() && lines_.back().seq > after); };
  if (wait.count() > 0) cv_.wait_for(lock, wait, has_new);
  std::vector<LogLine> out;
  for (const LogLine& l : lines_) {
    if (out.size() >= max) break;
    if (l.seq > after) out.push_back(l);
  }
  return out;
}

void LogRing::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

std::string deploy_log_line(const DeployEvent& event) {
  std::string line = "{\"ts\":";
  host::append_json(line, host::now_iso8601());
  line += event.stage == "failed" ? ",\"level\":\"error\"" : ",\"level\":\"info\"";
  line += ",\"msg\":\"deploy\",\"stage\":";
  host::append_json(line, event.stage);
  line += ",\"message\":";
  host::append_json(line, event.message);
  line += "}";
  return line;
}

}  // namespace wink::node
