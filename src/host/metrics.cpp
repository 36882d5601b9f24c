// Metrics registry and Prometheus text rendering.
#include "host/metrics.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "runtime/runtime.h"

namespace wink::host {
namespace {

void label(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += ',';
  out.append(name).append("=\"");
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += '"';
}

std::string labels2(std::string_view app, std::string_view component) {
  std::string l;
  label(l, "app", app);
  label(l, "component", component);
  return l;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename Map>
void series(std::string& out, const char* name, const Map& m) {
  for (const auto& [labels, v] : m) {
    out.append(name).append("{").append(labels).append("} ").append(std::to_string(v)).append("\n");
  }
}

}  // namespace

void Metrics::Histogram::observe(double v) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (v <= kBuckets[i]) ++counts[i];
  }
  ++count;
  sum += v;
}

void Metrics::request(std::string_view app, std::string_view component, int status,
                      double instantiate_s, double execute_s) {
  std::string base = labels2(app, component);
  std::string with_status = base;
  label(with_status, "status", std::to_string(status));
  std::string inst = base, exec = base;
  label(inst, "phase", "instantiate");
  label(exec, "phase", "execute");
  std::lock_guard lock(mu_);
  ++requests_[with_status];
  latency_[inst].observe(instantiate_s);
  latency_[exec].observe(execute_s);
}

void Metrics::cold_start(std::string_view app, std::string_view component) {
  std::string l = labels2(app, component);
  std::lock_guard lock(mu_);
  ++cold_starts_[l];
}

void Metrics::trap(std::string_view app, std::string_view component, std::string_view kind) {
  std::string l = labels2(app, component);
  label(l, "kind", kind);
  std::lock_guard lock(mu_);
  ++traps_[l];
}

void Metrics::deadline_overrun(std::string_view app, std::string_view component) {
  std::string l = labels2(app, component);
  std::lock_guard lock(mu_);
  ++deadlines_[l];
}

int64_t Metrics::instances_add(std::string_view app, std::string_view component, int64_t delta) {
  std::string l = labels2(app, component);
  label(l, "state", "running");
  std::lock_guard lock(mu_);
  int64_t& v = instances_[l];
  int64_t before = v;
  v += delta;
  return before;
}

void Metrics::kv(std::string_view store, std::string_view op, std::string_view result) {
  std::string l;
  label(l, "store", store);
  label(l, "op", op);
  label(l, "result", result);
  std::lock_guard lock(mu_);
  ++kv_[l];
}

void Metrics::outbound(std::string_view app, std::string_view component, std::string_view result) {
  std::string l = labels2(app, component);
  label(l, "result", result);
  std::lock_guard lock(mu_);
  ++outbound_[l];
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  header(out, "wink_requests_total", "counter", "Requests answered by a component, by HTTP status.");
  series(out, "wink_requests_total", requests_);
  header(out, "wink_request_duration_seconds", "histogram",
         "Time per request phase: instantiate (fresh instance) and execute (guest code).");
  for (const auto& [labels, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out.append("wink_request_duration_seconds_bucket{").append(labels).append(",le=\"")
          .append(number(kBuckets[i])).append("\"} ").append(std::to_string(h.counts[i])).append("\n");
    }
    out.append("wink_request_duration_seconds_bucket{").append(labels).append(",le=\"+Inf\"} ")
        .append(std::to_string(h.count)).append("\n");
    out.append("wink_request_duration_seconds_sum{").append(labels).append("} ").append(number(h.sum)).append("\n");
    out.append("wink_request_duration_seconds_count{").append(labels).append("} ")
        .append(std::to_string(h.count)).append("\n");
  }
  header(out, "wink_cold_starts_total", "counter",
         "Requests that found no instance of their component running (woke it from zero).");
  series(out, "wink_cold_starts_total", cold_starts_);
  header(out, "wink_traps_total", "counter", "Guest traps, by kind.");
  series(out, "wink_traps_total", traps_);
  header(out, "wink_deadline_overruns_total", "counter", "Requests stopped at their deadline (504).");
  series(out, "wink_deadline_overruns_total", deadlines_);
  header(out, "wink_instances", "gauge", "Instances by state.");
  series(out, "wink_instances", instances_);
  header(out, "wink_kv_operations_total", "counter",
         "Key-value calls by store, operation and result (ok, not_found, error).");
  series(out, "wink_kv_operations_total", kv_);
  header(out, "wink_outbound_requests_total", "counter",
         "Outbound HTTP calls by result (ok, denied, invalid, timeout, too_large, connection).");
  series(out, "wink_outbound_requests_total", outbound_);
  runtime::PoolStats pool = runtime::pool_stats();
  header(out, "wink_memory_slots", "gauge", "Linear-memory slots of the runtime's pool, by state.");
  out.append("wink_memory_slots{state=\"in_use\"} ").append(std::to_string(pool.slots_in_use)).append("\n");
  out.append("wink_memory_slots{state=\"free\"} ").append(std::to_string(pool.slots_free)).append("\n");
  return out;
}

void append_json(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace wink::host
