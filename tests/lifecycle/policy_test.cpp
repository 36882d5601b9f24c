// Step-scaling arithmetic and the manifest's lifecycle fields.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "lifecycle/app.h"
#include "lifecycle/policy.h"
#include "manifest/manifest.h"
#include "support/wink_process.h"

namespace wink::lifecycle {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

ScaleConfig config(Adjustment adj, std::vector<Step> steps, Metric metric = Metric::kInflight) {
  ScaleConfig c;
  c.min_instances = 1;
  c.max_instances = 10;
  StepPolicy p;
  p.name = "p";
  p.metric = metric;
  p.adjustment = adj;
  p.steps = std::move(steps);
  c.policies = {p};
  return c;
}

// Admission: the one quota rule for deploy, requests and the autoscaler.
TEST(Admission, BoundariesOfEveryQuota) {
  Quotas q;
  q.active_instances = 2;
  q.total_instances = 3;
  q.memory_total = 64u << 20;
  const Demand one = start_demand(16u << 20);
  EXPECT_EQ(one.active_instances, 1u);
  EXPECT_EQ(one.total_instances, 1u);
  EXPECT_EQ(one.memory, 16u << 20);
  // Exactly at each limit fits; one more does not, and the reason names it.
  EXPECT_FALSE(quota_breach("node", q, Usage{1, 2, 48u << 20}, one));
  EXPECT_EQ(quota_breach("node", q, Usage{2, 2, 0}, one).value_or(""),
            "the node quota of 2 active instances (2 in use)");
  EXPECT_EQ(quota_breach("app", q, Usage{0, 3, 0}, one).value_or(""), "the app quota of 3 instances (3 in use)");
  EXPECT_EQ(quota_breach("node", q, Usage{0, 0, (48u << 20) + 1}, one).value_or(""),
            "the node memory quota of 64.0 MiB (48.0 MiB in use)");
  // Waking a standby instance: already counted in the total; its saved state
  // is replaced by its memory limit.
  const Demand wake = start_demand(16u << 20, 4u << 20);
  EXPECT_EQ(wake.total_instances, 0u);
  EXPECT_EQ(wake.memory, 12u << 20);
  EXPECT_FALSE(quota_breach("node", q, Usage{1, 3, 52u << 20}, wake));
  EXPECT_EQ(start_demand(16u << 20, 32u << 20).memory, 0u);  // saved state larger than the limit
  // Zero is no limit; usage above a lowered quota and sums near 2^64 do not wrap.
  EXPECT_FALSE(quota_breach("node", Quotas{}, Usage{UINT64_MAX, UINT64_MAX, UINT64_MAX}, one));
  EXPECT_TRUE(quota_breach("node", q, Usage{5, 0, 0}, one));
  Quotas mem;
  mem.memory_total = UINT64_MAX - 1;
  EXPECT_TRUE(quota_breach("node", mem, Usage{0, 0, UINT64_MAX - 2}, Demand{1, 1, 2}));
  EXPECT_TRUE(quota_breach("node", mem, Usage{0, 0, 2}, Demand{1, 1, UINT64_MAX}));
  EXPECT_FALSE(quota_breach("node", mem, Usage{0, 0, 1}, Demand{1, 1, UINT64_MAX - 2}));
  // Nothing demanded always fits (deploy with min_instances = 0).
  EXPECT_FALSE(quota_breach("node", q, Usage{9, 9, UINT64_MAX}, Demand{}));
}

TEST(StepPolicy, ChangeExactPercent) {
  MetricValues v;
  v.inflight = 12;
  EXPECT_EQ(desired_instances(config(Adjustment::kChange, {{0, 5, -1}, {10, kInf, 3}}), 2, v), 5u);
  EXPECT_EQ(desired_instances(config(Adjustment::kExact, {{10, kInf, 7}}), 2, v), 7u);
  EXPECT_EQ(desired_instances(config(Adjustment::kPercent, {{10, kInf, 50}}), 4, v), 6u);
  EXPECT_EQ(desired_instances(config(Adjustment::kPercent, {{10, kInf, 10}}), 2, v), 3u) << "at least one";
  // Clamped to [min, max].
  EXPECT_EQ(desired_instances(config(Adjustment::kExact, {{10, kInf, 50}}), 2, v), 10u);
  EXPECT_EQ(desired_instances(config(Adjustment::kChange, {{10, kInf, -50}}), 2, v), 1u);
  // No step for the value: leave capacity alone.
  v.inflight = 7;
  EXPECT_FALSE(desired_instances(config(Adjustment::kChange, {{0, 5, -1}, {10, kInf, 3}}), 2, v));
}

TEST(StepPolicy, MetricsRpsAndCpu) {
  MetricValues v;
  v.rps = 250;
  v.cpu = 90;
  EXPECT_EQ(desired_instances(config(Adjustment::kChange, {{200, kInf, 2}}, Metric::kRps), 1, v), 3u);
  EXPECT_EQ(desired_instances(config(Adjustment::kChange, {{80, kInf, 1}}, Metric::kCpu), 1, v), 2u);
}

TEST(StepPolicy, Validation) {
  StepPolicy p;
  p.name = "x";
  EXPECT_FALSE(p.validate().ok());
  p.steps = {{0, 1, 1}, {1, 2, 1}, {2, 3, 1}, {3, 4, 1}, {4, 5, 1}};
  EXPECT_NE(p.validate().error().message.find("at most 4"), std::string::npos);
  p.steps = {{0, 2, 1}, {1, 3, 1}};
  EXPECT_NE(p.validate().error().message.find("overlap"), std::string::npos);
  p.steps = {{0, 2, 1}, {2, kInf, 2}};
  EXPECT_TRUE(p.validate().ok());
}

std::filesystem::path write_manifest(const std::string& text) {
  static const auto dir = test::scratch_dir("life-manifest");
  std::ofstream(dir / "m.wasm") << "x";
  std::ofstream(dir / "wink.toml") << text;
  return dir / "wink.toml";
}

TEST(Manifest, ReactorLifecycleFields) {
  auto m = manifest::load(write_manifest(R"(
[app]
name = "a"
[[route]]
path = "/..."
component = "c"
[component.c]
source = "m.wasm"
executor = "reactor"
scale_to_zero = "idle"
idle_timeout = "10ms"
stateful = false
min_instances = 1
max_instances = 8
scale_warmup = "20ms"
scale_cooldown = "2s"
queue = 5
queue_timeout = "250ms"
scale_policies = [
  { name = "burst", metric = "inflight", adjustment = "change", steps = [ { lower = 4, adjustment = 2 } ] },
  { metric = "cpu", adjustment = "percent", steps = [ { lower = 0, upper = 20, adjustment = -50 }, { lower = 80, adjustment = 100 } ] },
]
)"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& c = m->components[0];
  EXPECT_EQ(c.executor, manifest::Executor::kReactor);
  EXPECT_EQ(c.entrypoint, "wink_handle");
  ComponentPolicy p = policy_from(c.lifecycle);
  EXPECT_EQ(p.scale_to_zero, ScaleToZero::kIdle);
  EXPECT_EQ(p.idle_timeout.count(), 10);
  EXPECT_FALSE(p.stateful);
  EXPECT_EQ(p.scale.min_instances, 1u);
  EXPECT_EQ(p.scale.max_instances, 8u);
  EXPECT_EQ(p.scale.warmup.count(), 20);
  EXPECT_EQ(p.scale.cooldown.count(), 2000);
  EXPECT_EQ(p.queue_max, 5u);
  EXPECT_EQ(p.queue_timeout.count(), 250);
  ASSERT_EQ(p.scale.policies.size(), 2u);
  EXPECT_EQ(p.scale.policies[0].name, "burst");
  EXPECT_TRUE(std::isinf(p.scale.policies[0].steps[0].upper));
  EXPECT_EQ(p.scale.policies[1].name, "cpu");
  EXPECT_EQ(p.scale.policies[1].adjustment, Adjustment::kPercent);
  for (const auto& sp : p.scale.policies) EXPECT_TRUE(sp.validate().ok());
}

TEST(Manifest, LifecycleFieldsAreRefusedClearly) {
  auto m = manifest::load(write_manifest(R"(
[app]
name = "a"
[[route]]
path = "/"
component = "c"
[component.c]
source = "m.wasm"
idle_timeout = "1s"
)"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("idle_timeout: only meaningful with executor = \"reactor\""), std::string::npos)
      << m.error().message;
  m = manifest::load(write_manifest(R"(
[app]
name = "a"
[[route]]
path = "/"
component = "c"
[component.c]
source = "m.wasm"
executor = "reactor"
idle_timeout = "5ms"
scale_to_zero = "sometimes"
min_instances = 3
max_instances = 2
scale_policies = [ { metric = "memory", steps = [] } ]
)"));
  ASSERT_FALSE(m.ok());
  const std::string& e = m.error().message;
  EXPECT_NE(e.find("idle_timeout: must be between 10ms and 24h"), std::string::npos) << e;
  EXPECT_NE(e.find("scale_to_zero: expected \"off\", \"on\" or \"idle\""), std::string::npos) << e;
  EXPECT_NE(e.find("min_instances: exceeds max_instances"), std::string::npos) << e;
  EXPECT_NE(e.find("metric: expected \"inflight\", \"rps\" or \"cpu\""), std::string::npos) << e;
  EXPECT_NE(e.find("steps: expected 1 to 4 steps"), std::string::npos) << e;
}

}  // namespace
}  // namespace wink::lifecycle
