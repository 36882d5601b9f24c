// Long-lived instances with an injected clock: idle -> standby at the timeout,
// state kept across standby (stateful) or discarded (stateless), burst scale
// out and in, quota queue with 429/503, deploy refused over a quota, the
// guest's opt-out of sleep, standby releasing the memory slot, and lifecycle
// log lines written with the node lock free.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "engine/snapshot.h"
#include "lifecycle/node.h"
#include "lifecycle/reactor_guest_fixture.h"
#include "host/reactor.h"
#include "runtime/runtime.h"

namespace wink::lifecycle {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A step policy on in-flight requests: one instance when idle, four as soon
// as one request is in flight.
StepPolicy burst_to_four() {
  StepPolicy p;
  p.name = "burst";
  p.metric = Metric::kInflight;
  p.adjustment = Adjustment::kExact;
  p.steps = {{0, 1, 1}, {1, std::numeric_limits<double>::infinity(), 4}};
  return p;
}

class LifecycleTest : public ReactorGuestFixture<LifecycleTest> {
 public:
  static constexpr const char* kGuest = "life_state";

 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>();
  }

  std::unique_ptr<Node> make_node(Quotas quotas = {}) {
    NodeOptions o;
    o.clock = clock_;
    o.background = false;
    o.quotas = quotas;
    return std::make_unique<Node>(o);
  }

  ComponentSpec spec(const std::string& app = "app", const std::string& comp = "c") {
    ComponentSpec s;
    s.app = app;
    s.component = comp;
    s.init = *init_;
    s.wasi = *wasi_;
    s.memory_limit_bytes = 16 << 20;
    s.limits.max_memory_pages = 256;
    s.limits.deadline = std::chrono::seconds(10);
    s.policy.idle_timeout = milliseconds(100);
    s.policy.scale.max_instances = 1;
    return s;
  }

  static std::vector<std::string> vars(const std::string& query, const std::string& method = "GET") {
    return {"REQUEST_METHOD=" + method, "QUERY_STRING=" + query};
  }

  static CallResult get(Node& node, Node::Component& c, const std::string& query = "", std::string_view body = {}) {
    auto v = vars(query, body.empty() ? "GET" : "POST");
    return node.call(c, v, body);
  }

  static long count_of(const CallResult& r) {
    auto pos = r.out.find("count=");
    return pos == std::string::npos ? -1 : std::atol(r.out.c_str() + pos + 6);
  }

  static State state_of(const Node& node, size_t k = 0) { return node.instances().at(k).state; }

  void advance(milliseconds d) { clock_->advance(d); }

  std::shared_ptr<ManualClock> clock_;
};

TEST_F(LifecycleTest, RequestReadsVariablesBodyAndWritesCgiResponse) {
  auto node = make_node();
  auto c = node->deploy(spec());
  ASSERT_TRUE(c.ok()) << c.error().message;
  CallResult r = get(*node, **c, "x=1", "hello");
  ASSERT_EQ(r.rejected, 0) << r.reason;
  EXPECT_TRUE(r.outcome.ok());
  EXPECT_NE(r.out.find("Content-Type: text/plain"), std::string::npos);
  EXPECT_NE(r.out.find("method=POST body=hello"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "request 1\n");
  EXPECT_TRUE(r.woke);  // the first request starts the instance (min 0)
  // Same instance, state kept, stdin swapped per request.
  r = get(*node, **c, "", "second");
  EXPECT_NE(r.out.find("count=2 standbys=0 method=POST body=second"), std::string::npos) << r.out;
  EXPECT_FALSE(r.woke);
}

TEST_F(LifecycleTest, IdleGoesToStandbyExactlyAtTheTimeoutAndReleasesTheSlot) {
  auto node = make_node();
  auto c = node->deploy(spec());
  ASSERT_TRUE(c.ok());
  const auto slots_before = runtime::pool_stats().slots_in_use;
  get(*node, **c);
  EXPECT_EQ(state_of(*node), State::kRunning);
  EXPECT_EQ(runtime::pool_stats().slots_in_use, slots_before + 1);
  advance(milliseconds(99));
  auto next = node->tick();
  EXPECT_EQ(state_of(*node), State::kRunning);
  EXPECT_EQ(next, clock_->now() + milliseconds(1));  // the timer is due at exactly 100 ms
  advance(milliseconds(1));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kStandby);
  EXPECT_EQ(runtime::pool_stats().slots_in_use, slots_before);  // memory slot released
  auto info = node->instances().at(0);
  EXPECT_GT(info.memory_bytes, 0u);  // saved state only
  EXPECT_LT(info.memory_bytes, 1u << 20);
  auto quotas = node->quotas();
  EXPECT_EQ(quotas[0].used.active_instances, 0u);
  EXPECT_EQ(quotas[0].used.total_instances, 1u);
}

