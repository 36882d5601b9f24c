// Scheduler, idle timers, and the carrying out of admission and autoscaler
// decisions for long-lived instances (node.h; the decisions are pure
// functions in policy.h and planner.h).
#include "lifecycle/node.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "common/bytes_text.h"
#include "http/access_log.h"
#include "lifecycle/planner.h"
#include "linker/linker.h"
#include "host/reactor.h"
#include "wasi/state.h"

namespace wink::lifecycle {

using Clock_ = Clock;
using time_point = Clock::time_point;
using std::chrono::milliseconds;

namespace {

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

constexpr int kBuckets = 10;  // metrics window: 10 x 100 ms
constexpr auto kBucket = milliseconds(100);

}  // namespace

struct Node::Inst {
  uint64_t id = 0;
  std::string name;
  Component* comp = nullptr;
  State state = State::kStarting;
  bool busy = false;
  bool claimed = false;  // a thread is starting / draining it outside the lock
  // Draining: a request is waiting for this instance, so its standby capture
  // gives up and the instance serves again (set under mu_, read by the capture).
  std::atomic<bool> wanted{false};
  // Live resources (running only).
  std::unique_ptr<engine::Instance> live;
  std::unique_ptr<wasi::Context> wasi;
  std::unique_ptr<host::ReactorContext> reactor;
  std::unique_ptr<host::Context> host;
  wasi::Stdio in{.kind = wasi::Stdio::Kind::kBuffer};
  wasi::Stdio out_stdio, err_stdio;
  std::string out, err;
  // Saved state (stateful): what the next wake restores. Kept while running
  // too (it costs nothing: the running instance maps it), so a trap falls back to it.
  std::shared_ptr<engine::Snapshot> saved;
  uint64_t saved_bytes = 0;
  // A wasi:http component's instance and its state saved at standby.
  std::unique_ptr<linker::ComponentInstance> http_live;
  std::shared_ptr<const linker::InstanceImage> http_saved;
  bool has_saved() const { return saved != nullptr || http_saved != nullptr; }
  time_point last_used{}, keep_awake_until{};
  // Standbys given up for a request in a row: each doubles the idle time
  // before the next one (standby_delay), so a trickle of requests arriving
  // just after the idle timeout does not start and waste copy after copy.
  uint32_t standbys_given_up = 0;
  std::chrono::system_clock::time_point created_wall, wake_wall;
  uint64_t requests = 0, wakes = 0;
  double last_wake_ms = 0, last_standby_ms = 0;
  uint64_t charged_memory = 0;  // what account() added
};

struct Node::AppState {
  Quotas quotas;
  Usage used;
};

struct Node::Component {
  ComponentSpec spec;
  const wink_export_t* handler = nullptr;
  const wink_export_t* before_standby = nullptr;
  AppState* app = nullptr;
  std::vector<std::unique_ptr<Inst>> instances;
  uint32_t waiting = 0;
  uint64_t seq = 0;
  time_point last_activity{}, last_scale_out{}, last_scale_change{};
  bool scaled_once = false;
  // Metrics: request starts and guest CPU ms per 100 ms bucket.
  int64_t bucket_epoch[kBuckets] = {};
  uint32_t bucket_requests[kBuckets] = {};
  double bucket_cpu_ms[kBuckets] = {};
  uint64_t requests = 0, rejected = 0, wakes = 0, scale_outs = 0, scale_ins = 0;
  // Stateful: an own copy of the start snapshot's images, made ahead by the
  // timer thread while an instance restored from the start snapshot runs, so
  // that instance's first standby writes only the pages it changed
  // (Snapshot::capture_onto) instead of copying its whole memory then.
  // spare_origin keeps what it was copied from (and so its address) alive.
  std::shared_ptr<engine::Snapshot> spare;
  std::shared_ptr<const engine::Snapshot> spare_origin;
  // The same for a wasi:http component started from its image
  // (linker::own_copy, which keeps the image it copies alive).
  std::shared_ptr<linker::InstanceImage> http_spare;
  bool spare_wanted = false;   // an instance started from the start snapshot
  bool spare_pending = false;  // the timer thread is making one
  bool removed = false;        // undeploy() is waiting for its instances' claims to end

