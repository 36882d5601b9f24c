// Operator metrics in Prometheus text format (exposition format 0.0.4),
// collected in-process with a mutex per update (cheap next to a request) and
// rendered on GET /metrics. Every series is listed in docs/operations.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace wink::host {

class Metrics {
 public:
  // One finished request. `phase` durations are in seconds.
  void request(std::string_view app, std::string_view component, int status,
               double instantiate_s, double execute_s);
  void cold_start(std::string_view app, std::string_view component);
  void trap(std::string_view app, std::string_view component, std::string_view kind);
  void deadline_overrun(std::string_view app, std::string_view component);
  // Instances currently executing (+1 when created, -1 when freed).
  // Returns the count before the change.
  int64_t instances_add(std::string_view app, std::string_view component, int64_t delta);
  void kv(std::string_view store, std::string_view op, std::string_view result);
  void outbound(std::string_view app, std::string_view component, std::string_view result);

  // The whole registry as Prometheus text, plus the runtime's memory pool.
  std::string render() const;

  static constexpr std::array<double, 16> kBuckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,     0.025,   0.05,   0.1,     0.5,    1.0,   5.0};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void observe(double v);
  };
  mutable std::mutex mu_;
  // Keyed by the rendered label set, e.g. app="a",component="c",status="200".
  std::map<std::string, uint64_t> requests_, cold_starts_, traps_, deadlines_, kv_, outbound_;
  std::map<std::string, int64_t> instances_;
  std::map<std::string, Histogram> latency_;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json(std::string& out, std::string_view s);
// "2026-11-26T10:00:00.123Z"
std::string now_iso8601();

}  // namespace wink::host
