// Long-lived instances on one node: the scheduler (find, wake or start an
// instance for a request; hold the request while it wakes), the idle timers
// that put instances in standby, and the carrying out of two decisions that
// live elsewhere as pure functions: admission (quota_breach / start_demand in
// policy.h, one rule for deploy, call and tick) and the autoscaler's plan
// (plan_scale in planner.h, which tick() feeds the counts, metrics and last
// scale times of each component).
//
//   lifecycle::Node node({.quotas = {.active_instances = 100}});
//   auto c = node.deploy(spec);                          // refused over quota, with the reason
//   CallResult r = node.call(*c, vars, body);            // wakes the instance if asleep
//
//        deploy / autoscaler / request
//   (none) ──────────► starting ──► running ◄──────────┐
//                         ▲            │ idle_timeout   │ before_standby asks keep_awake
//                         │ request    ▼                │
//                       standby ◄── draining ───────────┘
//               (saved state only)     │ scale-in (stateless), undeploy
//                                      ▼
//                                   stopped
//
// Standby releases the instance's memory slot, its WASI and host contexts
// (every file descriptor it opened) and its stdio buffers; a stateful one
// keeps only its state captured copy-on-write (engine::Snapshot::capture). No
// instance owns a thread: guest code runs on the thread of the request (an
// executor of the HTTP ingress's pool, never an I/O thread; a request waiting
// for a busy or waking instance holds that executor, counted against its
// component's share), starts and standbys run on that thread or on the
// node's one timer thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "host/host.h"
#include "lifecycle/policy.h"
#include "runtime/runtime.h"
#include "wagi/http_component.h"
#include "wasi/wasi.h"

namespace wink::lifecycle {

// Time source for every lifecycle decision; tests inject a ManualClock.
class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual bool manual() const { return false; }
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  time_point now() const override { return time_point(std::chrono::nanoseconds(ns_.load())); }
  bool manual() const override { return true; }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{1'000'000'000};
};

// Receives complete JSON log lines ending in '\n'.
using LogSink = std::function<void(std::string_view)>;

struct NodeOptions {
  std::shared_ptr<Clock> clock;  // null: steady clock
  // Run the timer thread (idle timeouts, autoscaler). Tests with a
  // ManualClock turn it off and call tick().
  bool background = true;
  Quotas quotas;          // node-wide
  Quotas app_quotas;      // default for every app (set_app_quotas overrides)
  LogSink log;            // lifecycle events (standby, wake, scale); may be empty
  size_t max_stdout_bytes = 64u << 20;
  size_t max_stderr_bytes = 1u << 20;
};

// What one long-lived component needs; built by App::load (or a test).
struct ComponentSpec {
  std::string app, component;
  // The app version this component belongs to: while a new version of an app
  // is deployed next to the old one, both have the same names.
  uint64_t version = 0;
  std::shared_ptr<engine::Snapshot> init;      // every new instance starts here
  // A wasi:http component instead of a core module (then `init`, `wasi`,
  // `host` and `handler` are unused): instances start as its per-request
  // ones do, serve through call_http, and standby saves their linked
  // instance image (wagi::save_http_instance).
  std::shared_ptr<const wagi::HttpComponent> http;
  std::shared_ptr<const wasi::Prepared> wasi;  // preopens, argv, environment
  std::shared_ptr<const host::Prepared> host;  // wink_v1; null: not offered
  engine::InstanceLimits limits;
  uint64_t memory_limit_bytes = 128ull << 20;
  std::string handler = "wink_handle";
  ComponentPolicy policy;
};

// The outcome of one request to a component.
struct CallResult {
  // 0: the guest ran (see outcome); 429/503: not admitted (queue full / waited
  // too long), 500: no instance could be started. `reason` says why.
  int rejected = 0;
  std::string reason;
  uint32_t retry_after_s = 1;
  runtime::Outcome outcome;
  std::string out, err;  // guest stdout (CGI response) and stderr
  size_t stdout_limit = 0;  // the cap stdout was written under (NodeOptions::max_stdout_bytes)
  bool woke = false;     // the request woke or started an instance
  double queue_ms = 0, wake_ms = 0, exec_ms = 0;
  std::string instance;  // name of the instance that served it (for logs; never sent to clients)
};

struct InstanceInfo {
  std::string name, app, component;
  State state = State::kStopped;
  bool busy = false;
  std::chrono::system_clock::time_point created, last_wake;
  uint64_t memory_bytes = 0;  // running: linear memory; standby: saved state
  uint64_t requests = 0;
  uint64_t wakes = 0;
  double last_wake_ms = 0;     // restore time of the last wake
  double last_standby_ms = 0;  // capture + release time of the last standby
  bool keep_awake = false;
};

struct ComponentInfo {
  std::string app, component;
  ComponentPolicy policy;
  uint64_t memory_limit_bytes = 0;
  uint32_t running = 0, standby = 0, busy = 0, waiting = 0;
  MetricValues metrics;
  uint64_t requests = 0, rejected = 0, wakes = 0, scale_outs = 0, scale_ins = 0;
};

struct QuotaView {
  std::string scope;  // "node" or "app <name>"
  Quotas limits;
  Usage used;
};

class Node {
 public:
  explicit Node(NodeOptions options = {});
  ~Node();  // stops every instance
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  struct Component;  // opaque handle, valid for the Node's life