  uint32_t count(State s) const {
    uint32_t n = 0;
    for (const auto& i : instances) n += i->state == s;
    return n;
  }
  uint32_t active() const {
    uint32_t n = 0;
    for (const auto& i : instances) {
      n += i->state == State::kStarting || i->state == State::kRunning || i->state == State::kDraining;
    }
    return n;
  }
  // A spare copy with no instance left to take it gives its memory back.
  void drop_unused_spare() {
    if ((spare || http_spare) && active() == 0) {
      spare.reset();
      spare_origin.reset();
      http_spare.reset();
    }
  }
  uint32_t busy() const {
    uint32_t n = 0;
    for (const auto& i : instances) n += i->busy;
    return n;
  }
};

// Deferred work the timer thread does outside the lock.
struct Node::Work {
  enum Kind { kStandby, kStop, kStart, kSpare } kind;
  Inst* inst;
  // kSpare: the component and the start snapshot (or image) to copy.
  Component* comp = nullptr;
  std::shared_ptr<const engine::Snapshot> origin;
  std::shared_ptr<const linker::InstanceImage> http_origin;
};

// Every hold of mu_ goes through a Lock. Lifecycle log lines made under mu_
// (log_event) wait in pending_log_ and are written by the Lock that releases
// mu_, once it is released: the sink does I/O (stderr, a file), and a writer
// preempted inside write() with mu_ held kept every request of every app
// waiting behind it (it tripled the p99 of a 64-request burst, issue 13).
// A wait on a condition variable writes the queued lines first, so none of
// them waits for the wake-up.
class Node::Lock {
 public:
  explicit Lock(const Node& node) : node_(node), held_(node.mu_) {}
  ~Lock() {
    if (held_.owns_lock()) unlock();
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  void lock() { held_.lock(); }
  // Releases mu_, then writes the lines queued under it.
  void unlock();

  template <class Pred>
  void wait(std::condition_variable& cv, Pred pred) {
    write_pending();
    cv.wait(held_, pred);
  }
  template <class Time, class Pred>
  bool wait_until(std::condition_variable& cv, const Time& t, Pred pred) {
    write_pending();
    return cv.wait_until(held_, t, pred);
  }
  // Without a predicate the caller re-checks its state after every return,
  // so one that had lines to write returns at once, as a spurious wake-up.
  template <class Time>
  void wait_until(std::condition_variable& cv, const Time& t) {
    if (!write_pending()) cv.wait_until(held_, t);
  }
  template <class Duration>
  void wait_for(std::condition_variable& cv, const Duration& d) {
    if (!write_pending()) cv.wait_for(held_, d);
  }

 private:
  // With mu_ held: writes the queued lines (mu_ released meanwhile, then
  // retaken). False when there was nothing for this thread to write.
  bool write_pending() {
    if (node_.pending_log_.empty() || node_.log_writer_active_) return false;
    unlock();
    lock();
    return true;
  }

  const Node& node_;
  std::unique_lock<std::mutex> held_;
};

void Node::Lock::unlock() {
  // Another thread writing the queue takes these lines too, after its own.
  if (node_.pending_log_.empty() || node_.log_writer_active_) {
    held_.unlock();
    return;
  }
  node_.log_writer_active_ = true;
  while (!node_.pending_log_.empty()) {
    std::vector<std::string> lines;
    lines.swap(node_.pending_log_);
    held_.unlock();
    for (const std::string& line : lines) {
      // A sink that throws loses its line, never the node: the exception
      // would leave the writer marked active (every later line queued for
      // good) and end the process from ~Lock.
      try {
        node_.options_.log(line);
      } catch (...) {
      }
    }
    held_.lock();
  }
  node_.log_writer_active_ = false;
  held_.unlock();
}

Node::Node(NodeOptions options) : options_(std::move(options)) {
  clock_ = options_.clock ? options_.clock : std::make_shared<SteadyClock>();
  if (options_.background) {
    ticker_ = std::thread([this] {
      Lock lock(*this);
      while (!stopping_) {
        // While tick() runs, any new deadline kicks another round (ticker_next_
        // is "unset"), so a request finishing mid-tick is never missed.
        ticker_next_ = time_point{};
        ticker_kick_ = false;
        lock.unlock();
        time_point next = tick();
        lock.lock();
        if (stopping_) break;
        if (ticker_kick_) continue;
        ticker_next_ = next;
        auto real = std::chrono::steady_clock::now() + (next - clock_->now());
        lock.wait_until(ticker_cv_, real, [this] { return stopping_ || ticker_kick_; });
      }
    });
    copier_ = std::thread([this] {
      Lock lock(*this);
      for (;;) {
        lock.wait(copier_cv_, [this] { return stopping_ || !copy_queue_.empty(); });
        if (stopping_) break;
        Work w = std::move(copy_queue_.front());
        copy_queue_.erase(copy_queue_.begin());
        lock.unlock();
        run_spare(w);
        lock.lock();
      }
    });
  }
}

Node::~Node() {
  {
    Lock lock(*this);
    stopping_ = true;
    ticker_cv_.notify_all();
    copier_cv_.notify_all();
    cv_.notify_all();
  }
  if (ticker_.joinable()) ticker_.join();
  if (copier_.joinable()) copier_.join();
  // Instances free their slots through their destructors.
  Lock lock(*this);
  for (auto& c : components_) c->instances.clear();
}

void Node::notify_ticker(time_point when) {
  // Under mu_.
  if (options_.background && (ticker_next_ == time_point{} || when < ticker_next_)) {
    if (ticker_next_ != time_point{}) ticker_next_ = when;
    ticker_kick_ = true;
    ticker_cv_.notify_one();
  }
}

void Node::log_event(Lock& /*held*/, std::string_view msg, const Inst& i, std::string_view extra) {
  if (!options_.log) return;
  std::string line = "{\"level\":\"info\",\"msg\":\"";
  line.append(msg).append("\",\"app\":\"").append(i.comp->spec.app);
  line.append("\",\"component\":\"").append(i.comp->spec.component);
  line.append("\",\"instance\":\"").append(i.name).append("\"");
  line.append(extra);
  line.append("}\n");
  pending_log_.push_back(std::move(line));
}

// ---- accounting and quotas ----

void Node::account(const Inst& i, int sign) {
  // Under mu_. Active instances are charged their memory limit (the most they
  // can use), standby ones the size of their saved state.
  const bool active = i.state == State::kStarting || i.state == State::kRunning || i.state == State::kDraining;
  const bool exists = i.state != State::kStopped;
  const uint64_t mem = active ? i.comp->spec.memory_limit_bytes : (exists ? i.saved_bytes : 0);
  for (Usage* u : {&node_used_, &i.comp->app->used}) {
    u->active_instances += sign * (active ? 1 : 0);
    u->total_instances += sign * (exists ? 1 : 0);
    u->memory += sign * static_cast<int64_t>(mem);
  }
}

namespace {
struct QuotaScope {
  const char* name;
  const Quotas* quotas;
  const Usage* used;
};
}  // namespace

bool Node::admit(Component& c, const Inst* waking, std::string* why) const {
  const Demand d = start_demand(c.spec.memory_limit_bytes,
                                waking ? std::optional<uint64_t>(waking->saved_bytes) : std::nullopt);
  for (const QuotaScope& s : {QuotaScope{"node", &options_.quotas, &node_used_},
                              QuotaScope{"app", &c.app->quotas, &c.app->used}}) {
    if (auto breach = quota_breach(s.name, *s.quotas, *s.used, d)) {
      *why = "starting an instance would exceed " + *breach;
      return false;
    }
  }
  return true;
}

Node::Inst* Node::claim_start(Component& c, std::string* why) {
  // The most recently used standby instance (stateful: its state), else a new one.
  Inst* inst = nullptr;
  for (auto& i : c.instances) {
    if (i->state == State::kStandby && !i->claimed && (!inst || i->last_used > inst->last_used)) inst = i.get();
  }
  if (!admit(c, inst, why)) return nullptr;
  if (inst) {
    account(*inst, -1);
    inst->state = State::kStarting;
    account(*inst, +1);
  } else {
    inst = new_inst(c);
  }
  inst->claimed = true;
  return inst;
}

Result<Node::Component*> Node::deploy(ComponentSpec spec) {
  const wink_export_t* handler = nullptr;
  if (!spec.http) {
    if (!spec.init) return make_error("component has no start snapshot");
    handler = spec.init->module()->find_export(spec.handler);
    if (!handler || handler->kind != WINK_EXTERN_FUNC || handler->params[0] || handler->results[0]) {
      return make_error("handler export `" + spec.handler +
                        "` is not an exported function without parameters and results");
    }
  }
  const ScaleConfig& sc = spec.policy.scale;
  if (sc.max_instances == 0) return make_error("max_instances must be at least 1");
  if (sc.min_instances > sc.max_instances) {
    return make_error("min_instances (" + std::to_string(sc.min_instances) + ") exceeds max_instances (" +
                      std::to_string(sc.max_instances) + ")");
  }
  for (const auto& p : sc.policies) WINK_TRY(p.validate());
  auto c = std::make_unique<Component>();
  c->handler = handler;
  if (const wink_export_t* b = spec.init ? spec.init->module()->find_export("wink_before_standby") : nullptr;
      b && b->kind == WINK_EXTERN_FUNC && !b->params[0] && !b->results[0]) {
    c->before_standby = b;
  }
  std::vector<Inst*> to_start;
  {
    Lock lock(*this);
    for (const auto& other : components_) {
      if (other->spec.app == spec.app && other->spec.component == spec.component &&
          other->spec.version == spec.version) {
        return make_error("component " + spec.app + "/" + spec.component + " is already deployed");
      }
    }
    auto& app = apps_[spec.app];
    if (!app) {
      app = std::make_unique<AppState>();
      app->quotas = options_.app_quotas;
    }
    const std::string where = "app \"" + spec.app + "\" component \"" + spec.component + "\": ";
    // min_instances new instances, each charged its memory limit (saturating).
    const uint64_t n = sc.min_instances;
    const uint64_t mem = spec.memory_limit_bytes && n > UINT64_MAX / spec.memory_limit_bytes
                             ? UINT64_MAX
                             : n * spec.memory_limit_bytes;
    const Demand demand{n, n, mem};
    for (const QuotaScope& s : {QuotaScope{"node", &options_.quotas, &node_used_},
                                QuotaScope{"app", &app->quotas, &app->used}}) {
      if (s.quotas->memory_per_instance && spec.memory_limit_bytes > s.quotas->memory_per_instance) {
        return make_error(where + "memory_limit " + bytes_text(spec.memory_limit_bytes) + " exceeds the " +
                          s.name + " quota of " + bytes_text(s.quotas->memory_per_instance) + " per instance");
      }
      if (auto breach = quota_breach(s.name, *s.quotas, *s.used, demand)) {
        return make_error(where + "min_instances " + std::to_string(n) + " would exceed " + *breach);
      }
    }
    c->app = app.get();
    c->spec = std::move(spec);
    c->last_activity = clock_->now();
    components_.push_back(std::move(c));
    Component& comp = *components_.back();
    for (uint32_t k = 0; k < comp.spec.policy.scale.min_instances; ++k) {
      Inst* i = new_inst(comp);
      i->claimed = true;
      to_start.push_back(i);
    }
  }
  Component* result = nullptr;
  {
    Lock lock(*this);
    result = components_.back().get();
  }
  for (Inst* i : to_start) {
    auto started = start(*i);
    Lock lock(*this);
    account(*i, -1);
    i->claimed = false;
    i->state = started.ok() ? State::kRunning : State::kStopped;
    i->last_used = clock_->now();
    account(*i, +1);
    if (started.ok()) want_spare(*i->comp, *i);
    if (!started.ok()) return std::move(started).error().with_context("starting min_instances");
  }
  return result;
}

Node::Component* Node::find(std::string_view app, std::string_view component) const {
  Component* newest = nullptr;
  for (const auto& c : components_) {
    if (c->spec.app == app && c->spec.component == component &&
        (!newest || c->spec.version >= newest->spec.version)) {
      newest = c.get();
    }
  }
  return newest;
}

void Node::undeploy(Component* component) {
  std::vector<std::unique_ptr<Inst>> gone;
  std::unique_ptr<Component> owned;
  {
    Lock lock(*this);
    auto it = std::find_if(components_.begin(), components_.end(),
                           [&](const auto& c) { return c.get() == component; });
    if (it == components_.end()) return;
    // Out of tick()'s sight first, then wait for its claims to end.
    owned = std::move(*it);
    components_.erase(it);
    owned->removed = true;  // (a standby waiting for a spare stops waiting)
    lock.wait(cv_, [&] {
      for (const auto& i : owned->instances) {
        if (i->claimed || i->busy) return false;
      }
      return true;
    });
    for (auto& i : owned->instances) {
      account(*i, -1);
      i->state = State::kStopped;
      account(*i, +1);
      gone.push_back(std::move(i));
    }
    owned->instances.clear();
  }
  gone.clear();  // instances free their slots outside the lock
}

Node::Inst* Node::new_inst(Component& c) {
  // Under mu_: a new instance record in kStarting, charged to the quotas.
  auto i = std::make_unique<Inst>();
  i->id = next_id_++;
  i->comp = &c;
  i->name = c.spec.app + "-" + c.spec.component + "-" + std::to_string(++c.seq);
  i->state = State::kStarting;
  i->created_wall = std::chrono::system_clock::now();
  i->out_stdio = {.kind = wasi::Stdio::Kind::kBuffer, .output = &i->out, .output_limit = options_.max_stdout_bytes};
  i->err_stdio = {.kind = wasi::Stdio::Kind::kBuffer, .output = &i->err, .output_limit = options_.max_stderr_bytes};
  Inst* raw = i.get();
  c.instances.push_back(std::move(i));
  account(*raw, +1);
  return raw;
}

// ---- start (wake) and standby: outside the lock, on a claimed instance ----

Result<void> Node::start_http(Inst& i) {
  Component& c = *i.comp;
  const auto t0 = std::chrono::steady_clock::now();
  auto inst = wagi::start_http_instance(*c.spec.http, c.spec.policy.stateful ? i.http_saved : nullptr);
  if (!inst.ok()) return std::move(inst).error();
  i.http_live = std::move(*inst);
  i.last_wake_ms = ms_between(t0, std::chrono::steady_clock::now());
  i.wake_wall = std::chrono::system_clock::now();
  ++i.wakes;
  return {};
}

Result<void> Node::start(Inst& i) {
  Component& c = *i.comp;
  if (c.spec.http) return start_http(i);
  auto t0 = std::chrono::steady_clock::now();
  wasi::Overrides ov;
  ov.stdin_ = &i.in;
  ov.stdout_ = &i.out_stdio;
  ov.stderr_ = &i.err_stdio;
  i.wasi = std::make_unique<wasi::Context>(c.spec.wasi, ov);
  i.reactor = std::make_unique<host::ReactorContext>();
  if (c.spec.host) i.host = std::make_unique<host::Context>(c.spec.host, i.name);
  runtime::HostModule* hosts[3] = {i.wasi.get(), i.reactor.get(), i.host.get()};
  std::span<runtime::HostModule* const> hs(hosts, i.host ? 3 : 2);
  const auto& from = (c.spec.policy.stateful && i.saved) ? i.saved : c.spec.init;
  auto inst = from->instantiate(hs, c.spec.limits);
  if (!inst.ok()) {
    i.host.reset();
    i.reactor.reset();
    i.wasi.reset();
    return std::move(inst).error();
  }
  i.live = std::move(*inst);
  i.last_wake_ms = ms_between(t0, std::chrono::steady_clock::now());
  i.wake_wall = std::chrono::system_clock::now();
  ++i.wakes;
  return {};
}

void Node::standby_http(Inst& i, bool stop_after) {
  // Claimed and kDraining. A stateful instance's state is its linked
  // instance image; one that cannot be saved (the guest holds a host
  // resource other than a stdio stream) is stopped instead, with its last saved state dropped too: the
  // next request starts from the component's start, never from a state
  // older than what requests already saw, nor from a half-saved one.
  // Incremental after the first: the instance's previous saved state, which
  // it was woken from, takes only the pages it changed since.
  // The first, from the component's image: onto the spare copy of that
  // image the timer thread made meanwhile, likewise only the changed pages.
  Component& c = *i.comp;
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const linker::InstanceImage> saved;
  std::string refused;
  if (c.spec.policy.stateful && !stop_after && i.http_live) {
    auto wanted = [&] { return i.wanted.load(std::memory_order_relaxed); };
    // A delta over the start image is no state to update in place: as from the start image.
    const bool from_start = !i.http_saved || linker::is_delta(*i.http_saved);
    // From the start image: a delta over it when the instance changed little (see standby()).
    std::optional<Result<std::shared_ptr<const linker::InstanceImage>>> delta;
    if (from_start) {
      delta = wagi::save_http_delta(*i.http_live, &i.wanted);
      if (!delta->ok() && !wanted()) delta.reset();  // too many changed: onto the copy, or whole
    }
    std::shared_ptr<linker::InstanceImage> spare;
    if (from_start && !delta) {
      Lock lock(*this);
      await_spare(lock, i);
      spare = std::move(c.http_spare);
      if (spare && c.active() > 1) c.spare_wanted = true;  // others may need one too
    }
    const bool onto = !from_start || spare, onto_spare = spare != nullptr;
    auto image = delta ? std::move(*delta)
                       : wagi::save_http_instance(*i.http_live, from_start ? spare.get() : i.http_saved.get(), &i.wanted);
    spare.reset();  // consumed
    if (!image.ok() && !wanted() && onto) {
      // The update in place failed (no pagemap, say): the whole state into new images.
      {
        Lock lock(*this);
        i.http_saved.reset();
      }
      image = wagi::save_http_instance(*i.http_live, nullptr, &i.wanted);
    }
    if (image.ok()) {
      saved = std::move(*image);
    } else if (wanted()) {
      // A request came: the instance serves again; the previous state,
      // perhaps half-updated, is dropped (the instance holds the newer one).
      give_up_standby(i, t0, /*drop_saved=*/true, /*new_spare=*/onto_spare);
      return;
    } else {
      refused = image.error().message;
      stop_after = true;
    }
  }
  const uint64_t saved_bytes = saved ? wagi::saved_http_bytes(*saved) : 0;
  std::string extra;
  if (saved) {
    const linker::InstanceImageStats st = linker::image_stats(*saved);
    extra = ",\"written_bytes\":" + std::to_string(st.written_bytes) +
            ",\"incremental\":" + (st.incremental ? "true" : "false") + ",\"delta\":" + (st.delta ? "true" : "false");
    wagi::park_http_instance(*saved, *i.http_live);
  }
  i.http_live.reset();  // its memory slots (but parked ones) and host state
  i.last_standby_ms = ms_between(t0, std::chrono::steady_clock::now());
  if (!refused.empty()) {
    extra += ",\"detail\":";
    http::append_json_string(extra, "its state cannot be saved: " + refused +
                                        "; the next request starts from the component's start state");
  }
  Lock lock(*this);
  i.http_saved = std::move(saved);
  end_standby(lock, i, saved_bytes, stop_after,
              !refused.empty() ? "standby refused; instance stopped" : stop_after ? "instance stopped" : "instance standby",
              extra);
}

milliseconds Node::standby_delay(const Inst& i) const {
  // Doubled per standby given up in a row, by at most kMaxStandbyBackoff more.
  const milliseconds idle = i.comp->spec.policy.idle_timeout;
  const uint32_t doublings = std::min<uint32_t>(i.standbys_given_up, 16);
  return idle + std::min<milliseconds>(idle * ((1u << doublings) - 1), kMaxStandbyBackoff);
}

void Node::give_up_standby(Inst& i, std::chrono::steady_clock::time_point began, bool drop_saved, bool new_spare) {
  Lock lock(*this);
  account(i, -1);
  i.state = State::kRunning;
  account(i, +1);
  i.claimed = false;
  ++i.standbys_given_up;
  if (drop_saved) {
    i.saved.reset();
    i.http_saved.reset();
    i.saved_bytes = 0;
  }
  if (new_spare) want_spare(*i.comp, i);  // the spare it used is half-written: a new one for the next standby
  log_event(lock, "standby given up: a request came", i,
            ",\"ms\":" + std::to_string(ms_between(began, std::chrono::steady_clock::now())) +
                ",\"next_standby_after_idle_ms\":" + std::to_string(standby_delay(i).count()));
  cv_.notify_all();
}

void Node::forget(Inst& i) {
  auto& v = i.comp->instances;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& p) { return p.get() == &i; }), v.end());
}