TEST_F(LifecycleTest, StatefulCounterSurvivesStandby) {
  auto node = make_node();
  auto c = node->deploy(spec());
  ASSERT_TRUE(c.ok());
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(count_of(get(*node, **c)), i);
  get(*node, **c, "grow=512");  // half a MiB of heap that must come back too
  advance(milliseconds(100));
  node->tick();
  ASSERT_EQ(state_of(*node), State::kStandby);
  CallResult r = get(*node, **c);
  EXPECT_TRUE(r.woke);
  EXPECT_EQ(count_of(r), 5) << r.out;
  EXPECT_NE(r.out.find("standbys=1"), std::string::npos) << "before_standby ran once: " << r.out;
  EXPECT_EQ(node->instances().at(0).wakes, 2u);
  // And again: standby twice in a row keeps the newest state.
  advance(milliseconds(100));
  node->tick();
  EXPECT_EQ(count_of(get(*node, **c)), 6);
}

TEST_F(LifecycleTest, StatelessStandbyDiscardsState) {
  auto node = make_node();
  auto s = spec();
  s.policy.stateful = false;
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  get(*node, **c);
  EXPECT_EQ(count_of(get(*node, **c)), 2);
  advance(milliseconds(100));
  node->tick();
  ASSERT_EQ(state_of(*node), State::kStandby);
  EXPECT_EQ(node->instances().at(0).memory_bytes, 0u);
  CallResult r = get(*node, **c);
  EXPECT_TRUE(r.woke);
  EXPECT_EQ(count_of(r), 1) << "a stateless wake starts from the init snapshot";
}

TEST_F(LifecycleTest, ScaleToZeroOffNeverSleepsAndMinInstancesStayUp) {
  auto node = make_node();
  auto s = spec();
  s.policy.scale_to_zero = ScaleToZero::kOff;
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  get(*node, **c);
  advance(milliseconds(10'000));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kRunning);

  auto s2 = spec("app", "warm");
  s2.policy.scale.min_instances = 1;
  auto c2 = node->deploy(s2);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(node->instances().size(), 2u);
  EXPECT_EQ(state_of(*node, 1), State::kRunning);  // started at deploy
  advance(milliseconds(10'000));
  node->tick();
  EXPECT_EQ(state_of(*node, 1), State::kRunning);  // never below min
}

TEST_F(LifecycleTest, GuestCanOptOutOfSleepAndIsToldBeforeStandby) {
  auto node = make_node();
  auto c = node->deploy(spec());
  ASSERT_TRUE(c.ok());
  get(*node, **c, "keep=500");  // background work: stay up 500 ms
  advance(milliseconds(100));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kRunning);
  EXPECT_TRUE(node->instances().at(0).keep_awake);
  advance(milliseconds(399));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kRunning);
  advance(milliseconds(1));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kStandby);

  // before_standby asks for 50 ms more once.
  get(*node, **c, "refuse=1");
  advance(milliseconds(100));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kRunning);
  advance(milliseconds(50));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kStandby);
  CallResult r = get(*node, **c);
  EXPECT_NE(r.out.find("standbys=3"), std::string::npos) << r.out;  // told 3 times, slept twice
}

