// Inside the server: what travels from handler threads back to a
// connection's I/O thread. Completed exchanges, and streams (stream.h) with
// something new for their connection (response bytes, room for more request
// bytes). Shared with every Exchange and BodyStream out, so a handler
// finishing after the worker exited is safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace wink::http {

namespace detail {
struct Exchange;
}  // namespace detail
class BodyStream;

// The eventfd is written only when the worker sleeps (or is about to) in
// epoll_wait: an awake worker looks at `posted` before it sleeps again, so a
// burst of completions costs at most one write and one wake-up.
struct Mailbox {
  int fd = -1;  // eventfd: readable when a sleeping worker was woken
  std::mutex mu;
  std::vector<std::unique_ptr<detail::Exchange>> done;
  std::vector<std::shared_ptr<BodyStream>> streams;
  bool closed = false;  // the worker is gone: drop what arrives
  // `done` or `streams` is not empty. Set under mu, cleared under mu by the worker.
  std::atomic<bool> posted{false};
  // The worker is in epoll_wait or about to enter it; the first poster to
  // see it set clears it and writes the eventfd. Both flags are seq_cst: the
  // worker stores `asleep` then loads `posted`, a poster stores `posted`
  // then loads `asleep`, so at least one of them sees the other's store.
  std::atomic<bool> asleep{false};
  ~Mailbox();
  void wake();
  // After posting (outside mu): wakes a sleeping worker once.
  void wake_if_asleep() {
    if (asleep.load() && asleep.exchange(false)) wake();
  }
};

}  // namespace wink::http
