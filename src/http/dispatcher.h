// The executor pool behind an asynchronous Server: a fixed number of threads
// run submitted tasks (guest requests), with a concurrency limit per dispatch
// key, so one key (an app, a component) cannot take every thread. A task over
// its key's limit waits in the key's bounded queue without holding a thread;
// a full queue refuses the task at once (the caller answers 503/429).
//
//   http::Dispatcher pool({.threads = 8, .per_key_threads = 4, .per_key_queue = 256});
//   if (pool.submit("shop/cart", [done = std::move(done)]() mutable { ...; done.complete(); }) !=
//       http::Dispatcher::Submitted::kAccepted) { /* 503 + Retry-After */ }
//
// Keys are plain strings chosen by the caller (cheaply, on the I/O thread).
// Tasks of one key start in submission order; across keys, in order of
// becoming runnable.
//
// Wake-ups are counted, not broadcast: a submitted task wakes a sleeping
// executor only when no awake executor is between tasks (one will take it),
// or when there are more tasks than such executors and a CPU to spare. An
// executor that takes a task while others are still waiting and no other
// executor is between tasks wakes one first, so a waiting task never sits
// behind a running one while an executor sleeps. On one CPU a burst of
// requests is run back to back by few threads instead of waking all of them
// (each wake is a futex call and a context switch).
//
// Short tasks run on the I/O thread that submitted them, at the end of its
// batch, without waking an executor at all (a context switch each way costs
// more than a short guest request): a key's task goes there when the caller
// allows it (submit's `may_run_inline`) and the key's recent runs were all
// short (DispatcherConfig::quick_run). The I/O thread lends its loop meanwhile (lend_io_loop),
// so a task that turns out slow or hostile has its loop taken over within
// about 2 ms; a slow run makes its key prove itself again, over twice as many
// short runs each time, before it may run inline again; each second without
// a slow run halves that again (a machine's passing stall, not the guest,
// makes most slow runs of a short key: without this, a few of them in a
// key's life would send thousands of its requests to executors each time). One batch's tasks
// get kInlineBudget on the I/O thread; the rest go to executors, so one key's
// backlog never holds up the thread's other connections for longer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "http/server.h"

namespace wink::http {

// A move-only `void()` callable (std::function needs copyable targets, and a
// task usually owns a move-only Completion). A callable of up to kInline
// bytes lives inside the Task: a request's task costs no allocation.
class Task {
 public:
  static constexpr size_t kInline = 48;
  Task() = default;
  template <typename F>
    requires(!std::is_same_v<F, Task>)
  Task(F f) {  // NOLINT: implicit on purpose
    if constexpr (kStoredInline<F>) {
      ::new (static_cast<void*>(storage_)) F(std::move(f));
    } else {
      ::new (static_cast<void*>(storage_)) F*(new F(std::move(f)));
    }
    ops_ = &kOps<F>;
  }
  Task(Task&& other) noexcept { take(other); }
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  ~Task() { reset(); }
  void operator()() { ops_->run(storage_); }
  explicit operator bool() const { return ops_ != nullptr; }
  // The callable, when it is an F (nullptr otherwise).
  template <typename F>
  F* target() {
    return ops_ == &kOps<F> ? callable<F>(storage_) : nullptr;
  }

 private:
  struct Ops {
    void (*run)(void*);
    void (*move)(void* from, void* to);  // constructs `to`, destroys `from`
    void (*destroy)(void*);
  };
  template <typename F>
  static constexpr bool kStoredInline = sizeof(F) <= kInline && alignof(F) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<F>;
  template <typename F>
  static F* callable(void* s) {
    if constexpr (kStoredInline<F>) return std::launder(static_cast<F*>(s));
    else return *std::launder(static_cast<F**>(s));
  }
  template <typename F>
  static constexpr Ops kOps{
      [](void* s) { (*callable<F>(s))(); },
      [](void* from, void* to) {
        if constexpr (kStoredInline<F>) {
          ::new (to) F(std::move(*callable<F>(from)));
          callable<F>(from)->~F();
        } else {
          ::new (to) F*(callable<F>(from));
        }
      },
      [](void* s) {
        if constexpr (kStoredInline<F>) callable<F>(s)->~F();
        else delete callable<F>(s);
      },
  };
  void take(Task& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->move(other.storage_, storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }
  void reset() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->destroy(storage_);
  }
  alignas(std::max_align_t) unsigned char storage_[kInline];
  const Ops* ops_ = nullptr;
};

struct DispatcherConfig {
  unsigned threads = 0;          // 0: default_threads()
  unsigned per_key_threads = 0;  // 0: half the threads (rounded up), at least 1
  size_t per_key_queue = 256;    // tasks waiting per key beyond those running
  bool run_short_on_io_threads = true;  // short tasks may run on the submitting I/O thread
  // A run this short counts for its key running on I/O threads.
  std::chrono::microseconds quick_run{500};
  // Each period this long without a slow run halves the short runs a key
  // must show (down to kFirstQuickRuns).
  std::chrono::milliseconds quick_forgive{1000};
};

class Dispatcher {
 public:
  // 4 per CPU this process may run on (guests also wait: on outbound HTTP,
  // key-value stores, a waking instance), at least 4.
  static unsigned default_threads();

  explicit Dispatcher(DispatcherConfig config = {});
  ~Dispatcher();  // stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Short runs a key needs before its first run on an I/O thread (doubled
  // after each slow run, up to kMaxQuickRuns).
  static constexpr uint32_t kFirstQuickRuns = 4;
  static constexpr uint32_t kMaxQuickRuns = 4096;
  // Time an I/O thread spends on one batch's tasks; the rest go to executors.
  static constexpr std::chrono::microseconds kInlineBudget{1000};

