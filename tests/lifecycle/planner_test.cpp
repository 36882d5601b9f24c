// The autoscaler's planner on plain values and a manual time axis (planner.h).
#include "lifecycle/planner.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>

namespace wink::lifecycle {
namespace {

using std::chrono::milliseconds;
constexpr double kInf = std::numeric_limits<double>::infinity();
const ScaleTime t0 = ScaleTime(std::chrono::seconds(100));

ScaleConfig scaling(Adjustment adj, std::vector<Step> steps, uint32_t min = 1, uint32_t max = 10) {
  ScaleConfig c;
  c.min_instances = min;
  c.max_instances = max;
  c.warmup = milliseconds(0);
  c.cooldown = milliseconds(0);
  StepPolicy p;
  p.name = "p";
  p.metric = Metric::kInflight;
  p.adjustment = adj;
  p.steps = std::move(steps);
  c.policies = {p};
  return c;
}

ScaleInputs counts(uint32_t running, double inflight, uint32_t idle = 0, uint32_t waiting = 0) {
  ScaleInputs in;
  in.running = running;
  in.idle = idle;
  in.waiting = waiting;
  in.metrics.inflight = inflight;
  return in;
}

TEST(Planner, ScalesOutByAStepPolicy) {
  const ScaleConfig c = scaling(Adjustment::kChange, {{0, 4, 0}, {4, kInf, 2}});
  ScalePlan p = plan_scale(c, counts(1, 5), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kScaleOut);
  EXPECT_EQ(p.desired, 3u);
  EXPECT_EQ(p.start, 2u);
  EXPECT_EQ(p.stop, 0u);
  EXPECT_TRUE(p.scales());
  // From zero: requests waiting for a component with nothing running.
  p = plan_scale(c, counts(0, 6, 0, 6), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kScaleOut);
  EXPECT_EQ(p.start, 2u);
  // Nothing running, nothing waiting: the planner leaves it asleep.
  p = plan_scale(c, counts(0, 0), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kAsleep);
  EXPECT_EQ(p.start + p.stop, 0u);
  // No policies: capacity follows demand, the planner never acts.
  p = plan_scale(ScaleConfig{}, counts(3, 100, 3), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kNoPolicies);
  EXPECT_EQ(p.start + p.stop, 0u);
}

TEST(Planner, WarmupDelaysTheNextScaleOut) {
  ScaleConfig c = scaling(Adjustment::kChange, {{4, kInf, 1}});
  c.warmup = milliseconds(500);
  const ScaleHistory after_out{.scaled_once = true, .last_scale_out = t0, .last_scale_change = t0};
  ScalePlan p = plan_scale(c, counts(2, 9), after_out, t0 + milliseconds(499));
  EXPECT_EQ(p.reason, ScaleReason::kWarmup);
  EXPECT_EQ(p.desired, 3u);
  EXPECT_EQ(p.start, 0u);
  EXPECT_FALSE(p.scales());
  p = plan_scale(c, counts(2, 9), after_out, t0 + milliseconds(500));
  EXPECT_EQ(p.reason, ScaleReason::kScaleOut);
  EXPECT_EQ(p.start, 1u);
  // The first scale-out since the settings were set does not wait.
  p = plan_scale(c, counts(2, 9), {.scaled_once = false, .last_scale_out = t0}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kScaleOut);
  // Warm-up holds back scale-out only: a scale-in right after is a cool-down matter.
  c.cooldown = milliseconds(0);
  c.policies[0].steps = {{0, 1, -1}};
  p = plan_scale(c, counts(3, 0, 3), after_out, t0 + milliseconds(1));
  EXPECT_EQ(p.reason, ScaleReason::kScaleIn);
}

TEST(Planner, CooldownDelaysScaleIn) {
  ScaleConfig c = scaling(Adjustment::kChange, {{0, 1, -1}});
  c.cooldown = milliseconds(1000);
  const ScaleHistory changed{.scaled_once = true, .last_scale_out = t0, .last_scale_change = t0};
  ScalePlan p = plan_scale(c, counts(3, 0, 3), changed, t0 + milliseconds(999));
  EXPECT_EQ(p.reason, ScaleReason::kCooldown);
  EXPECT_EQ(p.desired, 2u);
  EXPECT_EQ(p.stop, 0u);
  p = plan_scale(c, counts(3, 0, 3), changed, t0 + milliseconds(1000));
  EXPECT_EQ(p.reason, ScaleReason::kScaleIn);
  EXPECT_EQ(p.stop, 1u);
  EXPECT_TRUE(p.scales());
  // Cool-down does not hold back a scale-out.
  c.policies[0].steps = {{5, kInf, 1}};
  p = plan_scale(c, counts(3, 8), changed, t0 + milliseconds(1));
  EXPECT_EQ(p.reason, ScaleReason::kScaleOut);
}

TEST(Planner, ClampsToMinAndMax) {
  ScalePlan p = plan_scale(scaling(Adjustment::kExact, {{0, kInf, 50}}, 1, 10), counts(4, 1), {}, t0);
  EXPECT_EQ(p.desired, 10u);
  EXPECT_EQ(p.start, 6u);
  p = plan_scale(scaling(Adjustment::kChange, {{0, kInf, -50}}, 2, 10), counts(6, 1, 6), {}, t0);
  EXPECT_EQ(p.desired, 2u);
  EXPECT_EQ(p.stop, 4u);
  // Already at min: a step asking for fewer changes nothing.
  p = plan_scale(scaling(Adjustment::kChange, {{0, kInf, -1}}, 2, 10), counts(2, 0, 2), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kAtDesired);
  EXPECT_EQ(p.stop, 0u);
  // Already at max: a step asking for more changes nothing.
  p = plan_scale(scaling(Adjustment::kChange, {{0, kInf, 3}}, 1, 10), counts(10, 99), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kAtDesired);
  EXPECT_EQ(p.start, 0u);
}

TEST(Planner, PercentRoundsAwayFromZeroAndMovesAtLeastOne) {
  auto desired = [](int64_t percent, uint32_t running) {
    return plan_scale(scaling(Adjustment::kPercent, {{0, kInf, percent}}, 0, 100), counts(running, 1, running), {},
                      t0)
        .desired;
  };
  EXPECT_EQ(desired(50, 3), 5u);    // +1.5 -> +2
  EXPECT_EQ(desired(-50, 3), 1u);   // -1.5 -> -2
  EXPECT_EQ(desired(10, 2), 3u);    // +0.2 -> +1
  EXPECT_EQ(desired(-10, 2), 1u);   // -0.2 -> -1
  EXPECT_EQ(desired(100, 4), 8u);   // exact: no rounding
  EXPECT_EQ(desired(-100, 4), 0u);
  EXPECT_EQ(desired(0, 4), 4u);     // a zero step is a no-op
}

TEST(Planner, ScaleInTakesOnlyIdleInstances) {
  const ScaleConfig c = scaling(Adjustment::kExact, {{0, 1, 1}});
  ScalePlan p = plan_scale(c, counts(5, 0, 2), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kScaleIn);
  EXPECT_EQ(p.desired, 1u);
  EXPECT_EQ(p.stop, 2u) << "four should go, only two are idle";
  p = plan_scale(c, counts(5, 0, 0), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kNoIdle);
  EXPECT_EQ(p.stop, 0u);
  EXPECT_FALSE(p.scales()) << "nothing left, so the cool-down must not restart";
  p = plan_scale(c, counts(5, 0, 5), {}, t0);
  EXPECT_EQ(p.stop, 4u) << "never more than the policies ask for";
}

TEST(Planner, MetricInANoOpStepOrBetweenStepsChangesNothing) {
  const ScaleConfig c = scaling(Adjustment::kChange, {{0, 2, -1}, {2, 8, 0}, {10, kInf, 2}});
  ScalePlan p = plan_scale(c, counts(3, 5, 3), {}, t0);
  EXPECT_EQ(p.reason, ScaleReason::kAtDesired);
  EXPECT_EQ(p.desired, 3u);
  EXPECT_EQ(p.start + p.stop, 0u);
  p = plan_scale(c, counts(3, 9, 3), {}, t0);  // in the gap [8, 10)
  EXPECT_EQ(p.reason, ScaleReason::kNoStep);
  EXPECT_EQ(p.desired, 3u);
  EXPECT_EQ(p.start + p.stop, 0u);
  ScaleInputs nan = counts(3, std::nan(""), 3);
  EXPECT_EQ(plan_scale(c, nan, {}, t0).reason, ScaleReason::kNoStep);
}

TEST(Planner, StepBoundsAreLowerInclusiveUpperExclusive) {
  const ScaleConfig c = scaling(Adjustment::kChange, {{0, 10, -1}, {10, kInf, 1}});
  EXPECT_EQ(plan_scale(c, counts(3, 10, 3), {}, t0).desired, 4u);
  EXPECT_EQ(plan_scale(c, counts(3, std::nextafter(10.0, 0.0), 3), {}, t0).desired, 2u);
  EXPECT_EQ(plan_scale(c, counts(3, 0, 3), {}, t0).desired, 2u);
  EXPECT_EQ(plan_scale(c, counts(3, -0.5, 3), {}, t0).reason, ScaleReason::kNoStep);
}

TEST(Planner, MaxTenThousandInstances) {
  const ScaleConfig c = scaling(Adjustment::kExact, {{0, kInf, 20000}}, 1, 10000);
  ScalePlan p = plan_scale(c, counts(1, 1), {}, t0);
  EXPECT_EQ(p.desired, 10000u);
  EXPECT_EQ(p.start, 9999u);
  p = plan_scale(scaling(Adjustment::kPercent, {{0, kInf, 100}}, 1, 10000), counts(9999, 1), {}, t0);
  EXPECT_EQ(p.desired, 10000u);
  EXPECT_EQ(p.start, 1u);
  p = plan_scale(scaling(Adjustment::kExact, {{0, kInf, 0}}, 0, 10000), counts(10000, 0, 10000), {}, t0);
  EXPECT_EQ(p.desired, 0u);
  EXPECT_EQ(p.stop, 10000u);
}

TEST(Planner, HugeMetricsAndAdjustmentsDoNotOverflow) {
  // Metrics far beyond any real load still land in the open-ended step.
  const ScaleConfig c = scaling(Adjustment::kChange, {{10, kInf, 1}}, 1, 10000);
  EXPECT_EQ(plan_scale(c, counts(5, 1e300), {}, t0).desired, 6u);
  EXPECT_EQ(plan_scale(c, counts(5, DBL_MAX), {}, t0).desired, 6u);
  ScaleInputs rps = counts(5, 0);
  rps.metrics.rps = DBL_MAX;
  ScaleConfig by_rps = c;
  by_rps.policies[0].metric = Metric::kRps;
  EXPECT_EQ(plan_scale(by_rps, rps, {}, t0).desired, 6u);
  // Adjustments at the ends of int64 (any integer a manifest or the API
  // accepts) clamp to [min, max] instead of wrapping.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (Adjustment adj : {Adjustment::kChange, Adjustment::kPercent, Adjustment::kExact}) {
    SCOPED_TRACE(adjustment_name(adj));
    EXPECT_EQ(plan_scale(scaling(adj, {{0, kInf, kMax}}, 1, 10000), counts(10000, 1), {}, t0).desired, 10000u);
    EXPECT_EQ(plan_scale(scaling(adj, {{0, kInf, kMax}}, 1, 10000), counts(3, 1), {}, t0).desired, 10000u);
    if (adj != Adjustment::kExact) {
      EXPECT_EQ(plan_scale(scaling(adj, {{0, kInf, kMin}}, 2, 10000), counts(10000, 1, 10000), {}, t0).desired, 2u);
    }
  }
}

}  // namespace
}  // namespace wink::lifecycle