void Node::end_standby(Lock& held, Inst& i, uint64_t saved_bytes, bool stop_after, std::string_view msg,
                       std::string_view extra) {
  account(i, -1);
  i.saved_bytes = saved_bytes;
  i.standbys_given_up = 0;
  i.state = stop_after ? State::kStopped : State::kStandby;
  i.keep_awake_until = {};
  account(i, +1);
  i.claimed = false;
  // (A standby that saved a delta leaves the copy made for it unused.)
  i.comp->drop_unused_spare();
  log_event(held, msg, i,
            ",\"saved_bytes\":" + std::to_string(saved_bytes) + ",\"ms\":" + std::to_string(i.last_standby_ms) +
                std::string(extra));
  if (stop_after) forget(i);
  cv_.notify_all();
}

void Node::standby(Inst& i, bool stop_after) {
  // The instance is claimed and kDraining. Tell the guest first; it may ask to stay.
  Component& c = *i.comp;
  if (c.spec.http) return standby_http(i, stop_after);
  auto t0 = std::chrono::steady_clock::now();
  bool guest_failed = false;
  if (c.before_standby && i.live) {
    i.reactor->state().keep_awake_ms = -1;
    runtime::Outcome o = i.live->call(*c.before_standby, nullptr, nullptr);
    int64_t keep = i.reactor->state().keep_awake_ms;
    if (!o.ok()) guest_failed = true;
    if (o.ok() && keep > 0) {
      Lock lock(*this);
      auto ms = std::min<int64_t>(keep, c.spec.policy.max_keep_awake.count());
      i.keep_awake_until = clock_->now() + milliseconds(ms);
      account(i, -1);
      i.state = State::kRunning;
      account(i, +1);
      i.claimed = false;
      log_event(lock, "standby postponed by the guest", i, ",\"keep_awake_ms\":" + std::to_string(ms));
      cv_.notify_all();
      return;
    }
  }
  std::shared_ptr<engine::Snapshot> saved;
  uint64_t saved_bytes = 0;
  engine::Snapshot* captured = nullptr;  // made by this standby
  std::string capture_error;             // why a newer state is lost (logged with the standby)
  if (c.spec.policy.stateful && !stop_after && i.live && guest_failed) {
    saved = i.saved;  // before_standby trapped: its state is not trustworthy
    saved_bytes = i.saved_bytes;
  } else if (c.spec.policy.stateful && !stop_after && i.live) {
    // Incremental when the instance was restored from its own saved state:
    // only the pages it changed since are written into that state's images.
    // Otherwise (restored from the shared start snapshot, or a delta over
    // it): a delta, else onto the spare copy of the start snapshot, else whole.
    const bool onto_saved = i.saved && i.saved->exclusive() && i.live->snapshot() == i.saved.get();
    // The image the instance maps: the start snapshot's also when it woke from a delta over it.
    const engine::Snapshot* mapped = i.live->snapshot() ? &i.live->snapshot()->origin() : nullptr;
    auto wanted = [&] { return i.wanted.load(std::memory_order_relaxed); };
    // Restored from the start snapshot (or a delta over it): a delta of the
    // pages it changed since, when few. The saved state is then those pages
    // alone, not a copy of the whole image (a sleeper costs what it changed),
    // and a standby soon after the start does not wait for the copy. More
    // changed: onto the copy (waited for), or whole.
    std::optional<Result<std::shared_ptr<engine::Snapshot>>> delta;
    if (!onto_saved && mapped && mapped == c.spec.init.get()) {
      delta = engine::Snapshot::capture_delta(*i.live, &i.wanted);
      if (!delta->ok() && !wanted()) delta.reset();
    }
    std::shared_ptr<engine::Snapshot> spare;
    if (!onto_saved && !delta) {
      Lock lock(*this);
      await_spare(lock, i);
      if (c.spare && c.spare_origin.get() == mapped) {
        spare = std::move(c.spare);
        c.spare_origin.reset();
        if (c.active() > 1) c.spare_wanted = true;  // others may need one too
      }
    }
    const bool onto_spare = spare != nullptr;
    auto snap = delta        ? std::move(*delta)
                : onto_saved ? engine::Snapshot::capture_onto(*i.live, i.saved, &i.wanted)
                : onto_spare ? engine::Snapshot::capture_onto(*i.live, spare, &i.wanted)
                             : engine::Snapshot::capture(*i.live, &i.wanted);
    spare.reset();
    // (A capture that stopped for a request is not tried again.)
    if (!snap.ok() && !wanted() && onto_spare) snap = engine::Snapshot::capture(*i.live, &i.wanted);
    if (!snap.ok() && !wanted() && onto_saved) snap = engine::Snapshot::capture(*i.live, &i.wanted);  // into fresh images
    if (!snap.ok() && wanted()) {
      // A request came for it: it serves again, with its memory as it was.
      // (Its saved state, half-updated by a capture onto it, is dropped:
      // the instance holds the newer state, and its next standby saves it whole.)
      give_up_standby(i, t0, onto_saved, onto_spare);
      return;
    }
    if (!snap.ok() && onto_saved) {
      // The saved state was half-updated and the instance is the only good
      // copy left: it stays awake rather than lose its state.
      Lock lock(*this);
      account(i, -1);
      i.state = State::kRunning;
      account(i, +1);
      i.claimed = false;
      i.saved.reset();
      i.saved_bytes = 0;
      std::string detail = ",\"detail\":";
      http::append_json_string(detail, snap.error().message);
      log_event(lock, "standby capture failed; the instance stays awake", i, detail);
      cv_.notify_all();
      return;
    }
    if (snap.ok()) {
      saved = std::move(*snap);
      saved_bytes = saved->stats().nonzero_bytes;
      captured = saved.get();
    } else {
      // Keep the last saved state; say why the newer one is lost.
      saved = i.saved;
      saved_bytes = i.saved_bytes;
      capture_error = snap.error().message;
    }
  }
  // The instance's own state updated in place: keep its slot mapping that
  // state (only the pages it wrote are freed), so the next wake maps nothing.
  if (captured && i.live) captured->park_slot(*i.live);
  // Release everything: memory slot, contexts (descriptors), buffers.
  i.live.reset();
  i.host.reset();
  i.reactor.reset();
  i.wasi.reset();
  std::string().swap(i.out);
  std::string().swap(i.err);
  i.last_standby_ms = ms_between(t0, std::chrono::steady_clock::now());
  std::string extra;
  if (captured) {
    // What this standby wrote: with an incremental capture, only the pages changed since the last wake.
    extra = ",\"written_bytes\":" + std::to_string(captured->stats().written_bytes) +
            ",\"incremental\":" + (captured->stats().incremental ? "true" : "false") +
            ",\"delta\":" + (captured->delta() ? "true" : "false");
  }
  Lock lock(*this);
  if (!capture_error.empty()) {
    std::string detail = ",\"detail\":";
    http::append_json_string(detail, capture_error);
    log_event(lock, "standby capture failed", i, detail);
  }
  i.saved = std::move(saved);
  end_standby(lock, i, saved_bytes, stop_after, stop_after ? "instance stopped" : "instance standby", extra);
}