  // Checks the component against the quotas (per-instance memory, and what
  // its min_instances would take) and refuses with the reason; otherwise
  // registers it and starts min_instances instances.
  Result<Component*> deploy(ComponentSpec spec);

  // Removes a component (its app version was replaced or removed): no new
  // request may call it; waits for the timer thread to let go of its
  // instances, then stops them (no standby capture) and frees the handle.
  // Callers make sure no call() on it is in flight.
  void undeploy(Component* component);

  // Serves one request: an idle running instance, else a standby one woken,
  // else a new one (within max_instances and quotas), else waits in the
  // component's queue. `vars` are the request's CGI variables ("K=V").
  // Thread-safe; guest code runs on the calling thread.
  CallResult call(Component& component, const std::vector<std::string>& vars, std::string_view body);

  // Serves one request on a wasi:http component (ComponentSpec::http): the
  // scheduling of call(), then `serve` runs the request on the instance on
  // this thread (`so_far` holds the queue and wake times). `serve` returns
  // false when the instance must not serve again (a trap, the deadline, an
  // exit): it is dropped, and a stateful one falls back to its last saved
  // state. The returned CallResult says whether and why no instance was
  // found (rejected), and its times.
  using ServeHttp = std::function<bool(linker::ComponentInstance& instance, const CallResult& so_far)>;
  CallResult call_http(Component& component, const ServeHttp& serve);

  // Runs the timers now (idle -> standby, keep-awake expiry, autoscaler).
  // Returns when the next timer is due. The background thread calls it.
  Clock::time_point tick();

  // ---- administration (admin endpoint, `wink scale`, `wink quotas`) ----
  std::vector<InstanceInfo> instances() const;
  std::vector<ComponentInfo> components() const;
  std::vector<QuotaView> quotas() const;
  // The newest deployed version of app/component, or null.
  Component* find(std::string_view app, std::string_view component) const;
  // Replaces a component's scale settings (validated: min <= max, policies).
  Result<void> set_scale(Component& component, const ScaleConfig& scale);
  Result<void> set_policy(Component& component, const ComponentPolicy& policy);
  void set_node_quotas(const Quotas& q);
  void set_app_quotas(const std::string& app, const Quotas& q);

  const Clock& clock() const { return *clock_; }

  struct Inst;
  struct AppState;

