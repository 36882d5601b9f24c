// The HTTP/1.1 ingress: I/O threads ("workers"), one per core by default,
// each with its own epoll loop over non-blocking sockets, sharing one
// listening socket (EPOLLEXCLUSIVE wakes an idle worker for a new
// connection). A worker parses a request and hands it to the handler; an
// asynchronous handler returns at once and completes the request later from
// any thread, while the worker goes on serving other connections. See
// docs/http.md for the model, the limits and the access log format.
//
//   // Synchronous: runs on the I/O thread, so it must be quick and never block.
//   wink::http::Server server(config, [](const Request& req, Response& resp) {
//     resp.add_header("Content-Type", "text/plain");
//     resp.body = "hello";
//   });
//
//   // Asynchronous: slow work goes to a Dispatcher (executor pool) or anywhere else.
//   wink::http::Dispatcher pool({});
//   wink::http::Server server(config, wink::http::AsyncHandler([&](Completion done) {
//     pool.submit("app/component", [done = std::move(done)]() mutable {
//       done.response().body = slow_work(done.request());
//       done.complete();
//     });   // a Completion dropped unanswered (queue full, pool stopped) answers 500
//   }));
//
//   WINK_TRY(server.start());
//   auto signals = wink::http::ShutdownSignals::install();  // before other threads start
//   signals->wait();                                        // SIGINT or SIGTERM
//   server.stop(std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace wink::http {

// Called once per complete request, on an I/O thread, possibly on several at
// once (must be thread-safe). `response` starts as 200, no headers, empty
// body. Exceptions are caught and answered with 500. It blocks every
// connection of its I/O thread while it runs: only for quick work.
using Handler = std::function<void(const Request& request, Response& response)>;

namespace detail {
struct Exchange;
void finish(std::unique_ptr<Exchange> exchange);
}  // namespace detail

// One request in flight, handed to an AsyncHandler. Move-only. The Request
// and Response live as long as the Completion (or until complete()).
// complete() sends the response (from any thread, once); a Completion
// destroyed without complete() answers 500, so a lost request never leaves
// its connection hanging. The connection reads no further request (pipelined
// ones wait, in order) until this one is complete.
class Completion {
 public:
  Completion() = default;
  explicit Completion(std::unique_ptr<detail::Exchange> exchange);
  Completion(Completion&&) noexcept;
  Completion& operator=(Completion&&) noexcept;
  ~Completion();

  const Request& request() const;
  Response& response();
  // Queues the response for the connection's I/O thread and wakes it. If the
  // connection is gone (client closed it, server stopped), the response is
  // dropped. After this, request() and response() must not be used.
  void complete();
  explicit operator bool() const { return exchange_ != nullptr; }

 private:
  std::unique_ptr<detail::Exchange> exchange_;
};

// Called on the I/O thread for each complete request; must return quickly
// (hand the Completion to another thread for anything slow). Exceptions are
// caught; the Completion, if the handler still held it, answers 500.
class AsyncHandler {
 public:
  AsyncHandler() = default;
  template <typename F>
  explicit AsyncHandler(F f) : fn_(std::make_shared<Fn<F>>(std::move(f))) {}
  void operator()(Completion done) const { fn_->call(std::move(done)); }
  explicit operator bool() const { return fn_ != nullptr; }

  // Asked on the I/O thread when a request's head is complete and a body
  // follows: true hands the request to the handler at once, its body
  // streaming in through Request::stream (under
  // ServerConfig::max_streamed_body_bytes) instead of being buffered whole
  // first. Must be quick and thread-safe. Unset: every body is buffered.
  std::function<bool(const Request& head)> streams_body;

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void call(Completion done) = 0;
  };
  template <typename F>
  struct Fn final : Base {
    explicit Fn(F f) : f(std::move(f)) {}
    void call(Completion done) override { f(std::move(done)); }
    F f;
  };
  std::shared_ptr<Base> fn_;
};

// Lets a handler postpone work until its I/O thread has handled the whole
// batch of ready events it is in (before the thread sleeps again): e.g. waking
// an executor once for a batch of requests instead of being preempted by it
// after the first. Runs `fn(arg)` on this thread then. Returns false (and does
// nothing) when not called on an I/O thread.
bool defer_until_batch_end(void (*fn)(void*), void* arg);

// Lets a handler on an I/O thread postpone its clean-up (freeing an
// instance, say) until the responses of the batch it is in were sent: the
// client does not wait for it. Runs `fn(arg)` on this thread then, also when
// the work was lent and its loop taken over meanwhile. Returns false (and does
// nothing) off an I/O thread.
bool defer_until_sent(void (*fn)(void*), void* arg);

// Lets a handler on an I/O thread keep something for the thread's next
// requests (an instance made ahead) without keeping it once traffic stops:
// runs `fn(arg)` on this thread when its loop has had no event for 100 ms,
// or when the thread stops running the loop. Returns false (and does
// nothing) off an I/O thread.
bool defer_until_idle(void (*fn)(void*), void* arg);

// For work a batch-end hook runs on the I/O thread itself (a short request:
// cheaper there than a context switch to another thread and back). While it
// runs the thread's event loop is lent: should the work outlast
// LoopLoans::kLoanLimit (2 ms), another thread takes the loop over and
// serves its connections from then on, and this thread, once the work
// returns, only finishes its hooks and gives the loop up.
//
//   if (lend_io_loop(std::chrono::steady_clock::now())) {
//     work();
//     if (!reclaim_io_loop()) { /* the loop was taken over: lend no more */ }
//   }
//
// lend_io_loop() is false (and lends nothing) off an I/O thread, inside lent
// work, or once the loop was taken over. `now`: the caller's clock, read right
// before (the loan's start). Inside lent work, defer_until_batch_end is false:
// there is no batch to defer to.
bool lend_io_loop(std::chrono::steady_clock::time_point now);
bool reclaim_io_loop();

