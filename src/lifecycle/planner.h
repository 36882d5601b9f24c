// The autoscaler's planner: what one component's step policies ask for at one
// moment, as a pure function of plain values (no locks, no Node, no clock
// reads), so every rule is unit-tested on a manual time axis. Node::tick
// gathers the inputs under its lock and carries the plan out (claims starts
// through admission, drains the least recently used idle instances).
//
//   ScalePlan p = plan_scale(policy.scale, {.running = 2, .idle = 1, .metrics = m}, history, now);
//   p.start  // instances to start or wake (each still subject to admission)
//   p.stop   // idle instances to put in standby (stateful) or stop
#pragma once

#include <chrono>
#include <cstdint>

#include "lifecycle/policy.h"

namespace wink::lifecycle {

using ScaleTime = std::chrono::steady_clock::time_point;

// A component's counts and metrics at one moment.
struct ScaleInputs {
  uint32_t running = 0;  // starting + running: the capacity the policies adjust
  uint32_t waiting = 0;  // requests queued for an instance
  uint32_t idle = 0;     // running, not serving, not claimed, not kept awake: what a scale-in may remove
  MetricValues metrics;
};

// When the component last scaled (Node keeps these; set_scale resets scaled_once).
struct ScaleHistory {
  bool scaled_once = false;  // a scale-out happened since the settings were set
  ScaleTime last_scale_out{};
  ScaleTime last_scale_change{};  // last scale-out or scale-in
};

enum class ScaleReason : uint8_t {
  kNoPolicies,  // capacity follows demand only
  kAsleep,      // nothing running and nothing waiting: the next request wakes it
  kNoStep,      // no policy has a step for the current metric values
  kAtDesired,   // the policies ask for the current count
  kScaleOut,
  kWarmup,      // a scale-out is due but the last one is still warming up
  kScaleIn,
  kCooldown,    // a scale-in is due but the last change is too recent
  kNoIdle,      // a scale-in is due but every instance is busy or kept awake
};
const char* scale_reason_name(ScaleReason r);

struct ScalePlan {
  ScaleReason reason = ScaleReason::kNoPolicies;
  // What the policies ask for, clamped to [min, max]; the current count when
  // they ask for nothing.
  uint32_t desired = 0;
  uint32_t start = 0;  // kScaleOut: desired - running
  uint32_t stop = 0;   // kScaleIn: running - desired, at most the idle instances
  // Whether carrying the plan out is a scale event (resets warm-up /
  // cool-down): true exactly for kScaleOut and kScaleIn.
  bool scales() const { return reason == ScaleReason::kScaleOut || reason == ScaleReason::kScaleIn; }
};

ScalePlan plan_scale(const ScaleConfig& config, const ScaleInputs& in, const ScaleHistory& history,
                     ScaleTime now);

}  // namespace wink::lifecycle