TEST_F(LifecycleTest, KeepAwakeIsCappedByMaxKeepAwake) {
  auto node = make_node();
  auto s = spec();
  s.policy.max_keep_awake = milliseconds(200);
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  get(*node, **c, "keep=100000");
  advance(milliseconds(200));
  node->tick();
  EXPECT_EQ(state_of(*node), State::kStandby);
}

TEST_F(LifecycleTest, TrapDropsTheInstanceAndFallsBackToItsLastSavedState) {
  auto node = make_node();
  auto c = node->deploy(spec());
  ASSERT_TRUE(c.ok());
  get(*node, **c);
  get(*node, **c);
  advance(milliseconds(100));
  node->tick();  // saved: count = 2
  get(*node, **c);  // count = 3, not saved
  CallResult r = get(*node, **c, "trap");
  EXPECT_EQ(r.outcome.trap, runtime::Trap::kUnreachable);
  EXPECT_EQ(count_of(get(*node, **c)), 3) << "restarted from the state saved at standby (2)";
}

TEST_F(LifecycleTest, BurstScalesOutOnDemandAndBackInAfterIdle) {
  auto node = make_node();
  auto s = spec();
  s.policy.scale.max_instances = 4;
  s.policy.stateful = false;
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  std::vector<std::thread> burst;
  std::atomic<int> woke{0};
  for (int i = 0; i < 4; ++i) {
    burst.emplace_back([&] {
      CallResult r = get(*node, **c, "sleep=300");
      if (r.woke) ++woke;
      EXPECT_EQ(r.rejected, 0) << r.reason;
      // Not queued behind another request of the burst (that would take its
      // whole 300 ms sleep): extra capacity was added for it.
      EXPECT_LT(r.queue_ms, 250.0) << "queued behind another request of the burst";
    });
  }
  for (auto& t : burst) t.join();
  EXPECT_EQ(woke, 4);
  EXPECT_EQ(node->instances().size(), 4u);
  // A fifth concurrent request beyond max waits for a free instance instead of failing.
  advance(milliseconds(100));
  node->tick();
  for (const auto& i : node->instances()) EXPECT_EQ(i.state, State::kStandby);
  EXPECT_EQ(node->quotas()[0].used.active_instances, 0u);
}

TEST_F(LifecycleTest, StepPolicyAddsCapacityAheadOfDemandAndCoolsDown) {
  auto node = make_node();
  auto s = spec();
  s.policy.scale.max_instances = 6;
  s.policy.scale.cooldown = milliseconds(500);
  s.policy.stateful = false;
  s.policy.scale_to_zero = ScaleToZero::kIdle;
  s.policy.idle_timeout = milliseconds(2000);
  s.policy.scale.policies = {burst_to_four()};
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  std::thread busy([&] { get(*node, **c, "sleep=300"); });
  // Wait until the request is in flight, then let the autoscaler look.
  for (int i = 0; i < 200 && node->components().at(0).busy == 0; ++i) std::this_thread::sleep_for(milliseconds(2));
  node->tick();
  busy.join();
  auto comps = node->components();
  EXPECT_EQ(comps.at(0).running, 4u) << "inflight 1 -> exact 4";
  EXPECT_EQ(comps.at(0).scale_outs, 1u);
  // Idle: inflight 0 -> exact 1, after the cool-down.
  advance(milliseconds(100));
  node->tick();
  EXPECT_EQ(node->components().at(0).running, 4u) << "still cooling down";
  advance(milliseconds(400));
  node->tick();
  EXPECT_EQ(node->components().at(0).running, 1u);
  EXPECT_EQ(node->components().at(0).scale_ins, 1u);
  // scale_to_zero = idle: the whole component sleeps once idle for idle_timeout.
  advance(milliseconds(2000));
  node->tick();
  EXPECT_EQ(node->components().at(0).running, 0u);
}

