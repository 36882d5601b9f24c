// Access log formatting and sinks.
#include "http/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

namespace wink::http {
namespace {

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_time(std::string& out, std::chrono::system_clock::time_point t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto ms = static_cast<unsigned>(std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count());
  // The date and time to the second, formatted once per second per thread
  // (gmtime_r and strftime cost more than the rest of the line).
  thread_local time_t cached_sec = -1;
  thread_local char cached[24];
  thread_local size_t cached_len = 0;
  const time_t tt = static_cast<time_t>(secs.count());
  if (tt != cached_sec) {
    struct tm tm;
    gmtime_r(&tt, &tm);
    cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_sec = tt;
  }
  char frac[6] = {'.', static_cast<char>('0' + ms / 100 % 10), static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10), 'Z', '"'};
  out.push_back('"');
  out.append(cached, cached_len);
  out.append(frac, sizeof frac);
}

}  // namespace

void append_ms(std::string& out, double ms) {
  if (!(ms >= 0)) ms = 0;  // also NaN
  if (ms >= 1e12) ms = 1e12;  // no duration is this long; keeps the microseconds in range
  // Whole microseconds in integers: formatting a double with a fixed
  // precision cost more than the rest of a request's log line.
  const auto us = static_cast<uint64_t>(ms * 1000.0 + 0.5);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, us / 1000);
  *r.ptr++ = '.';
  const auto frac = static_cast<unsigned>(us % 1000);
  *r.ptr++ = static_cast<char>('0' + frac / 100);
  *r.ptr++ = static_cast<char>('0' + frac / 10 % 10);
  *r.ptr++ = static_cast<char>('0' + frac % 10);
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Most strings need no escape: appended whole, not byte by byte.
  size_t plain = 0;
  while (plain < s.size()) {
    const auto c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
    ++plain;
  }
  out.append(s.data(), plain);
  s.remove_prefix(plain);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_access_log_line(std::string& out, const AccessLogEntry& e) {
  out.append("{\"time\":");
  append_time(out, e.time);
  out.append(",\"remote\":");
  append_json_string(out, e.remote);
  out.append(",\"method\":");
  append_json_string(out, e.method);
  out.append(",\"path\":");
  append_json_string(out, e.path);
  if (!e.query.empty()) {
    out.append(",\"query\":");
    append_json_string(out, e.query);
  }
  out.append(e.version_minor == 0 ? ",\"protocol\":\"HTTP/1.0\"" : ",\"protocol\":\"HTTP/1.1\"");
  out.append(",\"status\":");
  append_number(out, static_cast<uint64_t>(e.status));
  out.append(",\"bytes\":");
  append_number(out, e.bytes);
  out.append(",\"request_bytes\":");
  append_number(out, e.request_bytes);
  out.append(",\"duration_ms\":");
  append_ms(out, e.duration_ms);
  out.append(",\"handler_ms\":");
  append_ms(out, e.handler_ms);
  if (e.fields) {
    if (!e.fields->app.empty()) {
      out.append(",\"app\":");
      append_json_string(out, e.fields->app);
    }
    if (!e.fields->component.empty()) {
      out.append(",\"component\":");
      append_json_string(out, e.fields->component);
    }
    if (e.fields->version) {
      out.append(",\"version\":");
      append_number(out, e.fields->version);
    }
    if (!e.fields->request_id.empty()) {
      out.append(",\"request_id\":");
      append_json_string(out, e.fields->request_id);
    }
    if (!e.fields->timings_ms.empty()) {
      out.append(",\"timings_ms\":{");
      bool first = true;
      for (const auto& [name, ms] : e.fields->timings_ms) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, name);
        out.push_back(':');
        append_ms(out, ms);
      }
      out.push_back('}');
    }
  }
  if (!e.error.empty()) {
    out.append(",\"error\":");
    append_json_string(out, e.error);
  }
  out.append("}\n");
}

Result<void> AccessLogSink::open(const AccessLogConfig& config) {
  close();
  kind_ = config.sink;
  switch (kind_) {
    case AccessLogConfig::Sink::kStderr:
      fd_ = STDERR_FILENO;
      owns_fd_ = false;
      break;
    case AccessLogConfig::Sink::kFile:
      fd_ = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd_ < 0) {
        kind_ = AccessLogConfig::Sink::kOff;
        return make_error("cannot open access log " + config.path + ": " + strerror(errno));
      }
      owns_fd_ = true;
      break;
    case AccessLogConfig::Sink::kCallback:
      if (!config.callback) kind_ = AccessLogConfig::Sink::kOff;
      callback_ = config.callback;
      break;
    case AccessLogConfig::Sink::kOff:
      break;
  }
  return {};
}

void AccessLogSink::write(std::string_view lines) {
  if (lines.empty() || !enabled()) return;
  std::lock_guard lock(mu_);
  if (kind_ == AccessLogConfig::Sink::kCallback) {
    callback_(lines);
    return;
  }
  while (!lines.empty()) {
    ssize_t n = ::write(fd_, lines.data(), lines.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a failing log must not take the server down
    }
    lines.remove_prefix(static_cast<size_t>(n));
  }
}

void AccessLogSink::close() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  owns_fd_ = false;
  kind_ = AccessLogConfig::Sink::kOff;
  callback_ = nullptr;
}

}  // namespace wink::http