bool Node::pick_idle(Component& c, Inst*& out) {
  // Most recently used idle instance: its pages are the warmest.
  Inst* best = nullptr;
  for (auto& i : c.instances) {
    if (i->state == State::kRunning && !i->busy && !i->claimed) {
      if (!best || i->last_used > best->last_used) best = i.get();
    }
  }
  out = best;
  return best != nullptr;
}

void Node::begin_draining(Inst& i) {
  account(i, -1);
  i.state = State::kDraining;
  i.claimed = true;
  i.wanted.store(false, std::memory_order_relaxed);
  account(i, +1);
}

Node::Inst* Node::evict_for(Component& c) {
  // Under mu_ (released and retaken). Puts the least recently used idle
  // instance (of the node, or of this app when the app quota is the limit)
  // in standby to make room. False when none can go.
  Inst* lru = nullptr;
  for (auto& comp : components_) {
    if (comp->spec.policy.scale_to_zero == ScaleToZero::kOff) continue;
    if (comp->count(State::kRunning) <= comp->spec.policy.scale.min_instances) continue;
    for (auto& i : comp->instances) {
      if (i->state != State::kRunning || i->busy || i->claimed) continue;
      if (i->keep_awake_until > clock_->now()) continue;
      if (c.app->quotas.active_instances && c.app->used.active_instances >= c.app->quotas.active_instances &&
          comp->app != c.app) {
        continue;
      }
      if (!lru || i->last_used < lru->last_used) lru = i.get();
    }
  }
  if (!lru) return nullptr;
  begin_draining(*lru);
  return lru;
}