TEST_F(LifecycleTest, QuotaMakesRequestsWaitThenAnswers503WithRetryAfter) {
  Quotas q;
  q.active_instances = 1;
  auto node = make_node(q);
  auto s = spec("a", "one");
  s.policy.queue_timeout = milliseconds(50);
  auto one = node->deploy(s);
  auto two = node->deploy(spec("b", "two"));
  ASSERT_TRUE(one.ok() && two.ok());
  std::thread busy([&] { get(*node, **one, "sleep=400"); });
  for (int i = 0; i < 200 && node->components().at(0).busy == 0; ++i) std::this_thread::sleep_for(milliseconds(2));
  // b/two cannot start: the node allows one active instance, and it is busy.
  CallResult waiting;
  std::thread waiter([&] { waiting = get(*node, **two); });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(node->components().at(1).waiting, 1u) << "held in the queue, not failed at once";
  clock_->advance(milliseconds(10'000));  // past two's queue timeout (10 s default)
  waiter.join();
  EXPECT_EQ(waiting.rejected, 503);
  EXPECT_NE(waiting.reason.find("quota of 1 active instances"), std::string::npos) << waiting.reason;
  busy.join();
  // Once a.one is idle, b.two's request puts it to sleep (LRU) and runs.
  CallResult r = get(*node, **two);
  EXPECT_EQ(r.rejected, 0) << r.reason;
  EXPECT_EQ(node->instances().at(0).state, State::kStandby);
}

TEST_F(LifecycleTest, FullQueueAnswers429) {
  auto node = make_node();
  auto s = spec();
  s.policy.queue_max = 0;
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok());
  std::thread busy([&] { get(*node, **c, "sleep=300"); });
  for (int i = 0; i < 200 && node->components().at(0).busy == 0; ++i) std::this_thread::sleep_for(milliseconds(2));
  CallResult r = get(*node, **c);
  EXPECT_EQ(r.rejected, 429);
  EXPECT_GE(r.retry_after_s, 1u);
  busy.join();
}

TEST_F(LifecycleTest, WaitingRequestIsServedWhenAnInstanceFrees) {
  auto node = make_node();
  auto c = node->deploy(spec());  // max 1
  ASSERT_TRUE(c.ok());
  std::thread busy([&] { get(*node, **c, "sleep=100"); });
  for (int i = 0; i < 200 && node->components().at(0).busy == 0; ++i) std::this_thread::sleep_for(milliseconds(2));
  CallResult r = get(*node, **c);
  busy.join();
  EXPECT_EQ(r.rejected, 0);
  // Served after the busy one (count 2), not refused; how long it queued
  // depends on this machine's scheduling, so it is not asserted.
  EXPECT_EQ(count_of(r), 2);
}

TEST_F(LifecycleTest, DeploysOverAQuotaAreRefusedWithTheReason) {
  Quotas q;
  q.memory_per_instance = 8 << 20;
  q.active_instances = 2;
  auto node = make_node(q);
  auto big = node->deploy(spec("a", "big"));  // 16 MiB limit
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("memory_limit 16.0 MiB exceeds the node quota of 8.0 MiB per instance"),
            std::string::npos)
      << big.error().message;
  auto s = spec("a", "many");
  s.memory_limit_bytes = 4 << 20;
  s.policy.scale.min_instances = 3;
  s.policy.scale.max_instances = 3;
  auto many = node->deploy(s);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message.find("min_instances 3 would exceed the node quota of 2 active instances"),
            std::string::npos)
      << many.error().message;
}