  enum class Submitted { kAccepted, kQueueFull, kStopped };
  // Runs `task` on an executor thread when its key is under its limit, or,
  // with `may_run_inline`, on this I/O thread at the end of its batch when
  // the key's runs have been short (see above). On kQueueFull / kStopped the
  // task is left in `task`, not run (a temporary is destroyed at once).
  Submitted submit(std::string_view key, Task&& task, bool may_run_inline = false);

  // Lets the running tasks finish, destroys the queued ones without running
  // them, joins the threads. Idempotent.
  void stop();

  unsigned threads() const { return threads_; }
  // Tasks run on I/O threads so far.
  uint64_t ran_inline() const;
  unsigned per_key_threads() const { return per_key_; }
  size_t per_key_queue() const { return queue_cap_; }

  struct KeyStats {
    uint32_t running = 0;  // admitted: running or about to run
    size_t waiting = 0;    // in the key's queue
  };
  KeyStats stats(std::string_view key) const;

 private:
  struct Key {
    std::string name;
    uint32_t admitted = 0;     // running, in ready_, or on an I/O thread's list
    std::deque<Task> waiting;  // over the limit
    uint32_t quick_runs = 0;   // consecutive runs under quick_run_
    uint32_t quick_needed = kFirstQuickRuns;  // before it may run on an I/O thread
    std::chrono::steady_clock::time_point forgiven_until{};  // slow run, or last halving since
  };
  // A task an I/O thread runs at the end of its batch (run_inline_batch).
  struct InlineTask {
    Dispatcher* pool;
    Key* key;
    Task task;
  };
  static thread_local std::vector<InlineTask> t_inline_;
  static thread_local bool t_inline_hooked_;  // run_inline_batch is deferred for this batch

  void run();
  void admit(Key& key, Task task);  // under mu_
  // Under mu_: a run of `key`'s task ended at `ended` after `took`. Returns the key's
  // next waiting task when `take_next` and there is one (it stays admitted,
  // for the caller to run); otherwise admits it to ready_ (the caller wakes
  // an executor if take_wake says so).
  Task finished(Key& key, std::chrono::steady_clock::time_point ended,
                std::chrono::steady_clock::duration took, bool take_next);
  // Under mu_: halves what `key` must show once per quick_forgive_ since its
  // last slow run (or last halving).
  void forgive(Key& key, std::chrono::steady_clock::time_point now);
  bool quick(const Key& key) const { return key.quick_runs >= key.quick_needed; }
  static void run_inline_batch(void*);
  void run_inline(InlineTask& t, std::vector<InlineTask>& more);
  void requeue(InlineTask t);  // to ready_, for an executor
  // Under mu_: should one more sleeping executor be woken for ready_? If so,
  // moves one from idle_ to looking_ (its token); the caller notifies cv_
  // after unlocking.
  bool take_wake();
  static void notify_one(void* self);  // a wake postponed to the end of an I/O batch

  unsigned threads_;
  unsigned per_key_;
  size_t queue_cap_;
  unsigned cpus_;  // CPUs this process may run on
  mutable std::mutex mu_;
  std::condition_variable cv_;
  unsigned idle_ = 0;     // executors asleep on cv_ without a token
  unsigned looking_ = 0;  // executors awake between tasks (or woken): they will take from ready_
  unsigned running_ = 0;  // executors running a task
  unsigned tokens_ = 0;   // wake-ups granted, not yet taken by a sleeping executor
  std::deque<std::pair<Key*, Task>> ready_;
  std::map<std::string, std::unique_ptr<Key>, std::less<>> keys_;  // idle keys erased beyond 256
  std::atomic<bool> stopping_{false};  // written under mu_; read without it by run_inline_batch
  bool inline_ok_;
  std::chrono::steady_clock::duration quick_run_;
  std::chrono::steady_clock::duration quick_forgive_;
  uint64_t ran_inline_ = 0;
  std::vector<std::thread> workers_;
};

// The usual way an AsyncHandler uses the pool: runs `work(request, response)`
// (a `void(const Request&, Response&)` callable) for `done` on an executor
// under `key`, then completes it. When the key's queue is full (or the pool
// is stopped) answers 503 with Retry-After: 1 at once, on the calling thread,
// and returns false. A request whose body is still streaming in never runs
// on the I/O thread (its reads wait for that thread to feed them).
template <typename Work>
bool dispatch(Dispatcher& pool, std::string_view key, Completion done, Work work);

namespace detail {
// A dispatched request: its Completion and the work that answers it.
template <typename Work>
struct Dispatched {
  Completion done;
  Work work;
  void operator()() {
    try {
      work(done.request(), done.response());
    } catch (...) {
      done.response().clear();
      done.response().status = 500;
    }
    done.complete();
  }
};
bool may_run_inline(const Completion& done);
// Answers a request the pool refused (503, Retry-After: 1).
void answer_refused(Completion& done, Dispatcher::Submitted why);
}  // namespace detail

template <typename Work>
bool dispatch(Dispatcher& pool, std::string_view key, Completion done, Work work) {
  const bool may_run_inline = detail::may_run_inline(done);
  Task task(detail::Dispatched<Work>{std::move(done), std::move(work)});
  const auto submitted = pool.submit(key, std::move(task), may_run_inline);
  if (submitted == Dispatcher::Submitted::kAccepted) return true;
  detail::answer_refused(task.target<detail::Dispatched<Work>>()->done, submitted);
  return false;
}

}  // namespace wink::http