Node::Inst* Node::acquire(Component& c, CallResult& r, Lock& lock) {
  const auto t_arrive = std::chrono::steady_clock::now();
  const time_point deadline = clock_->now() + c.spec.policy.queue_timeout;
  record(c, clock_->now());
  ++c.requests;
  bool queued = false;
  Inst* inst = nullptr;
  for (;;) {
    if (stopping_) {
      r.rejected = 503;
      r.reason = "node is stopping";
      break;
    }
    if (pick_idle(c, inst)) {
      inst->busy = true;
      break;
    }
    const uint32_t cap = std::max(c.spec.policy.scale.max_instances, 1u);
    if (c.active() < cap) {
      std::string why;
      if ((inst = claim_start(c, &why))) {
        inst->busy = true;
        ++c.wakes;
        lock.unlock();
        auto started = start(*inst);
        lock.lock();
        account(*inst, -1);
        inst->claimed = false;
        if (!started.ok()) {
          inst->busy = false;
          inst->state = inst->has_saved() ? State::kStandby : State::kStopped;
          account(*inst, +1);
          if (inst->state == State::kStopped) forget(*inst);
          r.rejected = 500;
          r.reason = "instance failed to start: " + started.error().message;
          inst = nullptr;
          cv_.notify_all();
          break;
        }
        inst->state = State::kRunning;
        account(*inst, +1);
        want_spare(c, *inst);
        r.woke = true;
        r.wake_ms = inst->last_wake_ms;
        log_event(lock, "instance wake", *inst, ",\"ms\":" + std::to_string(inst->last_wake_ms));
        break;
      }
      if (Inst* victim = evict_for(c)) {
        // Put the least recently used idle instance to sleep to make room, then try again.
        lock.unlock();
        this->standby(*victim, false);
        lock.lock();
        continue;
      }
      r.reason = why;
    }
    if (!queued) {
      if (c.waiting >= c.spec.policy.queue_max) {
        r.rejected = 429;
        if (r.reason.empty()) r.reason = "request queue full (" + std::to_string(c.spec.policy.queue_max) + " waiting)";
        break;
      }
      ++c.waiting;
      queued = true;
      notify_ticker(clock_->now());  // let the autoscaler see the queue now
    }
    if (clock_->now() >= deadline) {
      r.rejected = 503;
      if (r.reason.empty()) r.reason = "no instance free within the queue timeout";
      break;
    }
    // An instance of this component on its way to standby serves this
    // request instead: its capture gives up (at most a few hundred KB on).
    for (auto& other : c.instances) {
      if (other->state == State::kDraining) other->wanted.store(true, std::memory_order_relaxed);
    }
    if (clock_->manual()) {
      lock.wait_for(cv_, milliseconds(2));
    } else {
      lock.wait_until(cv_, std::chrono::steady_clock::now() + (deadline - clock_->now()));
    }
  }
  if (queued) --c.waiting;
  r.queue_ms = ms_between(t_arrive, std::chrono::steady_clock::now()) - r.wake_ms;
  if (!inst) {
    ++c.rejected;
    r.retry_after_s = std::max<uint32_t>(1, static_cast<uint32_t>(c.spec.policy.idle_timeout.count() / 1000));
    return nullptr;
  }
  if (!c.spec.policy.scale.policies.empty()) notify_ticker(clock_->now());
  return inst;
}