// On the manual clock: a request and the autoscaler start instances through
// the same admission (claim_start): under an active-instances quota the step
// policy scales out only up to the quota, and a request beyond it is refused
// with the same reason a deploy would give.
TEST_F(LifecycleTest, RequestsAndAutoscalerShareOneAdmission) {
  Quotas q;
  q.active_instances = 2;
  auto node = make_node(q);
  auto s = spec("a", "scaled");
  s.policy.scale.max_instances = 5;
  s.policy.scale.warmup = milliseconds(0);
  s.policy.queue_timeout = milliseconds(0);
  StepPolicy p;
  p.name = "always-more";
  p.metric = Metric::kInflight;
  p.adjustment = Adjustment::kExact;
  p.steps = {Step{0, std::numeric_limits<double>::infinity(), 5}};
  s.policy.scale.policies = {p};
  s.policy.scale_to_zero = ScaleToZero::kOff;  // nothing to evict: the quota is the limit
  auto c = node->deploy(s);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(get(*node, **c).rejected, 0);  // starts the first instance
  node->tick();                            // wants 5; the quota allows 2
  auto info = node->components().at(0);
  EXPECT_EQ(info.running, 2u);
  EXPECT_EQ(node->quotas().at(0).used.active_instances, 2u);
  // A second component cannot start one: the same rule, the same words.
  auto other = spec("b", "other");
  other.policy.queue_timeout = milliseconds(0);
  auto o = node->deploy(other);
  ASSERT_TRUE(o.ok());
  CallResult r = get(*node, **o);
  EXPECT_EQ(r.rejected, 503);
  EXPECT_NE(r.reason.find("would exceed the node quota of 2 active instances (2 in use)"), std::string::npos)
      << r.reason;
  auto d = spec("b", "min1");
  d.policy.scale.min_instances = 1;
  auto refused = node->deploy(d);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("min_instances 1 would exceed the node quota of 2 active instances (2 in use)"),
            std::string::npos) << refused.error().message;
}

TEST_F(LifecycleTest, AppQuotaLimitsOneAppOnly) {
  NodeOptions o;
  o.clock = clock_;
  o.background = false;
  Node node(o);
  auto s = spec("a", "x");
  s.policy.queue_timeout = milliseconds(0);
  auto a = node.deploy(s);
  auto b = node.deploy(spec("b", "y"));
  ASSERT_TRUE(a.ok() && b.ok());
  Quotas aq;
  aq.total_instances = 0;
  aq.memory_total = 1;  // nothing fits
  node.set_app_quotas("a", aq);
  CallResult ra = get(node, **a);
  EXPECT_EQ(ra.rejected, 503);
  EXPECT_NE(ra.reason.find("app memory quota"), std::string::npos) << ra.reason;
  EXPECT_EQ(get(node, **b).rejected, 0);
}

// A log sink that checks the node's lock is free while it writes: from inside
// the sink, a probe thread asks the node for its instances (which takes the
// lock). Were the lock held by the sink's caller, the probe would wait until
// the sink returned: the sink gives it 2 s, then records the line as written
// under the lock (the test fails rather than hangs).
class LockProbingSink {
 public:
  LogSink sink() {
    return [this](std::string_view line) { write(line); };
  }
  void watch(const Node* node) { node_ = node; }
  // Every probe finished (they all end once the lock is free).
  void join() {
    std::lock_guard g(mu_);
    for (auto& t : probes_) t.join();
    probes_.clear();
  }
  std::vector<std::string> lines() const {
    std::lock_guard g(mu_);
    return lines_;
  }
  std::vector<std::string> under_lock() const {
    std::lock_guard g(mu_);
    return under_lock_;
  }
  // "msg app" of each line so far, in the order written.
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    for (const std::string& l : lines()) out.push_back(field(l, "msg") + " " + field(l, "app"));
    return out;
  }

 private:
  static std::string field(const std::string& line, const std::string& name) {
    const std::string key = "\"" + name + "\":\"";
    auto at = line.find(key);
    if (at == std::string::npos) return "?";
    at += key.size();
    return line.substr(at, line.find('"', at) - at);
  }

  void write(std::string_view line) {
    auto answered = std::make_shared<std::promise<void>>();
    std::future<void> probe = answered->get_future();
    {
      std::lock_guard g(mu_);
      probes_.emplace_back([node = node_, answered] {
        if (node) node->instances();
        answered->set_value();
      });
    }
    const bool lock_free = probe.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    std::lock_guard g(mu_);
    lines_.emplace_back(line);
    if (!lock_free) under_lock_.push_back(field(lines_.back(), "msg"));
  }

  mutable std::mutex mu_;
  const Node* node_ = nullptr;
  std::vector<std::thread> probes_;
  std::vector<std::string> lines_, under_lock_;
};