 private:
  struct Work;
  // Every hold of mu_ (node.cpp): lifecycle log lines made under it are
  // queued and written once it is released (see log_event).
  class Lock;
  bool pick_idle(Component& c, Inst*& out);
  // call()'s scheduling: an instance made busy for this request, or null
  // with r.rejected and r.reason; returns with the lock held.
  Inst* acquire(Component& c, CallResult& r, Lock& lock);
  // After a request on `inst` (lock not held): failed drops it.
  void release(Component& c, Inst* inst, bool failed, double cpu_ms, int64_t keep_awake_ms);
  Result<void> start_http(Inst& i);
  // A wasi:http instance's standby; true when it handled it.
  void standby_http(Inst& i, bool stop_after);
  // Under mu_: the last step of every standby (counts, state, the log line
  // with `extra` fields, a stopped instance removed, waiters woken).
  void end_standby(Lock& held, Inst& i, uint64_t saved_bytes, bool stop_after, std::string_view msg,
                   std::string_view extra);
  // Under mu_: removes a stopped instance from its component (destroying it).
  void forget(Inst& i);
  bool admit(Component& c, const Inst* waking, std::string* why) const;
  // Under mu_: claims the instance a start would use (the most recently used
  // standby one, else a new one) and marks it starting, if the quotas admit
  // it; else null and why. Used by call() and the autoscaler alike.
  Inst* claim_start(Component& c, std::string* why);
  Inst* new_inst(Component& c);
  void account(const Inst& i, int sign);
  Result<void> start(Inst& i);
  // Under mu_: marks a running instance kDraining, claimed for its standby or stop.
  void begin_draining(Inst& i);
  void standby(Inst& i, bool stop_after);
  // The idle time before an instance's standby: idle_timeout, doubled per
  // standby of it given up in a row (by at most kMaxStandbyBackoff more).
  std::chrono::milliseconds standby_delay(const Inst& i) const;
  static constexpr std::chrono::milliseconds kMaxStandbyBackoff{60'000};
  // A standby whose capture gave up because a request came: the instance
  // runs again (its memory untouched); a half-updated saved state is dropped.
  void give_up_standby(Inst& i, std::chrono::steady_clock::time_point began, bool drop_saved = false,
                       bool new_spare = false);
  void finish_standby(Inst& i, bool stop_after);
  Inst* evict_for(Component& c);
  void run_work(std::vector<Work>& work);
  void want_spare(Component& c, const Inst& i);
  void await_spare(Lock& lock, const Inst& i);  // under mu_: the spare being copied for i's first standby
  void notify_ticker(Clock::time_point when);
  // Under mu_ (`held` proves it): queues one JSON log line for options_.log;
  // the Lock that releases mu_ writes it, after releasing (Node::Lock).
  void log_event(Lock& held, std::string_view msg, const Inst& i, std::string_view extra = {});
  void record(Component& c, Clock::time_point now);
  MetricValues metrics_of(const Component& c, Clock::time_point now) const;

  NodeOptions options_;
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  // Log lines made under mu_, oldest first, and whether a releasing thread is
  // writing them now (it keeps writing until the queue is empty, so lines
  // leave in the order they were made). Both guarded by mu_.
  mutable std::vector<std::string> pending_log_;
  mutable bool log_writer_active_ = false;
  std::condition_variable cv_;         // an instance became free / state changed
  std::condition_variable ticker_cv_;
  Clock::time_point ticker_next_{};  // when the timer thread wakes; {} while it ticks
  bool ticker_kick_ = false;         // run the timers again now
  bool stopping_ = false;
  std::list<std::unique_ptr<Component>> components_;
  std::map<std::string, std::unique_ptr<AppState>, std::less<>> apps_;
  Usage node_used_;
  uint64_t next_id_ = 1;
  std::thread ticker_;
  // Copies of start snapshots for first standbys (Work::kSpare) are made on
  // their own thread, so a large copy never holds up the timers.
  std::condition_variable copier_cv_;
  std::vector<Work> copy_queue_;
  std::thread copier_;
  void run_spare(const Work& w);
};

}  // namespace wink::lifecycle
