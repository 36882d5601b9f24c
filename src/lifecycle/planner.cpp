// The autoscaler's decision (see planner.h).
#include "lifecycle/planner.h"

#include <algorithm>

namespace wink::lifecycle {

const char* scale_reason_name(ScaleReason r) {
  switch (r) {
    case ScaleReason::kNoPolicies: return "no step policies";
    case ScaleReason::kAsleep: return "asleep";
    case ScaleReason::kNoStep: return "no step applies";
    case ScaleReason::kAtDesired: return "at the desired count";
    case ScaleReason::kScaleOut: return "scale-out";
    case ScaleReason::kWarmup: return "warm-up";
    case ScaleReason::kScaleIn: return "scale-in";
    case ScaleReason::kCooldown: return "cool-down";
    case ScaleReason::kNoIdle: return "no idle instance";
  }
  return "?";
}

ScalePlan plan_scale(const ScaleConfig& config, const ScaleInputs& in, const ScaleHistory& history,
                     ScaleTime now) {
  ScalePlan plan;
  plan.desired = in.running;
  if (config.policies.empty()) return plan;  // kNoPolicies
  if (in.running == 0 && in.waiting == 0) {
    plan.reason = ScaleReason::kAsleep;
    return plan;
  }
  const std::optional<uint32_t> desired = desired_instances(config, in.running, in.metrics);
  if (!desired) {
    plan.reason = ScaleReason::kNoStep;
    return plan;
  }
  plan.desired = *desired;
  if (*desired > in.running) {
    // Warm-up counts from the last scale-out only once there was one.
    if (history.scaled_once && now - history.last_scale_out < config.warmup) {
      plan.reason = ScaleReason::kWarmup;
      return plan;
    }
    plan.reason = ScaleReason::kScaleOut;
    plan.start = *desired - in.running;
    return plan;
  }
  if (*desired < in.running) {
    if (now - history.last_scale_change < config.cooldown) {
      plan.reason = ScaleReason::kCooldown;
      return plan;
    }
    if (in.idle == 0) {
      plan.reason = ScaleReason::kNoIdle;
      return plan;
    }
    plan.reason = ScaleReason::kScaleIn;
    plan.stop = std::min(in.running - *desired, in.idle);
    return plan;
  }
  plan.reason = ScaleReason::kAtDesired;
  return plan;
}

}  // namespace wink::lifecycle
