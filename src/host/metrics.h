// Operator metrics in Prometheus text format (exposition format 0.0.4),
// collected in-process and rendered on GET /metrics. Every series is listed
// in docs/operations.md.
//
// The per-request series (requests, latency, cold starts, running instances)
// go through a Component handle looked up once when an app loads: updates are
// relaxed atomic adds on counters sharded by thread (no lock, no label
// strings), summed when the text is rendered. Rarer series (traps, key-value
// and outbound calls) take the registry's mutex.
//
//   host::Metrics::Component& series = metrics.component("shop", "cart");   // at load
//   metrics.request(series, 200, instantiate_s, execute_s);                 // per request
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace wink::host {

class Metrics {
 public:
  static constexpr std::array<double, 16> kBuckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,     0.025,   0.05,   0.1,     0.5,    1.0,   5.0};

  // The per-request series of one (app, component); lives as long as the Metrics.
  class Component {
   public:
    Component(const Component&) = delete;
    Component& operator=(const Component&) = delete;

   private:
    friend class Metrics;
    static constexpr size_t kShards = 16;       // threads spread over these
    static constexpr size_t kStatusSlots = 8;   // distinct statuses per shard; more go to the map
    struct Histogram {
      std::array<std::atomic<uint64_t>, kBuckets.size() + 1> counts{};  // per bucket, last: +Inf
      std::atomic<uint64_t> sum_ns{0};
      void observe(double seconds);
    };
    struct alignas(64) Shard {
      std::array<std::atomic<uint32_t>, kStatusSlots> status{};  // 0: slot free
      std::array<std::atomic<uint64_t>, kStatusSlots> count{};
      Histogram instantiate, execute;
      std::atomic<uint64_t> cold_starts{0};
      std::atomic<uint64_t> made_ahead{0};
    };
    explicit Component(std::string labels) : labels(std::move(labels)) {}
    const std::string labels;  // app="a",component="c"
    std::atomic<int64_t> instances{0};
    std::array<Shard, kShards> shards;
  };

  // The handle for (app, component), created on first use.
  Component& component(std::string_view app, std::string_view component);

  // One finished request. `phase` durations are in seconds.
  void request(Component& c, int status, double instantiate_s, double execute_s);
  void cold_start(Component& c);
  // A request served by an instance made ahead of it (docs/wagi.md).
  void made_ahead(Component& c);
  // Instances currently executing (+1 when created, -1 when freed).
  // Returns the count before the change.
  int64_t instances_add(Component& c, int64_t delta);

  // The same by name (a lookup under the registry's mutex first).
  void request(std::string_view app, std::string_view component, int status,
               double instantiate_s, double execute_s);
  void cold_start(std::string_view app, std::string_view component);
  void trap(std::string_view app, std::string_view component, std::string_view kind);
  void deadline_overrun(std::string_view app, std::string_view component);
  int64_t instances_add(std::string_view app, std::string_view component, int64_t delta);
  void kv(std::string_view store, std::string_view op, std::string_view result);
  void outbound(std::string_view app, std::string_view component, std::string_view result);
  // Which compiled code serves the component's new instances: "quick" (-O0,
  // while its optimized artifact is built) or "optimized".
  void set_tier(std::string_view app, std::string_view component, std::string_view tier);

  // The whole registry as Prometheus text, plus the runtime's memory pool.
  std::string render() const;

 private:
  struct Histogram {  // summed over shards, cumulative buckets as rendered
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  // Keyed by the rendered label set, e.g. app="a",component="c",status="200".
  // requests_: only statuses a component's shards had no slot for.
  std::map<std::string, uint64_t> requests_, traps_, deadlines_, kv_, outbound_;
  std::map<std::string, std::string> tiers_;  // app="a",component="c" -> tier
  std::map<std::string, std::unique_ptr<Component>, std::less<>> components_;  // by labels
};

// Appends `s` as a JSON string literal (quotes included).
void append_json(std::string& out, std::string_view s);
// "2026-11-26T10:00:00.123Z"
std::string now_iso8601();

}  // namespace wink::host
