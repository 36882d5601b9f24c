// host::Metrics: the per-request series recorded lock-free through a
// Component handle from many threads add up exactly in the rendered text.
#include "host/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace wink::host {
namespace {

uint64_t sample(const std::string& text, const std::string& series) {
  size_t at = text.find(series + " ");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(text.substr(at + series.size() + 1));
}

TEST(MetricsTest, ShardedCountersFromManyThreadsAddUpOnRender) {
  Metrics m;
  Metrics::Component& c = m.component("shop", "cart");
  EXPECT_EQ(&c, &m.component("shop", "cart"));  // one handle per label set
  constexpr int kThreads = 24, kPerThread = 5000;
  // 12 distinct statuses: more than a shard has slots, so some take the map.
  const std::vector<int> statuses = {200, 201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 503};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (m.instances_add(c, +1) == 0) m.cold_start(c);
        m.request(c, statuses[static_cast<size_t>(t + i) % statuses.size()], 0.00002, 0.003);
        m.instances_add(c, -1);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.render();
  const std::string l = "app=\"shop\",component=\"cart\"";
  uint64_t total = 0;
  for (int s : statuses) {
    uint64_t n = sample(text, "wink_requests_total{" + l + ",status=\"" + std::to_string(s) + "\"}");
    ASSERT_NE(n, UINT64_MAX) << s << "\n" << text;
    EXPECT_EQ(n, uint64_t{kThreads} * kPerThread / statuses.size()) << s;
    total += n;
  }
  EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
  // Each status appears once, whichever shards it was counted in.
  EXPECT_EQ(text.find("wink_requests_total{" + l + ",status=\"200\"}"),
            text.rfind("wink_requests_total{" + l + ",status=\"200\"}"));
  const std::string inst = l + ",phase=\"instantiate\"", exec = l + ",phase=\"execute\"";
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_count{" + inst + "}"), total);
  // 20 us: not in the 10 us bucket, in 25 us and every later one (cumulative).
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_bucket{" + inst + ",le=\"1e-05\"}"), 0u);
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_bucket{" + inst + ",le=\"2.5e-05\"}"), total);
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_bucket{" + exec + ",le=\"0.0025\"}"), 0u);
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_bucket{" + exec + ",le=\"0.005\"}"), total);
  EXPECT_EQ(sample(text, "wink_request_duration_seconds_bucket{" + exec + ",le=\"+Inf\"}"), total);
  size_t sum_at = text.find("wink_request_duration_seconds_sum{" + exec + "} ");
  ASSERT_NE(sum_at, std::string::npos);
  double sum = std::stod(text.substr(text.find("} ", sum_at) + 2));
  EXPECT_NEAR(sum, 0.003 * static_cast<double>(total), 1e-6 * static_cast<double>(total));
  EXPECT_EQ(sample(text, "wink_instances{" + l + ",state=\"running\"}"), 0u);
  uint64_t cold = sample(text, "wink_cold_starts_total{" + l + "}");
  EXPECT_GE(cold, 1u);
  EXPECT_LE(cold, total);
}

TEST(MetricsTest, NamesAreEscapedAndSeriesSortedByLabels) {
  Metrics m;
  m.request("b\"app", "c\\1", 200, 0.001, 0.001);
  m.request("a", "x", 404, 0.001, 0.001);
  std::string text = m.render();
  size_t first = text.find("wink_requests_total{app=\"a\",component=\"x\",status=\"404\"} 1");
  size_t second = text.find("wink_requests_total{app=\"b\\\"app\",component=\"c\\\\1\",status=\"200\"} 1");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
}

}  // namespace
}  // namespace wink::host