CallResult Node::call(Component& c, const std::vector<std::string>& vars, std::string_view body) {
  CallResult r;
  Lock lock(*this);
  Inst* inst = acquire(c, r, lock);
  lock.unlock();  // writes a wake's log line
  if (!inst) return r;

  // Run the guest on this thread: stdin = body, stdout/stderr fresh.
  auto* w = static_cast<Z_wasi_snapshot_preview1_instance_t*>(inst->wasi->import_instance());
  w->stdio[0].input = body;
  w->stdin_pos = 0;
  inst->out.clear();
  inst->err.clear();
  auto& rs = inst->reactor->state();
  rs.vars = &vars;
  rs.keep_awake_ms = -1;
  const double cpu0 = thread_cpu_ms();
  const auto t_exec = std::chrono::steady_clock::now();
  r.outcome = inst->live->call(*c.handler, nullptr, nullptr);
  r.exec_ms = ms_between(t_exec, std::chrono::steady_clock::now());
  const double cpu_ms = thread_cpu_ms() - cpu0;
  rs.vars = nullptr;
  r.out.swap(inst->out);
  r.stdout_limit = options_.max_stdout_bytes;
  r.err.swap(inst->err);
  r.instance = inst->name;
  const bool failed = !r.outcome.ok() && !(r.outcome.exited() && r.outcome.exit_code == 0);
  release(c, inst, failed, cpu_ms, rs.keep_awake_ms);
  return r;
}

CallResult Node::call_http(Component& c, const ServeHttp& serve) {
  CallResult r;
  Lock lock(*this);
  Inst* inst = acquire(c, r, lock);
  lock.unlock();  // writes a wake's log line
  if (!inst) return r;
  r.instance = inst->name;
  const double cpu0 = thread_cpu_ms();
  const auto t_exec = std::chrono::steady_clock::now();
  const bool usable = serve(*inst->http_live, r);
  r.exec_ms = ms_between(t_exec, std::chrono::steady_clock::now());
  release(c, inst, !usable, thread_cpu_ms() - cpu0, -1);
  return r;
}

void Node::release(Component& c, Inst* inst, bool failed, double cpu_ms, int64_t keep_awake_ms) {
  // A trap (or an exit, or the deadline) leaves the instance unusable: drop
  // it, outside the lock; a stateful one falls back to its last saved state.
  if (failed) {
    std::unique_ptr<engine::Instance> dead = std::move(inst->live);
    std::unique_ptr<linker::ComponentInstance> dead_http = std::move(inst->http_live);
    inst->host.reset();
    inst->reactor.reset();
    inst->wasi.reset();
  }
  Lock lock(*this);
  const time_point now = clock_->now();
  inst->busy = false;
  ++inst->requests;
  inst->last_used = now;
  c.last_activity = now;
  int bucket = static_cast<int>((now.time_since_epoch() / kBucket) % kBuckets);
  c.bucket_cpu_ms[bucket] += cpu_ms;
  if (failed) {
    account(*inst, -1);
    inst->state = inst->has_saved() ? State::kStandby : State::kStopped;
    account(*inst, +1);
    if (inst->state == State::kStopped) forget(*inst);
  } else {
    if (keep_awake_ms == 0) inst->keep_awake_until = {};
    if (keep_awake_ms > 0) {
      inst->keep_awake_until =
          now + milliseconds(std::min<int64_t>(keep_awake_ms, c.spec.policy.max_keep_awake.count()));
    }
    notify_ticker(std::max(now + c.spec.policy.idle_timeout, inst->keep_awake_until));
  }
  cv_.notify_all();
}