TEST_F(LifecycleTest, LifecycleLogLinesAreWrittenWithTheNodeLockFreeAndInOrder) {
  LockProbingSink log;
  NodeOptions o;
  o.clock = clock_;
  o.background = false;
  o.log = log.sink();
  auto node = std::make_unique<Node>(o);
  log.watch(node.get());

  // "b": stateless, a step policy (as StepPolicyAddsCapacityAheadOfDemandAndCoolsDown):
  // a wake, starts by the autoscaler, then stops by its scale-in.
  auto sb = spec("b", "c");
  sb.policy.scale.max_instances = 4;
  sb.policy.scale.cooldown = milliseconds(500);
  sb.policy.stateful = false;
  sb.policy.scale_to_zero = ScaleToZero::kIdle;
  sb.policy.idle_timeout = milliseconds(2000);
  sb.policy.scale.policies = {burst_to_four()};
  auto b = node->deploy(sb);
  ASSERT_TRUE(b.ok()) << b.error().message;
  std::thread busy([&] { get(*node, **b, "sleep=300"); });
  // The request is in flight and its wake written: then the autoscaler looks.
  for (int i = 0; i < 1000 && log.lines().empty(); ++i) std::this_thread::sleep_for(milliseconds(2));
  node->tick();
  busy.join();
  advance(milliseconds(500));  // past the cool-down: inflight 0 -> exact 1
  node->tick();
  ASSERT_EQ(node->components().at(0).running, 1u);

  // "a": stateful: a wake, a standby the guest postpones, the standby, a wake.
  auto a = node->deploy(spec("a", "c"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  get(*node, **a, "refuse=1");
  advance(milliseconds(100));
  node->tick();
  EXPECT_EQ(node->instances().back().state, State::kRunning);
  advance(milliseconds(50));
  node->tick();
  EXPECT_EQ(node->instances().back().state, State::kStandby);
  EXPECT_TRUE(get(*node, **a).woke);

  log.join();
  EXPECT_EQ(log.under_lock(), std::vector<std::string>{}) << "written while the node lock was held";
  const std::vector<std::string> expected = {
      "instance wake b",
      "instance started by the autoscaler b",
      "instance started by the autoscaler b",
      "instance started by the autoscaler b",
      "instance stopped b",
      "instance stopped b",
      "instance stopped b",
      "instance wake a",
      "standby postponed by the guest a",
      "instance standby a",
      "instance wake a",
  };
  EXPECT_EQ(log.events(), expected);
  for (const std::string& line : log.lines()) {
    EXPECT_EQ(line.rfind("{\"level\":\"info\",\"msg\":\"", 0), 0u) << line;
    EXPECT_EQ(line.substr(line.size() - 2), "}\n") << line;
  }
  node.reset();
}

// The burst of issue 13: a log writer stuck in write() (a full stderr pipe, a
// preempted thread) held every request of every app behind the node lock.
// Here the sink blocks on a standby line until a request to another app has
// been served (2 s at most): that request must not wait for it, and its wake
// line, made while the sink was blocked, still comes after the standby line,
// as the events happened.
TEST_F(LifecycleTest, ASlowLogSinkHoldsUpNoRequestAndLinesKeepTheirOrder) {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::string> msgs;
  bool sink_blocked = false, other_served = false, served_while_blocked = false;
  NodeOptions o;
  o.clock = clock_;
  o.background = false;
  o.log = [&](std::string_view line) {
    std::unique_lock g(mu);
    const auto at = line.find("\"msg\":\"") + 7;
    const auto app_at = line.find("\"app\":\"") + 7;
    const std::string msg = std::string(line.substr(at, line.find('"', at) - at)) + " " +
                            std::string(line.substr(app_at, line.find('"', app_at) - app_at));
    if (msg == "instance standby a") {  // blocks before taking the line: a later one must not overtake it
      sink_blocked = true;
      changed.notify_all();
      served_while_blocked = changed.wait_for(g, std::chrono::seconds(2), [&] { return other_served; });
    }
    msgs.push_back(msg);
  };
  auto node = std::make_unique<Node>(o);
  auto a = node->deploy(spec("a", "c"));
  auto b = node->deploy(spec("b", "c"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(get(*node, **a).woke);
  advance(milliseconds(100));
  std::thread timers([&] { node->tick(); });  // puts a in standby; its line blocks the sink
  {
    std::unique_lock g(mu);
    ASSERT_TRUE(changed.wait_for(g, std::chrono::seconds(10), [&] { return sink_blocked; }));
  }
  const auto t0 = std::chrono::steady_clock::now();
  CallResult r = get(*node, **b);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard g(mu);
    other_served = true;
    changed.notify_all();
  }
  timers.join();
  EXPECT_EQ(r.rejected, 0) << r.reason;
  EXPECT_TRUE(r.woke);
  EXPECT_TRUE(served_while_blocked) << "app b's request waited " << ms << " ms for app a's log line";
  EXPECT_EQ(msgs, (std::vector<std::string>{"instance wake a", "instance standby a", "instance wake b"}));
  EXPECT_EQ(node->instances().at(0).state, State::kStandby);
}

// A log sink that throws (a full disk, an allocation failure) loses the line
// it threw on, nothing else: requests are served, the node stays up, and the
// lines after it are still written.
TEST_F(LifecycleTest, ALogSinkThatThrowsLosesOnlyItsLine) {
  std::vector<std::string> msgs;
  int calls = 0;
  NodeOptions o;
  o.clock = clock_;
  o.background = false;
  o.log = [&](std::string_view line) {
    if (++calls == 1) throw std::runtime_error("disk full");
    const auto at = line.find("\"msg\":\"") + 7;
    msgs.emplace_back(line.substr(at, line.find('"', at) - at));
  };
  auto node = std::make_unique<Node>(o);
  auto a = node->deploy(spec("a", "c"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(get(*node, **a).woke);  // its wake line is the one that throws
  advance(milliseconds(100));
  node->tick();  // standby
  CallResult r = get(*node, **a);
  EXPECT_EQ(r.rejected, 0) << r.reason;
  EXPECT_TRUE(r.woke);
  EXPECT_EQ(msgs, (std::vector<std::string>{"instance standby", "instance wake"}));
}

// The JSON views of a node (instances, components, quotas) are the control
// API's: tests/control/server_test.cpp ViewsShowInstancesComponentsAndQuotas.

TEST_F(LifecycleTest, CaptureOfARunningInstanceRestoresItsMemory) {
  auto prepared = wasi::Prepared::create({});
  std::string out;
  wasi::Stdio so{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
  wasi::Context ctx(*prepared, nullptr, &so, nullptr);
  host::ReactorContext rc;
  runtime::HostModule* hosts[] = {&ctx, &rc};
  auto inst = (*init_)->instantiate(hosts, {});
  ASSERT_TRUE(inst.ok());
  wasm_rt_memory_t* mem = (*inst)->memory();
  ASSERT_NE(mem, nullptr);
  const uint32_t at = mem->size - 8192;
  std::memset(mem->data + at, 0x5a, 100);
  auto snap = engine::Snapshot::capture(**inst);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_GT((*snap)->stats().nonzero_bytes, 0u);
  inst->reset();
  wasi::Context ctx2(*prepared, nullptr, &so, nullptr);
  host::ReactorContext rc2;
  runtime::HostModule* hosts2[] = {&ctx2, &rc2};
  auto back = (*snap)->instantiate(hosts2, {});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)->memory()->data[at], 0x5a);
  EXPECT_EQ((*back)->memory()->data[at + 99], 0x5a);
  EXPECT_EQ((*back)->memory()->data[at + 100], 0);
}

}  // namespace
}  // namespace wink::lifecycle
