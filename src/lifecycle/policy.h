// Lifecycle policies of long-lived components: scale to zero, autoscaling
// (step policies on in-flight requests, requests per second, CPU time) and
// quotas. Plain data plus the pure step arithmetic, so every rule is
// unit-tested without instances.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wink::lifecycle {

// starting -> running <-> draining -> standby -> (wake) starting ...; stopped at the end.
enum class State : uint8_t { kStarting, kRunning, kDraining, kStandby, kStopped };
const char* state_name(State s);

// off: never standby. on: each instance goes to standby after idle_timeout
// without a request. idle: the component as a whole goes to standby once every
// instance has been idle for idle_timeout (extra instances leave by the
// autoscaler's cool-down first).
enum class ScaleToZero : uint8_t { kOff, kOn, kIdle };
const char* scale_to_zero_name(ScaleToZero p);
Result<ScaleToZero> parse_scale_to_zero(std::string_view s);

enum class Metric : uint8_t { kInflight, kRps, kCpu };
const char* metric_name(Metric m);
Result<Metric> parse_metric(std::string_view s);

// change: +/- instances; exact: that many instances; percent: +/- % of the
// current count (rounded away from zero, at least one).
enum class Adjustment : uint8_t { kChange, kExact, kPercent };
const char* adjustment_name(Adjustment a);
Result<Adjustment> parse_adjustment(std::string_view s);

// A step applies when lower <= metric < upper.
struct Step {
  double lower = 0;
  double upper = std::numeric_limits<double>::infinity();
  int64_t adjustment = 0;
};

struct StepPolicy {
  static constexpr size_t kMaxSteps = 4;
  std::string name;
  Metric metric = Metric::kInflight;
  Adjustment adjustment = Adjustment::kChange;
  std::vector<Step> steps;  // 1..4, non-overlapping
  // Checks step count, bounds and overlaps; the message says what is wrong.
  Result<void> validate() const;
};

struct ScaleConfig {
  uint32_t min_instances = 0;  // kept running (0: may scale to zero)
  uint32_t max_instances = 4;
  // After a scale-out, further policy scale-outs wait for warmup (new
  // capacity is given time to take load); a scale-in waits for cooldown since
  // the last change.
  std::chrono::milliseconds warmup{0};
  std::chrono::milliseconds cooldown{1000};
  // Empty: capacity follows demand (a request finding every instance busy
  // starts or wakes one, up to max_instances). Policies add capacity ahead of
  // demand and remove it after the cool-down.
  std::vector<StepPolicy> policies;
};

// Metric values of one component at one moment.
struct MetricValues {
  double inflight = 0;  // requests being served + waiting
  double rps = 0;       // requests started in the last second
  double cpu = 0;       // guest CPU time, percent of one core per running instance
};

// Desired instance count from `current` under `config`'s policies (the largest
// any policy asks for), clamped to [min, max]. nullopt: no policy has a step
// for the current values (leave capacity alone).
std::optional<uint32_t> desired_instances(const ScaleConfig& config, uint32_t current,
                                          const MetricValues& values);

struct ComponentPolicy {
  ScaleToZero scale_to_zero = ScaleToZero::kOn;
  std::chrono::milliseconds idle_timeout{1000};  // 10 ms .. 24 h
  // Stateful: standby keeps the instance's memory (captured copy-on-write);
  // stateless: standby discards it and a wake starts from the init snapshot.
  bool stateful = true;
  ScaleConfig scale;
  // Requests wait at most this long for an instance, at most this many at once;
  // beyond: 429 (queue full) or 503 (waited too long), both with Retry-After.
  uint32_t queue_max = 256;
  std::chrono::milliseconds queue_timeout{10'000};
  // Longest a single keep_awake() may postpone standby.
  std::chrono::milliseconds max_keep_awake{60'000};
};

// 0 means unlimited for every field.
struct Quotas {
  uint64_t active_instances = 0;  // starting + running + draining
  uint64_t total_instances = 0;   // active + standby
  uint64_t memory_per_instance = 0;  // bytes: a component's memory_limit must fit
  uint64_t memory_total = 0;         // bytes: memory_limit of active instances + saved state
};

// What a scope (the node, an app) uses, counted as Quotas counts.
struct Usage {
  uint64_t active_instances = 0, total_instances = 0, memory = 0;
};

// What starting instances would add to a scope's Usage.
struct Demand {
  uint64_t active_instances = 0, total_instances = 0, memory = 0;
};

// Starting one instance of a component with `memory_limit`: a new one, or
// (`waking_saved_bytes` set) a standby one, which already counts in the total
// and whose saved state is replaced by its memory limit.
Demand start_demand(uint64_t memory_limit, std::optional<uint64_t> waking_saved_bytes = std::nullopt);

// Admission, the one rule for every start (deploy's min_instances, a request,
// the autoscaler): nullopt when `demand` fits under `quotas` given `used`;
// else the first quota it breaks, e.g. "the node quota of 2 active instances
// (2 in use)". `scope` names the scope ("node", "app"). A zero limit is no
// limit; no sum can overflow.
std::optional<std::string> quota_breach(std::string_view scope, const Quotas& quotas, const Usage& used,
                                        const Demand& demand);

}  // namespace wink::lifecycle
