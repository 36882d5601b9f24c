// Executor pool with per-key limits (dispatcher.h).
#include "http/dispatcher.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>

#include "http/stream.h"

namespace wink::http {

namespace {

// Keys are erased when idle once there are more than this many (tenants come
// and go); below it they stay, so a key's next request allocates nothing.
constexpr size_t kIdleKeysKept = 256;

unsigned cpus_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<unsigned>(CPU_COUNT(&set));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

thread_local std::vector<Dispatcher::InlineTask> Dispatcher::t_inline_;
thread_local bool Dispatcher::t_inline_hooked_ = false;

unsigned Dispatcher::default_threads() { return std::max(4u, 4 * cpus_available()); }

Dispatcher::Dispatcher(DispatcherConfig config)
    : threads_(config.threads ? config.threads : default_threads()),
      per_key_(config.per_key_threads ? std::min(config.per_key_threads, threads_)
                                      : std::max(1u, (threads_ + 1) / 2)),
      queue_cap_(config.per_key_queue),
      cpus_(cpus_available()),
      inline_ok_(config.run_short_on_io_threads),
      quick_run_(config.quick_run),
      quick_forgive_(std::max<std::chrono::steady_clock::duration>(config.quick_forgive,
                                                                    std::chrono::milliseconds(1))) {
  looking_ = threads_;  // each starts awake, finds nothing and sleeps
  workers_.reserve(threads_);
  for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { run(); });
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::notify_one(void* self) { static_cast<Dispatcher*>(self)->cv_.notify_one(); }

bool Dispatcher::take_wake() {
  if (idle_ == 0 || ready_.empty()) return false;
  // Nobody between tasks: without a wake the task would wait for a running
  // one to finish. Otherwise only wake for parallelism there is a CPU for.
  bool wake = looking_ == 0 || (ready_.size() > looking_ && looking_ + running_ < cpus_);
  if (!wake) return false;
  --idle_;
  ++looking_;
  ++tokens_;
  return true;
}

void Dispatcher::admit(Key& key, Task task) {
  ++key.admitted;
  ready_.emplace_back(&key, std::move(task));
}

Dispatcher::Submitted Dispatcher::submit(std::string_view key_name, Task&& task, bool may_run_inline) {
  std::unique_lock lock(mu_);
  if (stopping_) return Submitted::kStopped;
  auto it = keys_.find(key_name);
  if (it == keys_.end()) {
    auto k = std::make_unique<Key>();
    k->name = std::string(key_name);
    it = keys_.emplace(k->name, std::move(k)).first;
  }
  Key& key = *it->second;
  if (key.admitted < per_key_) {
    if (may_run_inline && inline_ok_ && quick(key) &&
        (t_inline_hooked_ ||
         (t_inline_hooked_ = defer_until_batch_end(&Dispatcher::run_inline_batch, nullptr)))) {
      ++key.admitted;
      lock.unlock();
      t_inline_.push_back({this, &key, std::move(task)});
      return Submitted::kAccepted;
    }
    admit(key, std::move(task));
    bool wake = take_wake();
    lock.unlock();  // the woken thread need not block on mu_ at once
    // On an I/O thread, after its batch of requests: woken now, the executor
    // would preempt it after each one (the token is already counted, so the
    // batch's other requests do not ask for more executors meanwhile).
    if (wake && !defer_until_batch_end(&Dispatcher::notify_one, this)) cv_.notify_one();
    return Submitted::kAccepted;
  }
  if (key.waiting.size() >= queue_cap_) return Submitted::kQueueFull;  // (the caller keeps the task)
  key.waiting.push_back(std::move(task));
  return Submitted::kAccepted;
}

void Dispatcher::run() {
  // Like the I/O threads: no process signal lands here (the runtime
  // unblocks its own trap and deadline signals inside guest calls).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lock(mu_);
  while (true) {  // this thread is counted in looking_ here
    if (ready_.empty()) {
      if (stopping_) {
        --looking_;
        return;  // nothing admitted left
      }
      --looking_;
      ++idle_;
      cv_.wait(lock, [&] { return tokens_ > 0 || stopping_; });
      if (tokens_ > 0) {
        --tokens_;  // the waker already moved one thread from idle_ to looking_
      } else {
        --idle_;
        ++looking_;
      }
      continue;
    }
    auto [key, task] = std::move(ready_.front());
    ready_.pop_front();
    if (stopping_) {
      // Admitted but not started: dropped like the queued ones.
      --key->admitted;
      lock.unlock();
      task = Task();
      lock.lock();
      continue;
    }
    --looking_;
    ++running_;
    bool wake = take_wake();  // tasks left behind this one get an executor
    lock.unlock();
    if (wake) cv_.notify_one();
    auto start = std::chrono::steady_clock::now();
    task();
    task = Task();  // destroyed outside the lock (it may complete a request)
    const auto ended = std::chrono::steady_clock::now();
    lock.lock();
    --running_;
    ++looking_;
    // A next waiting task goes to ready_: this thread is looking, it takes it (or another does).
    finished(*key, ended, ended - start, false);
  }
}

void Dispatcher::forgive(Key& key, std::chrono::steady_clock::time_point now) {
  if (key.quick_needed <= kFirstQuickRuns || now < key.forgiven_until + quick_forgive_) return;
  const auto periods = (now - key.forgiven_until) / quick_forgive_;
  key.quick_needed = periods >= 31 ? kFirstQuickRuns
                                   : std::max(kFirstQuickRuns, key.quick_needed >> periods);
  key.forgiven_until += periods * quick_forgive_;
}

Task Dispatcher::finished(Key& key, std::chrono::steady_clock::time_point ended,
                          std::chrono::steady_clock::duration took, bool take_next) {
  --key.admitted;
  forgive(key, ended);
  if (took < quick_run_) {
    if (key.quick_runs < kMaxQuickRuns) ++key.quick_runs;
  } else {
    key.quick_runs = 0;
    key.quick_needed = std::min(key.quick_needed * 2, kMaxQuickRuns);
    key.forgiven_until = ended;
  }
  if (!key.waiting.empty()) {
    Task next = std::move(key.waiting.front());
    key.waiting.pop_front();
    if (take_next) {
      ++key.admitted;
      return next;
    }
    admit(key, std::move(next));
  } else if (key.admitted == 0 && keys_.size() > kIdleKeysKept) {
    keys_.erase(key.name);  // (a few idle keys stay: no allocation per request)
  }
  return Task();
}

void Dispatcher::run_inline_batch(void*) {
  t_inline_hooked_ = false;
  thread_local std::vector<InlineTask> batch;  // kept for its capacity
  batch.swap(t_inline_);
  // Tasks of this batch (and the next waiting ones of their keys) one after
  // another, each with the loop lent, within kInlineBudget; the rest go to
  // executors, so the loop returns to its other connections (other keys' next
  // requests run here again at once). Once the loop is taken over, the same.
  using Clock = std::chrono::steady_clock;
  Clock::time_point start{}, began{};  // read lazily: a task's end is the next one's start
  bool over_budget = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    InlineTask t = std::move(batch[i]);
    Dispatcher& pool = *t.pool;
    // (A task's start is the previous one's end, or read now: the loan's start too.)
    const Clock::time_point now = began == Clock::time_point{} ? Clock::now() : began;
    if (over_budget || pool.stopping_.load(std::memory_order_relaxed) || !lend_io_loop(now)) {
      pool.requeue(std::move(t));
      continue;
    }
    if (began == Clock::time_point{}) start = began = now;
    t.task();
    t.task = Task();
    auto ended = Clock::now();
    bool kept = reclaim_io_loop();
    over_budget = ended - start >= kInlineBudget;
    std::unique_lock lock(pool.mu_);
    ++pool.ran_inline_;
    Task next = pool.finished(*t.key, ended, ended - began,
                              kept && !over_budget && !pool.stopping_ && pool.quick(*t.key));
    bool wake = pool.take_wake();  // a next waiting task admitted to ready_
    lock.unlock();
    if (wake) pool.cv_.notify_one();
    if (next) batch.push_back({&pool, t.key, std::move(next)});
    began = ended;
  }
  batch.clear();
}

void Dispatcher::requeue(InlineTask t) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    // Admitted but not started: dropped like the queued ones.
    --t.key->admitted;
    lock.unlock();
    return;  // the task is destroyed here, outside the lock
  }
  admit(*t.key, std::move(t.task));
  bool wake = take_wake();
  lock.unlock();
  if (wake) cv_.notify_one();
}

uint64_t Dispatcher::ran_inline() const {
  std::lock_guard lock(mu_);
  return ran_inline_;
}

void Dispatcher::stop() {
  std::vector<Task> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (auto& [name, key] : keys_) {
      for (auto& t : key->waiting) dropped.push_back(std::move(t));
      key->waiting.clear();
    }
  }
  cv_.notify_all();
  dropped.clear();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

Dispatcher::KeyStats Dispatcher::stats(std::string_view key_name) const {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key_name);
  if (it == keys_.end()) return {};
  return KeyStats{it->second->admitted, it->second->waiting.size()};
}

namespace detail {

bool may_run_inline(const Completion& done) {
  const BodyStream* stream = done.request().stream.get();
  return stream == nullptr || !stream->body_streams();
}

void answer_refused(Completion& done, Dispatcher::Submitted why) {
  Response& resp = done.response();
  resp.clear();
  resp.status = 503;
  resp.add_header("Retry-After", "1");
  resp.add_header("Content-Type", "text/plain");
  resp.body = why == Dispatcher::Submitted::kQueueFull ? "busy: too many requests waiting\n" : "shutting down\n";
  done.complete();
}

}  // namespace detail

}  // namespace wink::http