// The built-in health endpoint, answered before the handler sees the request
// (as WAGI does): 200 "OK" for any method. Cannot be overridden.
inline constexpr std::string_view kHealthPath = "/healthz";

struct AccessLogConfig {
  enum class Sink { kStderr, kFile, kOff, kCallback };
  Sink sink = Sink::kStderr;
  std::string path;  // kFile: appended to, created if missing
  // kCallback: receives one or more complete '\n'-terminated JSON lines at a
  // time, serialized (never called concurrently).
  std::function<void(std::string_view lines)> callback;
  // kFile: an I/O thread writes its lines once 64 KiB wait or the oldest has
  // waited this long (and when it stops), not at the end of every batch: one
  // write per request cost ~1.6 us on these VMs, 5-7% of a one-connection
  // hello. A crash loses at most this much of the log. 0: every batch.
  std::chrono::milliseconds file_flush_interval{100};
};

struct ServerConfig {
  std::string address = "127.0.0.1";  // numeric IPv4/IPv6 or a host name ("0.0.0.0", "::")
  uint16_t port = 0;                  // 0 = ephemeral; read the bound port with Server::port()
  unsigned workers = 0;               // 0 = one per CPU this process may run on
  int backlog = 1024;

  size_t max_header_bytes = 16 * 1024;         // request line + headers -> 431
  size_t max_uri_bytes = 8 * 1024;             // request-target -> 414
  uint64_t max_body_bytes = 16 * 1024 * 1024;  // decoded request body -> 413
  // A body the handler streams (AsyncHandler::streams_body): a Content-Length
  // over it is 413 before any of the body is read; a chunked body going over
  // it fails the handler's read, and the connection closes after the response.
  uint64_t max_streamed_body_bytes = uint64_t{1} << 30;
  size_t max_connections = 10000;              // open client connections, all workers -> 503 + close

  // A request's head must arrive within header_timeout of its first byte (and
  // a new connection's first request within header_timeout of accept); its
  // body within body_timeout of the head's end. Otherwise 408 and close.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  // A kept-alive connection with no request in progress is closed silently after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // A response that makes no write progress for this long is abandoned
  // (close; a streamed response's handler sees its writes fail).
  std::chrono::milliseconds write_timeout{30'000};
  // After an error response or Connection: close, unread input is drained for
  // up to this long before closing, so the client reads the response instead of a reset.
  std::chrono::milliseconds linger_timeout{2'000};

  AccessLogConfig access_log;

  // Called by an I/O thread once per batch, after the batch's responses went
  // out and before it waits again: housekeeping that must not delay a
  // response (e.g. the memory pool's check of released slots). Optional.
  // `now`: the loop's clock, read when the batch's work ended (before the sends).
  void (*after_sends)(std::chrono::steady_clock::time_point now) = nullptr;
};

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t connections_active = 0;
  uint64_t requests = 0;              // responses sent, including error responses
  uint64_t in_handler = 0;            // requests handed to the handler, not yet complete
  uint64_t loop_takeovers = 0;        // I/O loops taken over from a thread busy with lent work
  uint64_t loan_looks = 0;            // times the rescuer looked at the lent loops
  // Reads and sends made together through io_uring (socket_batch.h): the
  // calls, and the io_uring_enter calls that made them (0 where unavailable).
  uint64_t batched_calls = 0;
  uint64_t batch_submits = 0;
  // Answered exchanges the workers keep, buffers and all, for their next
  // requests: at most 256 per worker while traffic flows, a few once idle.
  uint64_t spare_exchanges = 0;
};

class Server {
 public:
  Server(ServerConfig config, Handler handler);  // runs on the I/O threads
  Server(ServerConfig config, AsyncHandler handler);
  ~Server();  // stop(0ms) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the workers. Errors: bad address, port in use, ...
  Result<void> start();
  // The bound port (after start()); useful with port 0.
  uint16_t port() const;
  const ServerConfig& config() const;
  bool running() const;
  ServerStats stats() const;

  // Graceful stop: stops accepting at once, closes idle connections, lets
  // requests in flight (being received, in the handler, being sent) finish and
  // answers them with Connection: close; after `grace`, closes whatever is
  // left (a handler completing later is dropped). Blocks until all workers
  // have exited. Idempotent; thread-safe against the workers, but call it
  // from one thread.
  void stop(std::chrono::milliseconds grace);

 private:
  friend class Worker;  // server.cpp's per-thread event loop
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SIGINT/SIGTERM handling for `wink up`: install() blocks both signals in the
// calling thread and reads them from a signalfd. Call it on the main thread
// before starting other threads (threads inherit the mask; Server's workers
// block all signals themselves, so starting the Server first is also fine).
class ShutdownSignals {
 public:
  static Result<ShutdownSignals> install();
  ShutdownSignals(ShutdownSignals&& other) noexcept;
  ShutdownSignals& operator=(ShutdownSignals&& other) noexcept;
  ~ShutdownSignals();

  // Blocks until SIGINT or SIGTERM arrives; returns the signal number.
  int wait();
  // Like wait() but gives up after `timeout`; returns 0 then.
  int wait_for(std::chrono::milliseconds timeout);
  // The signalfd, for callers with their own poll loop (readable = signal pending).
  int fd() const { return fd_; }

 private:
  explicit ShutdownSignals(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// start() + ShutdownSignals::install() + wait() + stop(grace): the whole
// life of a foreground server. Returns the signal that ended it.
Result<int> serve_until_signal(Server& server, std::chrono::milliseconds grace);

}  // namespace wink::http