// ---- metrics ----

void Node::record(Component& c, time_point now) {
  int64_t epoch = now.time_since_epoch() / kBucket;
  int b = static_cast<int>(epoch % kBuckets);
  if (c.bucket_epoch[b] != epoch) {
    c.bucket_epoch[b] = epoch;
    c.bucket_requests[b] = 0;
    c.bucket_cpu_ms[b] = 0;
  }
  ++c.bucket_requests[b];
}

MetricValues Node::metrics_of(const Component& c, time_point now) const {
  MetricValues v;
  v.inflight = c.busy() + c.waiting;
  int64_t epoch = now.time_since_epoch() / kBucket;
  double cpu = 0;
  for (int k = 0; k < kBuckets; ++k) {
    if (c.bucket_epoch[k] > epoch - kBuckets) {
      v.rps += c.bucket_requests[k];
      cpu += c.bucket_cpu_ms[k];
    }
  }
  uint32_t running = std::max(1u, c.count(State::kRunning));
  v.cpu = cpu / 1000.0 * 100.0 / running;  // % of one core per instance over the last second
  return v;
}

// ---- timers and autoscaler ----

time_point Node::tick() {
  std::vector<Work> work;
  time_point now;
  time_point next;
  {
    Lock lock(*this);
    now = clock_->now();
    next = now + milliseconds(1000);
    for (auto& cp : components_) {
      Component& c = *cp;
      const ComponentPolicy& pol = c.spec.policy;
      if (c.spare_wanted && !c.spare && !c.http_spare && !c.spare_pending) {
        Work w{Work::kSpare, nullptr, &c, c.spec.http ? nullptr : c.spec.init};
        if (c.spec.http) w.http_origin = wagi::http_start_image(*c.spec.http);
        if (w.origin || w.http_origin) {
          c.spare_pending = true;
          if (options_.background) {
            copy_queue_.push_back(std::move(w));
            copier_cv_.notify_one();
          } else {
            work.push_back(std::move(w));  // tests without threads: in tick(), first
          }
        }
      }
      c.spare_wanted = false;
      c.drop_unused_spare();
      uint32_t running = c.count(State::kRunning) + c.count(State::kStarting);
      uint32_t leaving = 0;
      // Autoscaler (step policies): plan_scale decides, this carries it out.
      if (!pol.scale.policies.empty()) {
        // Idle instances a scale-in may take (it takes the least recently used).
        std::vector<Inst*> idle;
        for (auto& i : c.instances) {
          if (i->state == State::kRunning && !i->busy && !i->claimed && i->keep_awake_until <= now) {
            idle.push_back(i.get());
          }
        }
        ScaleInputs in{.running = running, .waiting = c.waiting, .idle = static_cast<uint32_t>(idle.size())};
        if (running > 0 || c.waiting > 0) in.metrics = metrics_of(c, now);
        const ScalePlan plan = plan_scale(
            pol.scale, in,
            ScaleHistory{.scaled_once = c.scaled_once, .last_scale_out = c.last_scale_out,
                         .last_scale_change = c.last_scale_change},
            now);
        if (plan.reason == ScaleReason::kScaleOut) {
          for (uint32_t k = 0; k < plan.start; ++k) {
            std::string why;
            Inst* inst = claim_start(c, &why);
            if (!inst) break;  // admission refused: the rest of the plan waits for the next tick
            work.push_back({Work::kStart, inst});
          }
          c.last_scale_out = c.last_scale_change = now;
          c.scaled_once = true;
          ++c.scale_outs;
        } else if (plan.reason == ScaleReason::kScaleIn) {
          std::sort(idle.begin(), idle.end(), [](Inst* a, Inst* b) { return a->last_used < b->last_used; });
          for (uint32_t k = 0; k < plan.stop; ++k) {
            Inst* i = idle[k];
            begin_draining(*i);
            work.push_back({pol.stateful ? Work::kStandby : Work::kStop, i});
            ++leaving;
          }
          c.last_scale_change = now;
          ++c.scale_ins;
        }
        if (running > 0) next = std::min(next, now + milliseconds(5));
      }
      // Idle timeouts.
      if (pol.scale_to_zero == ScaleToZero::kOff) continue;
      uint32_t min = pol.scale.min_instances;
      if (pol.scale_to_zero == ScaleToZero::kIdle) {
        if (c.busy() > 0 || c.waiting > 0) continue;
        milliseconds delay = pol.idle_timeout;
        bool kept = false;
        for (auto& i : c.instances) {
          if (i->state == State::kRunning && i->keep_awake_until > now) {
            kept = true;
            next = std::min(next, i->keep_awake_until);
          }
          if (i->state == State::kRunning) delay = std::max(delay, standby_delay(*i));
        }
        time_point due = c.last_activity + delay;
        if (kept) continue;
        if (now < due) {
          if (running > leaving) next = std::min(next, due);
          continue;
        }
      }
      std::vector<Inst*> idle;
      for (auto& i : c.instances) {
        if (i->state != State::kRunning || i->busy || i->claimed) continue;
        if (i->keep_awake_until > now) {
          next = std::min(next, i->keep_awake_until);
          continue;
        }
        time_point due = std::max(i->last_used + standby_delay(*i), i->keep_awake_until);
        if (pol.scale_to_zero == ScaleToZero::kOn && now < due) {
          next = std::min(next, due);
          continue;
        }
        idle.push_back(i.get());
      }
      std::sort(idle.begin(), idle.end(), [](Inst* a, Inst* b) { return a->last_used < b->last_used; });
      uint32_t remaining = running - leaving;
      for (Inst* i : idle) {
        if (remaining <= min) break;
        begin_draining(*i);
        work.push_back({Work::kStandby, i});
        --remaining;
      }
    }
  }
  run_work(work);
  return next;
}

