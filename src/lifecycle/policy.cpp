// Policy names and the step-scaling arithmetic (see policy.h).
#include "lifecycle/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/bytes_text.h"

namespace wink::lifecycle {

const char* state_name(State s) {
  switch (s) {
    case State::kStarting: return "starting";
    case State::kRunning: return "running";
    case State::kDraining: return "draining";
    case State::kStandby: return "standby";
    case State::kStopped: return "stopped";
  }
  return "?";
}

const char* scale_to_zero_name(ScaleToZero p) {
  switch (p) {
    case ScaleToZero::kOff: return "off";
    case ScaleToZero::kOn: return "on";
    case ScaleToZero::kIdle: return "idle";
  }
  return "?";
}

Result<ScaleToZero> parse_scale_to_zero(std::string_view s) {
  if (s == "off") return ScaleToZero::kOff;
  if (s == "on") return ScaleToZero::kOn;
  if (s == "idle") return ScaleToZero::kIdle;
  return make_error("expected \"off\", \"on\" or \"idle\", got \"" + std::string(s) + "\"");
}

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kInflight: return "inflight";
    case Metric::kRps: return "rps";
    case Metric::kCpu: return "cpu";
  }
  return "?";
}

Result<Metric> parse_metric(std::string_view s) {
  if (s == "inflight") return Metric::kInflight;
  if (s == "rps") return Metric::kRps;
  if (s == "cpu") return Metric::kCpu;
  return make_error("expected metric \"inflight\", \"rps\" or \"cpu\", got \"" + std::string(s) + "\"");
}

const char* adjustment_name(Adjustment a) {
  switch (a) {
    case Adjustment::kChange: return "change";
    case Adjustment::kExact: return "exact";
    case Adjustment::kPercent: return "percent";
  }
  return "?";
}

Result<Adjustment> parse_adjustment(std::string_view s) {
  if (s == "change") return Adjustment::kChange;
  if (s == "exact") return Adjustment::kExact;
  if (s == "percent") return Adjustment::kPercent;
  return make_error("expected adjustment \"change\", \"exact\" or \"percent\", got \"" + std::string(s) + "\"");
}

Result<void> StepPolicy::validate() const {
  if (steps.empty()) return make_error("policy \"" + name + "\" has no steps");
  if (steps.size() > kMaxSteps) {
    return make_error("policy \"" + name + "\" has " + std::to_string(steps.size()) + " steps (at most 4)");
  }
  std::vector<Step> sorted = steps;
  std::sort(sorted.begin(), sorted.end(), [](const Step& a, const Step& b) { return a.lower < b.lower; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!(sorted[i].lower < sorted[i].upper)) {
      return make_error("policy \"" + name + "\": a step's lower bound must be below its upper bound");
    }
    if (i > 0 && sorted[i].lower < sorted[i - 1].upper) {
      return make_error("policy \"" + name + "\": steps overlap");
    }
    if (adjustment == Adjustment::kExact && sorted[i].adjustment < 0) {
      return make_error("policy \"" + name + "\": an exact adjustment cannot be negative");
    }
  }
  return {};
}

std::optional<uint32_t> desired_instances(const ScaleConfig& config, uint32_t current,
                                          const MetricValues& values) {
  std::optional<int64_t> best;
  for (const StepPolicy& p : config.policies) {
    double v = p.metric == Metric::kInflight ? values.inflight
               : p.metric == Metric::kRps    ? values.rps
                                             : values.cpu;
    for (const Step& s : p.steps) {
      if (!(v >= s.lower && v < s.upper)) continue;
      // Adjustments are any int64 from a manifest or the API; bounding them
      // (far beyond any uint32 count) keeps the sums and the double -> int
      // conversion defined. The result is clamped to [min, max] below anyway.
      constexpr int64_t kBound = int64_t{1} << 40;
      const int64_t adj = std::clamp<int64_t>(s.adjustment, -kBound, kBound);
      int64_t want = current;
      switch (p.adjustment) {
        case Adjustment::kChange: want = int64_t{current} + adj; break;
        case Adjustment::kExact: want = adj; break;
        case Adjustment::kPercent: {
          double delta = current * static_cast<double>(adj) / 100.0;
          delta = std::clamp<double>(delta, -double(kBound), double(kBound));
          int64_t d = static_cast<int64_t>(delta >= 0 ? std::ceil(delta) : std::floor(delta));
          if (d == 0 && s.adjustment != 0) d = s.adjustment > 0 ? 1 : -1;
          want = int64_t{current} + d;
          break;
        }
      }
      best = best ? std::max(*best, want) : want;
      break;
    }
  }
  if (!best) return std::nullopt;
  int64_t clamped = std::clamp<int64_t>(*best, config.min_instances, std::max(config.min_instances, config.max_instances));
  return static_cast<uint32_t>(clamped);
}

namespace {

// used + add > limit, without overflow.
bool exceeds(uint64_t used, uint64_t add, uint64_t limit) {
  return used > limit || add > limit - used;
}

}  // namespace

Demand start_demand(uint64_t memory_limit, std::optional<uint64_t> waking_saved_bytes) {
  Demand d;
  d.active_instances = 1;
  d.total_instances = waking_saved_bytes ? 0 : 1;
  d.memory = memory_limit - (waking_saved_bytes ? std::min(*waking_saved_bytes, memory_limit) : 0);
  return d;
}

std::optional<std::string> quota_breach(std::string_view scope, const Quotas& q, const Usage& u,
                                        const Demand& d) {
  const std::string name(scope);
  if (q.active_instances && d.active_instances && exceeds(u.active_instances, d.active_instances, q.active_instances)) {
    return "the " + name + " quota of " + std::to_string(q.active_instances) + " active instances (" +
           std::to_string(u.active_instances) + " in use)";
  }
  if (q.total_instances && d.total_instances && exceeds(u.total_instances, d.total_instances, q.total_instances)) {
    return "the " + name + " quota of " + std::to_string(q.total_instances) + " instances (" +
           std::to_string(u.total_instances) + " in use)";
  }
  if (q.memory_total && d.memory && exceeds(u.memory, d.memory, q.memory_total)) {
    return "the " + name + " memory quota of " + bytes_text(q.memory_total) + " (" + bytes_text(u.memory) +
           " in use)";
  }
  return std::nullopt;
}

}  // namespace wink::lifecycle
