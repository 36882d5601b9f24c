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
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/server.h"

namespace wink::http {

// A move-only `void()` callable (std::function needs copyable targets, and a
// task usually owns a move-only Completion).
class Task {
 public:
  Task() = default;
  template <typename F>
  Task(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}  // NOLINT: implicit on purpose
  void operator()() { impl_->run(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void run() = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F f) : f(std::move(f)) {}
    void run() override { f(); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

struct DispatcherConfig {
  unsigned threads = 0;          // 0: default_threads()
  unsigned per_key_threads = 0;  // 0: half the threads (rounded up), at least 1
  size_t per_key_queue = 256;    // tasks waiting per key beyond those running
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

  enum class Submitted { kAccepted, kQueueFull, kStopped };
  // Runs `task` on an executor thread when its key is under its limit. On
  // kQueueFull / kStopped the task is destroyed without running.
  Submitted submit(std::string_view key, Task task);

  // Lets the running tasks finish, destroys the queued ones without running
  // them, joins the threads. Idempotent.
  void stop();

  unsigned threads() const { return threads_; }
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
    uint32_t admitted = 0;     // running or in ready_
    std::deque<Task> waiting;  // over the limit
  };
  void run();
  void admit(Key& key, Task task);  // under mu_
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
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// The usual way an AsyncHandler uses the pool: runs `work(request, response)`
// for `done` on an executor under `key`, then completes it. When the key's
// queue is full (or the pool is stopped) answers 503 with Retry-After: 1 at
// once, on the calling thread, and returns false.
using Work = std::function<void(const Request& request, Response& response)>;
bool dispatch(Dispatcher& pool, std::string_view key, Completion done, Work work);

}  // namespace wink::http