void Node::want_spare(Component& c, const Inst& i) {
  // Under mu_, after i started. A copy of the start image is wanted when i
  // runs from it with no state of its own, or woke from a delta over it past
  // half the delta's cap (its next standby may outgrow a delta, and then goes
  // onto the copy).
  if (!c.spec.policy.stateful || c.spare_pending) return;
  if (c.spec.http ? c.http_spare || !wagi::http_start_image(*c.spec.http) : c.spare != nullptr) return;
  constexpr uint64_t kHalfDeltaBytes = engine::Snapshot::kMaxDeltaPages * 4096 / 2;
  const bool wanted =
      c.spec.http ? !i.http_saved || (linker::is_delta(*i.http_saved) &&
                                      linker::image_stats(*i.http_saved).written_bytes > kHalfDeltaBytes)
                  : !i.saved || (i.saved->delta() && i.saved->stats().written_bytes > kHalfDeltaBytes);
  if (!wanted) return;
  c.spare_wanted = true;
  notify_ticker(clock_->now());
}

void Node::await_spare(Lock& lock, const Inst& i) {
  // A first standby soon after the start: the spare may still be being copied
  // (in the kernel, page cache to page cache), which takes less than the
  // full capture it saves. Waited for, unless a request wants the instance back.
  // (Only the copier thread makes spares, so only with one.)
  const Component& c = *i.comp;
  if (!options_.background) return;
  while (c.spare_pending && !c.spare && !c.http_spare && !c.removed && !stopping_ &&
         !i.wanted.load(std::memory_order_relaxed)) {
    lock.wait_for(cv_, milliseconds(1));
  }
}

void Node::run_spare(const Work& w) {
  // Outside the lock: copies the whole image (a core start snapshot, or a
  // wasi:http component's image).
  std::optional<Result<std::shared_ptr<engine::Snapshot>>> copy;
  std::optional<Result<std::shared_ptr<linker::InstanceImage>>> http_copy;
  if (w.http_origin) {
    http_copy = linker::own_copy(w.http_origin);
  } else {
    copy = w.origin->own_copy();
  }
  Lock lock(*this);
  auto alive = std::find_if(components_.begin(), components_.end(),
                            [&](const auto& c) { return c.get() == w.comp; });
  if (alive == components_.end()) return;  // undeployed meanwhile
  Component& c = *w.comp;
  c.spare_pending = false;
  if (http_copy && http_copy->ok() && !c.http_spare && c.active() > 0) c.http_spare = std::move(**http_copy);
  if (copy && copy->ok() && c.spec.init.get() == w.origin.get() && !c.spare && c.active() > 0) {
    c.spare = std::move(**copy);
    c.spare_origin = w.origin;
  }
  cv_.notify_all();  // a standby waiting for it (await_spare)
}

void Node::run_work(std::vector<Work>& work) {
  for (const Work& w : work) {
    if (w.kind == Work::kSpare) {
      run_spare(w);
      continue;
    }
    if (w.kind == Work::kStart) {
      auto started = start(*w.inst);
      Lock lock(*this);
      account(*w.inst, -1);
      w.inst->claimed = false;
      w.inst->state = started.ok() ? State::kRunning : (w.inst->has_saved() ? State::kStandby : State::kStopped);
      w.inst->last_used = clock_->now();
      account(*w.inst, +1);
      if (started.ok()) want_spare(*w.inst->comp, *w.inst);
      if (started.ok()) log_event(lock, "instance started by the autoscaler", *w.inst);
      cv_.notify_all();
    } else {
      standby(*w.inst, w.kind == Work::kStop);
    }
  }
}

// ---- administration ----

std::vector<InstanceInfo> Node::instances() const {
  Lock lock(*this);
  std::vector<InstanceInfo> out;
  const time_point now = clock_->now();
  for (const auto& c : components_) {
    for (const auto& i : c->instances) {
      InstanceInfo info;
      info.name = i->name;
      info.app = c->spec.app;
      info.component = c->spec.component;
      info.state = i->state;
      info.busy = i->busy;
      info.created = i->created_wall;
      info.last_wake = i->wake_wall;
      if (i->live) {
        if (wasm_rt_memory_t* m = i->live->memory()) info.memory_bytes = m->size;
      } else if (i->http_live) {
        info.memory_bytes = i->http_live->memory_bytes();
      } else {
        info.memory_bytes = i->saved_bytes;
      }
      info.requests = i->requests;
      info.wakes = i->wakes;
      info.last_wake_ms = i->last_wake_ms;
      info.last_standby_ms = i->last_standby_ms;
      info.keep_awake = i->keep_awake_until > now;
      out.push_back(std::move(info));
    }
  }
  return out;
}

std::vector<ComponentInfo> Node::components() const {
  Lock lock(*this);
  std::vector<ComponentInfo> out;
  const time_point now = clock_->now();
  for (const auto& c : components_) {
    ComponentInfo info;
    info.app = c->spec.app;
    info.component = c->spec.component;
    info.policy = c->spec.policy;
    info.memory_limit_bytes = c->spec.memory_limit_bytes;
    info.running = c->count(State::kRunning) + c->count(State::kStarting);
    info.standby = c->count(State::kStandby);
    info.busy = c->busy();
    info.waiting = c->waiting;
    info.metrics = metrics_of(*c, now);
    info.requests = c->requests;
    info.rejected = c->rejected;
    info.wakes = c->wakes;
    info.scale_outs = c->scale_outs;
    info.scale_ins = c->scale_ins;
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<QuotaView> Node::quotas() const {
  Lock lock(*this);
  std::vector<QuotaView> out;
  out.push_back({"node", options_.quotas, node_used_});
  for (const auto& [name, app] : apps_) out.push_back({"app " + name, app->quotas, app->used});
  return out;
}

Result<void> Node::set_scale(Component& c, const ScaleConfig& scale) {
  if (scale.max_instances == 0) return make_error("max_instances must be at least 1");
  if (scale.min_instances > scale.max_instances) return make_error("min_instances exceeds max_instances");
  for (const auto& p : scale.policies) WINK_TRY(p.validate());
  Lock lock(*this);
  c.spec.policy.scale = scale;
  c.scaled_once = false;
  notify_ticker(clock_->now());
  return {};
}

Result<void> Node::set_policy(Component& c, const ComponentPolicy& policy) {
  if (policy.idle_timeout < milliseconds(10)) return make_error("idle_timeout must be at least 10ms");
  WINK_TRY(set_scale(c, policy.scale));
  Lock lock(*this);
  c.spec.policy = policy;
  notify_ticker(clock_->now());
  return {};
}

void Node::set_node_quotas(const Quotas& q) {
  Lock lock(*this);
  options_.quotas = q;
  cv_.notify_all();
}

void Node::set_app_quotas(const std::string& app, const Quotas& q) {
  Lock lock(*this);
  auto& a = apps_[app];
  if (!a) a = std::make_unique<AppState>();
  a->quotas = q;
  cv_.notify_all();
}

}  // namespace wink::lifecycle
