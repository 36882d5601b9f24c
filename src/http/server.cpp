// Epoll HTTP/1.1 server: workers with their own epoll loop over one shared,
// non-blocking listening socket (registered with EPOLLEXCLUSIVE, so a new
// connection wakes one idle worker). A connection lives on the worker that
// accepted it; its requests are parsed and answered there, in order. A
// request goes to the handler as an Exchange; the handler completes it from
// any thread by pushing it to the worker's Mailbox, whose eventfd wakes the
// worker to write the response. While a connection's request is out, its
// further input is held back (pipelined requests keep their order).
#include "http/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

#include "common/http_fields.h"
#include "http/access_log.h"
#include "http/loop_loans.h"
#include "http/mailbox.h"
#include "http/parser.h"
#include "http/socket_batch.h"
#include "http/stream.h"

namespace wink::http {

using Clock = std::chrono::steady_clock;

namespace detail {
struct Exchange {
  std::unique_ptr<Request> request;
  Response response;
  std::shared_ptr<Mailbox> mailbox;
  int fd = -1;        // the connection it came from, identified by fd + generation
  uint32_t gen = 0;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point finished;
  std::shared_ptr<BodyStream> stream;
  // Its access-log line, filled when answered and formatted after the sends
  // (off the client's wait); its views point into `request` and `response`.
  AccessLogEntry log;
  bool log_pending = false;

  // Empties an answered exchange for the worker's next request (same
  // mailbox), keeping the capacity of its response's buffers up to a bound.
  void reset_for_reuse() {
    constexpr size_t kKeptBodyCapacity = 16 * 1024;  // a bigger body's buffer goes back to the heap
    response.clear();
    response.log.version = 0;
    response.log.request_id.clear();
    if (response.body.capacity() > kKeptBodyCapacity) std::string().swap(response.body);
    request.reset();
    // Its stream is kept for the next exchange when nothing else holds it
    // (a handler thread, the mailbox); the fence pairs with the last
    // holder's release of its reference, so its writes are seen first.
    if (stream.use_count() == 1) {
      std::atomic_thread_fence(std::memory_order_acquire);
    } else {
      stream.reset();
    }
    log_pending = false;
    fd = -1;
    gen = 0;
    started = finished = {};
  }
};
}  // namespace detail

Mailbox::~Mailbox() {
  if (fd >= 0) ::close(fd);
}

void Mailbox::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

class Worker;

namespace {

// Set on an I/O thread while it calls the handler: a Completion finished
// there and then is answered without the round trip through the mailbox.
thread_local Mailbox* t_inline_mailbox = nullptr;
thread_local std::unique_ptr<detail::Exchange>* t_inline_done = nullptr;

// Work postponed to the end of this I/O thread's batch (defer_until_batch_end);
// null while the loop is lent (the hooks belong to whichever thread runs it).
using BatchHook = std::pair<void (*)(void*), void*>;
thread_local std::vector<BatchHook>* t_batch_hooks = nullptr;
thread_local std::vector<BatchHook> t_hooks_running;  // the round being run

// Clean-up postponed until this thread's batch of responses went out
// (defer_until_sent): it runs while the clients read, not before they can.
thread_local std::vector<BatchHook> t_after_sent;
thread_local std::vector<BatchHook> t_after_sent_running;

void run_after_sent() {
  while (!t_after_sent.empty()) {
    t_after_sent_running.swap(t_after_sent);
    for (auto& [fn, arg] : t_after_sent_running) fn(arg);
    t_after_sent_running.clear();
  }
}

// What this thread keeps for its next requests, let go once its loop has
// been idle for kIdleRelease (defer_until_idle) or ends.
thread_local std::vector<BatchHook> t_on_idle;
constexpr std::chrono::milliseconds kIdleRelease{100};

void run_on_idle() {
  std::vector<BatchHook> hooks;
  hooks.swap(t_on_idle);
  for (auto& [fn, arg] : hooks) fn(arg);
}

// The worker whose loop this thread runs (lend_io_loop), whether it is lent
// now, and whether it was taken over while lent (this thread then only
// finishes what it was doing and gives the loop up).
thread_local Worker* t_loop = nullptr;
thread_local bool t_loop_lent = false;
thread_local bool t_loop_lost = false;

constexpr Clock::time_point kNever = Clock::time_point::max();
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kReadSlots = 64;           // reads per batched submit
constexpr size_t kSlotBytes = 16 * 1024;    // each (a fuller socket is read on directly)
constexpr size_t kMaxPendingOutput = 1 << 20;  // stop reading pipelined requests above this
constexpr size_t kCoalesceLimit = 64 * 1024;   // bodies above this are queued without a copy
constexpr int kMaxIov = SocketBatch::kMaxIov;
constexpr size_t kMaxRejectLingering = 64;     // per worker

char g_listen_tag;
char g_wake_tag;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

unsigned cpus_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

struct Conn {
  int fd = -1;
  uint32_t gen = 0;
  RequestParser parser;
  std::string pending_in;  // input held back while output is over kMaxPendingOutput
  std::deque<std::string> out;
  size_t out_off = 0;    // bytes of out.front() already sent
  size_t out_bytes = 0;  // unsent bytes in out
  uint32_t events = 0;   // currently registered epoll events
  bool reading = true;
  bool paused = false;  // reading stopped until queued output drains (backpressure)
  bool write_blocked = false;
  bool close_after_write = false;
  bool lingering = false;
  bool rejected = false;
  bool head_seen = false;
  bool in_handler = false;  // a request is out with the (async) handler
  bool send_queued = false;  // in the worker's send_queue_ (batched sends)
  std::unique_ptr<Request> spare;  // a finished Request, reused for the next one
  uint32_t requests = 0;
  // The request out with the handler (stream.h), while it is.
  std::shared_ptr<BodyStream> stream;
  bool body_in = false;       // its body is still being parsed into the stream
  bool body_blocked = false;  // the stream's body buffer is full: reading stopped
  uint64_t body_streamed = 0; // body bytes passed to the stream
  bool req_head = false;      // the request was HEAD
  int req_minor = 1;          // its HTTP minor version
  bool req_keep_alive = true;
  // Its streamed response, once the head is sent.
  bool out_streaming = false;
  bool out_chunked = false;
  bool out_discard = false;   // HEAD, 1xx/204/304: no body bytes go out
  bool out_length = false;    // framed by Content-Length: out_left bytes to go
  bool out_keep = false;      // the head said keep-alive
  bool out_broken = false;    // more bytes than the Content-Length: cut
  uint64_t out_left = 0;
  uint64_t out_sent = 0;      // body bytes queued
  int out_status = 0;
  Clock::time_point accepted, req_start, head_done, last_activity, write_progress, linger_until;
  Clock::time_point armed = kNever;  // deadline of this conn's live heap entry

  explicit Conn(const ParserLimits& limits) : parser(limits) {}
};

struct TimerEntry {
  Clock::time_point when;
  int fd;
  uint32_t gen;
  bool operator>(const TimerEntry& o) const { return when > o.when; }
};

}  // namespace

struct Server::Impl {
  ServerConfig config;
  Handler handler;             // synchronous, or
  AsyncHandler async_handler;  // asynchronous
  ParserLimits limits;
  int listen_fd = -1;
  uint16_t port = 0;
  AccessLogSink log;
  std::vector<std::unique_ptr<Worker>> workers;
  LoopLoans loans;  // the threads that carry the workers' loops
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> grace_deadline_ns{0};  // steady_clock
  std::atomic<uint64_t> active{0}, accepted{0}, rejected{0}, requests{0}, in_handler{0};
  std::atomic<uint64_t> batched_calls{0}, batch_submits{0};
  std::atomic<uint64_t> spare_exchanges{0};  // kept by the workers for their next requests

  Impl(ServerConfig c, Handler h, AsyncHandler ah)
      : config(std::move(c)), handler(std::move(h)), async_handler(std::move(ah)) {
    limits.max_header_bytes = config.max_header_bytes;
    limits.max_uri_bytes = config.max_uri_bytes;
    limits.max_body_bytes = config.max_body_bytes;
    // The head's check takes the larger limit; the one that applies is set
    // once the body's destination is known (Worker::process).
    if (async_handler.streams_body) {
      limits.max_body_bytes = std::max(config.max_body_bytes, config.max_streamed_body_bytes);
    }
  }
};

class Worker {
 public:
  Worker(Server::Impl& srv, size_t index) : srv_(srv), index_(index), scratch_(new char[kReadChunk]) {}
  ~Worker() {
    close_mailbox();
    if (epfd_ >= 0) ::close(epfd_);
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
  }

  Result<void> init() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    mailbox_ = std::make_shared<Mailbox>();
    mailbox_->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (epfd_ < 0 || mailbox_->fd < 0) return make_error(std::string("epoll: ") + strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &g_wake_tag;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, mailbox_->fd, &ev) < 0) {
      return make_error(std::string("epoll_ctl: ") + strerror(errno));
    }
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &g_listen_tag;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, srv_.listen_fd, &ev) < 0) {
      return make_error(std::string("epoll_ctl(listener): ") + strerror(errno));
    }
    batch_.open();  // else each read and send is its own system call
    return {};
  }

  void wake() { mailbox_->wake(); }

  // Runs the event loop on this thread until the server stops (false), or
  // until the loop, lent to work this thread ran, was taken over (true).
  bool run();
  // lend_io_loop / reclaim_io_loop on this worker's carrier.
  void lend(Clock::time_point now);
  bool reclaim();

 private:
  // Event handling.
  void on_accept();
  void on_wake();
  void drain_mailbox();
  void on_event(Conn* c, uint32_t events);
  void on_readable(Conn* c);
  void on_read(Conn* c, ssize_t n, const char* data);
  static bool reads_now(const Conn* c, uint32_t events);
  void read_batch();
  void process(Conn* c, std::string_view data);
  void handle_request(Conn* c);
  void hand_over(Conn* c, bool body_streams);
  bool feed_stream_body(Conn* c, std::string_view& data);
  void pump(Conn* c);
  size_t pull_output(Conn* c, bool all);
  void start_streamed(Conn* c, BodyStream::Head& head);
  void finish_buffered(Conn* c, detail::Exchange& ex);
  void finish_streamed(Conn* c, detail::Exchange& ex);
  void append_head(std::string& out, int status, const std::vector<std::pair<std::string, std::string>>& headers);
  void finish_exchange(Conn* c, std::unique_ptr<detail::Exchange> ex);
  void close_mailbox();
  void send_error(Conn* c, int status, std::string_view reason);
  void queue(Conn* c, std::string_view bytes);
  void flush(Conn* c);
  void writable(Conn* c);
  int gather(const Conn* c, iovec* iov) const;
  void consume(Conn* c, size_t sent);
  bool sent(Conn* c, ssize_t r);
  void send_queued();
  void submit_batch();
  void after_io(Conn* c);
  void start_linger(Conn* c);
  void drain_linger(Conn* c);
  void close_conn(Conn* c);
  void reject(int fd);
  bool add_conn(std::unique_ptr<Conn> conn);
  void on_timeout(Conn* c);
  void rearm(Conn* c);
  void compact_timers();
  Clock::time_point deadline_of(const Conn* c) const;
  void begin_drain();

  // Response building.
  void serialize(Conn* c, const Request& req, Response& resp, bool keep_alive);
  std::string_view date();
  AccessLogEntry log_entry(const Conn* c, const Request& req, int status, uint64_t bytes,
                           const LogFields* fields, double handler_ms, std::string_view error) const;
  void log_request(const Conn* c, const Request& req, int status, uint64_t bytes,
                   const LogFields* fields, double handler_ms, std::string_view error);
  void append_log_line(AccessLogEntry& e, std::chrono::system_clock::time_point time);
  void log_answered();  // formats the pending lines of answered_ (in order)

  bool leave_loop(bool taken);

  Server::Impl& srv_;
  size_t index_;  // in srv_.workers and srv_.loans
  int epfd_ = -1;
  std::shared_ptr<Mailbox> mailbox_;
  std::vector<std::unique_ptr<detail::Exchange>> drained_;
  std::vector<BatchHook> batch_hooks_;
  void run_batch_hooks();
  int reserve_fd_ = -1;
  std::unique_ptr<char[]> scratch_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  std::vector<std::unique_ptr<Conn>> graveyard_;
  // Exchanges answered in this batch: once its responses went out, emptied
  // (keeping their buffers' capacity) for this thread's next requests.
  std::vector<std::unique_ptr<detail::Exchange>> answered_;
  std::vector<std::unique_ptr<detail::Exchange>> spare_exchanges_;
  size_t answered_logged_ = 0;  // answered_[0..this) have their log lines in log_buf_
  // Requests whose exchanges kept theirs for the log line, for connections' next ones.
  std::vector<std::unique_ptr<Request>> spare_requests_;
  void recycle_answered();
  // Enough for a batch of 128 keep-alive clients and their next requests
  // (with 64, half of such a batch allocated its exchanges anew and freed
  // them after: 2% of a hello's CPU); once the worker has been idle for
  // kIdleRelease, all but a few go back to the heap with their buffers.
  static constexpr size_t kSpareExchanges = 256;
  static constexpr size_t kSparesKeptIdle = 8;
  bool spares_to_trim() const {
    return spare_exchanges_.size() > kSparesKeptIdle || spare_requests_.size() > kSparesKeptIdle;
  }
  void trim_spares();
  size_t spares_counted_ = 0;  // this worker's part of srv_.spare_exchanges
  void count_spares();
  size_t live_ = 0;
  size_t reject_lingering_ = 0;
  uint32_t next_gen_ = 1;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  Clock::time_point now_;
  Clock::time_point active_;  // when the last wait returned events (defer_until_idle)
  bool draining_ = false;
  Response resp_;
  std::string chunk_buf_;  // streamed response bytes on their way into a Conn's queue
  std::string log_buf_;
  Clock::time_point log_since_{};  // when the oldest line in log_buf_ was queued
  void flush_log(bool all);  // writes log_buf_ when due (all: now)
  // Reads and sends made together (socket_batch.h): the connections a
  // batch found readable, and those with output to send at its end, as
  // (fd, gen).
  SocketBatch batch_;
  std::vector<std::pair<int, uint32_t>> send_queue_, send_round_;
  std::vector<Conn*> sending_;
  std::vector<Conn*> reading_;
  std::unique_ptr<char[]> read_slots_;  // kReadSlots x kSlotBytes, on first use
  time_t date_sec_ = 0;
  char date_buf_[64] = {};
  size_t date_len_ = 0;
};

// --- loop -------------------------------------------------------------------

void Worker::run_batch_hooks() {
  // A hook may add hooks (it runs on this thread): take them in rounds. A
  // hook may lend the loop, and lose it: the round's other hooks still run
  // (they are this thread's, not the loop's), then the loop is left alone.
  while (!batch_hooks_.empty()) {
    std::vector<BatchHook>& now = t_hooks_running;
    now.swap(batch_hooks_);
    for (auto& [fn, arg] : now) fn(arg);
    now.clear();
    if (t_loop_lost) return;
  }
}

void Worker::lend(Clock::time_point now) {
  t_loop_lent = true;
  t_batch_hooks = nullptr;
  srv_.loans.lend(index_, now);
}

bool Worker::reclaim() {
  t_loop_lent = false;
  if (srv_.loans.reclaim(index_)) {
    t_batch_hooks = &batch_hooks_;
    return true;
  }
  t_loop_lost = true;
  return false;
}

bool Worker::leave_loop(bool taken) {
  run_after_sent();
  run_on_idle();
  t_batch_hooks = nullptr;
  t_loop = nullptr;
  t_loop_lost = false;
  return taken;
}

bool Worker::run() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  t_batch_hooks = &batch_hooks_;
  t_loop = this;
  t_loop_lent = t_loop_lost = false;
  epoll_event events[256];
  now_ = Clock::now();  // (then read after each wait and after the batch's lent work)
  while (true) {
    // Responses of a batch whose carrier lost the loop while running lent work.
    if (!send_queue_.empty()) send_queued();
    int timeout_ms = -1;
    Clock::time_point next = timers_.empty() ? kNever : timers_.top().when;
    if (draining_) {
      next = std::min(next, Clock::time_point(Clock::duration(srv_.grace_deadline_ns.load())));
    }
    if (!log_buf_.empty()) next = std::min(next, log_since_ + srv_.config.access_log.file_flush_interval);
    if (next != kNever) {
      auto d = std::chrono::ceil<std::chrono::milliseconds>(next - now_).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(d, 0, 60'000));
    }
    mailbox_->asleep.store(true);
    if (mailbox_->posted.load()) timeout_ms = 0;  // a completion came in while awake
    if (!batch_hooks_.empty()) timeout_ms = 0;    // work left over from the last batch
    const bool idle_work = !t_on_idle.empty() || spares_to_trim();
    if (idle_work) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(active_ + kIdleRelease - now_).count();
      const int idle_ms = static_cast<int>(std::clamp<int64_t>(left, 0, kIdleRelease.count()));
      if (timeout_ms < 0 || idle_ms < timeout_ms) timeout_ms = idle_ms;
    }
    int n = epoll_wait(epfd_, events, 256, timeout_ms);
    mailbox_->asleep.store(false, std::memory_order_relaxed);
    now_ = Clock::now();
    if (n > 0) {
      active_ = now_;
    } else if (idle_work && now_ - active_ >= kIdleRelease) {
      run_on_idle();
      trim_spares();
    }
    // Finished exchanges first: their connections' next requests (in this
    // batch) then go straight to the handler instead of being held back.
    if (mailbox_->posted.load()) drain_mailbox();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &g_listen_tag) {
        on_accept();
      } else if (tag == &g_wake_tag) {
        on_wake();
      } else if (Conn* c = static_cast<Conn*>(tag); batch_.available() && reads_now(c, events[i].events)) {
        if (events[i].events & EPOLLOUT) writable(c);
        reading_.push_back(c);  // read with the batch's other readable connections
      } else {
        on_event(c, events[i].events);
      }
    }
    if (!reading_.empty()) read_batch();
    while (!timers_.empty() && timers_.top().when <= now_) {
      TimerEntry t = timers_.top();
      timers_.pop();
      if (t.fd < 0 || static_cast<size_t>(t.fd) >= conns_.size()) continue;
      Conn* c = conns_[t.fd].get();
      if (!c || c->gen != t.gen || c->armed != t.when) continue;
      c->armed = kNever;
      if (deadline_of(c) <= now_) {
        on_timeout(c);
      } else {
        rearm(c);
      }
    }
    // The batch's end: deferred work, which may run requests on this thread
    // (lend_io_loop), whose answers are then sent at once. Work this adds
    // (a pipelined request) waits for the next batch, after a look at the
    // other connections.
    bool hooks_ran = false;
    if (!batch_hooks_.empty()) {
      run_batch_hooks();
      if (t_loop_lost) return leave_loop(true);
      hooks_ran = true;
      // (now_ is read again after the sends, off the clients' wait: the
      // answers drained here carry the time they were finished.)
      if (mailbox_->posted.load()) drain_mailbox();
    }
    if (!send_queue_.empty()) send_queued();  // this batch's responses, together
    if (hooks_ran) now_ = Clock::now();
    run_after_sent();
    if (srv_.config.after_sends) srv_.config.after_sends(now_);
    log_answered();
    flush_log(false);
    graveyard_.clear();
    recycle_answered();
    if (timers_.size() > 4 * live_ + 1024) compact_timers();
    if (!draining_ && srv_.stopping.load()) begin_drain();
    if (draining_) {
      if (live_ == 0) break;
      if (now_.time_since_epoch().count() >= srv_.grace_deadline_ns.load()) {
        for (auto& slot : conns_) {
          if (slot && slot->fd >= 0) close_conn(slot.get());
        }
        log_answered();
        flush_log(true);
        graveyard_.clear();
        break;
      }
    }
  }
  run_batch_hooks();
  if (t_loop_lost) return leave_loop(true);  // its new carrier ends it
  log_answered();
  flush_log(true);
  close_mailbox();
  return leave_loop(false);
}

void Worker::on_wake() {
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(mailbox_->fd, &v, sizeof v);
  drain_mailbox();
  if (srv_.stopping.load() && !draining_) begin_drain();
}

void Worker::drain_mailbox() {
  std::vector<std::unique_ptr<detail::Exchange>>& done = drained_;  // keeps its capacity
  std::vector<std::shared_ptr<BodyStream>> streams;
  {
    std::lock_guard lock(mailbox_->mu);
    done.swap(mailbox_->done);
    streams.swap(mailbox_->streams);
    mailbox_->posted.store(false, std::memory_order_relaxed);
  }
  for (auto& ex : done) {
    const int fd = ex->fd;
    Conn* c = fd >= 0 && static_cast<size_t>(fd) < conns_.size() ? conns_[fd].get() : nullptr;
    if (!c || c->fd < 0 || c->gen != ex->gen || !c->in_handler) continue;  // connection gone
    finish_exchange(c, std::move(ex));
    if (c->fd >= 0) after_io(c);
  }
  done.clear();
  for (auto& st : streams) {
    const int fd = st->fd();
    Conn* c = fd >= 0 && static_cast<size_t>(fd) < conns_.size() ? conns_[fd].get() : nullptr;
    if (!c || c->fd < 0 || c->gen != st->gen() || c->stream != st) continue;  // answered or gone
    pump(c);
    if (c->fd >= 0) after_io(c);
  }
}

void Worker::close_mailbox() {
  if (!mailbox_) return;
  std::vector<std::unique_ptr<detail::Exchange>> dropped;
  std::vector<std::shared_ptr<BodyStream>> dropped_streams;
  std::lock_guard lock(mailbox_->mu);
  mailbox_->closed = true;
  dropped.swap(mailbox_->done);
  dropped_streams.swap(mailbox_->streams);
}

void Worker::begin_drain() {
  draining_ = true;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, srv_.listen_fd, nullptr);
  for (auto& slot : conns_) {
    Conn* c = slot.get();
    if (!c || c->fd < 0) continue;
    bool idle = !c->parser.started() && c->out_bytes == 0 && c->pending_in.empty() &&
                !c->in_handler;
    if (idle || c->lingering) {
      close_conn(c);
    } else if (c->out_bytes > 0 && c->parser.state() == RequestParser::State::kHead &&
               !c->parser.started()) {
      c->close_after_write = true;  // finish sending the response, then close
    }
  }
}

void Worker::on_accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int fd = accept4(srv_.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd_ >= 0) {
        // Out of descriptors: accept and drop one, so the listener stops
        // reporting readiness we cannot act on (and the client is not left hanging).
        ::close(reserve_fd_);
        int dropped = accept4(srv_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (dropped >= 0) ::close(dropped);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        srv_.rejected.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      return;  // EAGAIN, or EINVAL after the listener was shut down
    }
    if (draining_) {
      ::close(fd);
      continue;
    }
    if (srv_.active.fetch_add(1, std::memory_order_relaxed) >= srv_.config.max_connections) {
      srv_.active.fetch_sub(1, std::memory_order_relaxed);
      reject(fd);
      continue;
    }
    srv_.accepted.fetch_add(1, std::memory_order_relaxed);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    auto conn = std::make_unique<Conn>(srv_.limits);
    Conn* c = conn.get();
    c->fd = fd;
    c->gen = next_gen_++;
    c->accepted = c->last_activity = now_;
    Request& req = c->parser.request();
    char host[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      req.remote_port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      req.remote_port = ntohs(a->sin6_port);
    }
    req.remote_address = host;
    req.local_port = srv_.port;

    if (!add_conn(std::move(conn))) continue;
    rearm(c);
  }
}

// Takes ownership of a connection (indexed by its fd) and watches it for
// input; on failure the connection is closed and false returned.
bool Worker::add_conn(std::unique_ptr<Conn> conn) {
  Conn* c = conn.get();
  const int fd = c->fd;
  if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) * 2 + 64);
  conns_[fd] = std::move(conn);
  ++live_;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = c;
  c->events = EPOLLIN;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    close_conn(c);
    return false;
  }
  return true;
}

void Worker::reject(int fd) {
  srv_.rejected.fetch_add(1, std::memory_order_relaxed);
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
      "Retry-After: 1\r\nConnection: close\r\n\r\nService Unavailable\n";
  [[maybe_unused]] ssize_t n = send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
  if (reject_lingering_ >= kMaxRejectLingering) {
    ::close(fd);
    return;
  }
  // Linger briefly so the client reads the 503 rather than a reset.
  auto conn = std::make_unique<Conn>(srv_.limits);
  Conn* c = conn.get();
  c->fd = fd;
  c->gen = next_gen_++;
  c->rejected = true;
  ++reject_lingering_;
  if (!add_conn(std::move(conn))) return;
  start_linger(c);
  if (c->fd >= 0) rearm(c);
}

void Worker::on_event(Conn* c, uint32_t events) {
  if (c->fd < 0) return;  // closed earlier in this batch
  if (c->lingering) {
    drain_linger(c);
    return;
  }
  if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->in_handler)) {
    close_conn(c);  // (a hang-up while the handler runs: nobody to answer)
    return;
  }
  if (events & EPOLLOUT) writable(c);
  if (c->fd >= 0 && c->reading && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))) on_readable(c);
  if (c->fd >= 0) after_io(c);
}

// What on_event would do for these events is a read, then after_io.
bool Worker::reads_now(const Conn* c, uint32_t events) {
  return c->fd >= 0 && !c->lingering && c->reading && !(events & EPOLLERR) &&
         !((events & EPOLLHUP) && c->in_handler) && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP));
}

// The readable connections of this batch (reading_), read with one submit
// per kReadSlots, then handled as on_event would.
void Worker::read_batch() {
  if (!read_slots_) read_slots_.reset(new char[kReadSlots * kSlotBytes]);
  for (size_t from = 0; from < reading_.size(); from += kReadSlots) {
    const size_t to = std::min(reading_.size(), from + kReadSlots);
    size_t slots = 0;
    for (size_t i = from; i < to; ++i) {
      Conn* c = reading_[i];
      if (c->fd < 0 || !c->reading) {  // closed or paused since its event
        reading_[i] = nullptr;
        continue;
      }
      batch_.add_recv(c->fd, read_slots_.get() + slots++ * kSlotBytes, kSlotBytes);
    }
    submit_batch();
    size_t slot = 0;
    for (size_t i = from; i < to; ++i) {
      Conn* c = reading_[i];
      if (!c) continue;
      const size_t k = slot++;
      const ssize_t n = batch_.result(k);
      if (c->fd < 0) continue;
      on_read(c, n, read_slots_.get() + k * kSlotBytes);
      // A full slot: more may wait; read on now (as on_readable would have).
      if (n == static_cast<ssize_t>(kSlotBytes) && c->fd >= 0 && c->reading) on_readable(c);
      if (c->fd >= 0) after_io(c);
    }
  }
  reading_.clear();
}

void Worker::on_readable(Conn* c) {
  ssize_t n = recv(c->fd, scratch_.get(), kReadChunk, 0);
  on_read(c, n < 0 ? -errno : n, scratch_.get());
}

// A read's outcome: `n` bytes arrived at `data`, 0 is the end of the stream,
// -errno a failure (-EAGAIN, -EINTR: nothing this time).
void Worker::on_read(Conn* c, ssize_t n, const char* data) {
  if (n > 0) {
    c->last_activity = now_;
    process(c, std::string_view(data, static_cast<size_t>(n)));
    return;
  }
  if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) return;
  if (n < 0) {
    close_conn(c);
    return;
  }
  // EOF: the client will send nothing more. Answer what was complete (it was
  // processed already); an incomplete request is abandoned.
  c->reading = false;
  if (c->body_in) {
    c->stream->fail_body("the client closed the connection before the end of the body");
    c->body_in = false;
  }
  if (c->out_bytes == 0 && !c->in_handler) {
    close_conn(c);
  } else {
    c->close_after_write = true;
  }
}

void Worker::process(Conn* c, std::string_view data) {
  RequestParser& p = c->parser;
  while (true) {
    if (c->close_after_write) return;  // anything after a closing request is ignored
    // Nothing more read: keep watching the socket as it is (pausing here for a
    // request out with the handler would cost two epoll_ctl calls per request).
    if (data.empty()) return;
    if (c->in_handler && c->body_in && !c->body_blocked) {
      if (!feed_stream_body(c, data)) return;
      continue;
    }
    if (c->in_handler) {
      // Hold what follows until the handler completes (responses stay in order).
      c->pending_in.append(data);
      c->reading = false;
      c->paused = true;
      return;
    }
    if (c->out_bytes > kMaxPendingOutput) {
      // The client is not reading its responses: hold further requests back.
      c->pending_in.append(data);
      c->reading = false;
      c->paused = true;
      return;
    }
    bool was_started = p.started();
    size_t used = p.feed(data);
    data.remove_prefix(used);
    if (!was_started && p.started()) c->req_start = now_;
    switch (p.state()) {
      case RequestParser::State::kHead:
        break;
      case RequestParser::State::kBody:
        if (!c->head_seen) {
          c->head_seen = true;
          c->head_done = now_;
          bool streams = false;
          if (srv_.async_handler && srv_.async_handler.streams_body &&
              p.request().path != kHealthPath) {
            try {
              streams = srv_.async_handler.streams_body(p.request());
            } catch (...) {
            }
          }
          if (!p.limit_body(streams ? srv_.config.max_streamed_body_bytes : srv_.config.max_body_bytes)) {
            send_error(c, p.error_status(), p.error_reason());
            return;
          }
          // 100-continue unless the client already started sending the body.
          if (p.request().expect_continue && data.empty()) {
            queue(c, "HTTP/1.1 100 Continue\r\n\r\n");
          }
          if (streams) {
            c->body_in = true;  // (before: the handler may answer at once)
            c->body_streamed = 0;
            hand_over(c, true);  // the body follows into the stream
          }
        }
        break;
      case RequestParser::State::kComplete:
        if (!c->head_seen) c->head_done = now_;
        handle_request(c);
        p.reset();
        c->head_seen = false;
        break;
      case RequestParser::State::kError:
        send_error(c, p.error_status(), p.error_reason());
        return;
    }
  }
}

void Worker::handle_request(Conn* c) {
  if (srv_.async_handler && c->parser.request().path != kHealthPath) {
    hand_over(c, false);
    return;
  }
  const Request& req = c->parser.request();
  Response& resp = resp_;
  resp.clear();
  Clock::time_point t0 = Clock::now();
  if (req.path == kHealthPath) {
    resp.add_header("Content-Type", "text/plain");
    resp.body = "OK";
  } else {
    try {
      srv_.handler(req, resp);
    } catch (...) {
      resp.clear();
      resp.status = 500;
    }
  }
  Clock::time_point t1 = Clock::now();
  now_ = t1;
  if (!http_fields::final_status(resp.status)) {
    resp.clear();
    resp.status = 500;
  }
  bool keep = req.keep_alive && !resp.close && !draining_ &&
              !srv_.stopping.load(std::memory_order_relaxed);
  uint64_t body_bytes = req.method == "HEAD" ? 0 : resp.body.size();
  c->requests++;
  srv_.requests.fetch_add(1, std::memory_order_relaxed);
  if (srv_.log.enabled()) {
    log_request(c, req, resp.status, body_bytes, &resp.log, ms_between(t0, t1), {});
  }
  serialize(c, req, resp, keep);
  if (!keep) c->close_after_write = true;
}

// Gives the parser's request to the asynchronous handler (its body whole,
// or, with `body_streams`, still to come through its stream).
void Worker::hand_over(Conn* c, bool body_streams) {
  std::unique_ptr<detail::Exchange> ex;
  if (spare_exchanges_.empty()) {
    ex = std::make_unique<detail::Exchange>();
  } else {
    ex = std::move(spare_exchanges_.back());
    spare_exchanges_.pop_back();
  }
  const Request& head = c->parser.request();
  c->req_head = head.method == "HEAD";
  c->req_minor = head.version_minor;
  c->req_keep_alive = head.keep_alive;
  ex->request = c->parser.take_request(std::move(c->spare));
  if (ex->stream) {
    ex->stream->reuse(c->fd, c->gen, body_streams);  // (recycle_answered kept it: nobody else holds it)
  } else {
    ex->stream = std::make_shared<BodyStream>(mailbox_, c->fd, c->gen, body_streams);
  }
  ex->request->stream = ex->stream;
  c->stream = ex->stream;
  ex->mailbox = mailbox_;
  ex->fd = c->fd;
  ex->gen = c->gen;
  ex->started = now_;  // (read when the batch began, or when the exchange before it finished)
  c->in_handler = true;
  srv_.in_handler.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<detail::Exchange> done_inline;
  t_inline_mailbox = mailbox_.get();
  t_inline_done = &done_inline;
  try {
    srv_.async_handler(Completion(std::move(ex)));
  } catch (...) {
    // The Completion was destroyed while unwinding: it answered 500.
  }
  t_inline_mailbox = nullptr;
  t_inline_done = nullptr;
  if (done_inline) finish_exchange(c, std::move(done_inline));
}

void Worker::recycle_answered() {
  if (answered_.empty()) return;
  for (auto& ex : answered_) {
    if (ex->request && spare_requests_.size() < kSpareExchanges) {
      spare_requests_.push_back(std::move(ex->request));
    }
    if (spare_exchanges_.size() >= kSpareExchanges) continue;
    ex->reset_for_reuse();
    spare_exchanges_.push_back(std::move(ex));
  }
  answered_.clear();
  answered_logged_ = 0;
  count_spares();
}

void Worker::trim_spares() {
  if (spare_exchanges_.size() > kSparesKeptIdle) spare_exchanges_.resize(kSparesKeptIdle);
  if (spare_requests_.size() > kSparesKeptIdle) spare_requests_.resize(kSparesKeptIdle);
  count_spares();
}

void Worker::count_spares() {
  const size_t now = spare_exchanges_.size();
  if (now == spares_counted_) return;
  srv_.spare_exchanges.fetch_add(now - spares_counted_, std::memory_order_relaxed);  // (wraps down when fewer)
  spares_counted_ = now;
}

// Parses body bytes of the request out with the handler into its stream.
// False when the caller must stop feeding (buffer full, error).
bool Worker::feed_stream_body(Conn* c, std::string_view& data) {
  RequestParser& p = c->parser;
  size_t used = p.feed(data);
  data.remove_prefix(used);
  std::string& decoded = p.request().body;
  c->body_streamed += decoded.size();
  bool room = c->stream->push_body(decoded);
  decoded.clear();
  switch (p.state()) {
    case RequestParser::State::kComplete:
      c->stream->end_body();
      c->body_in = false;
      p.reset();
      c->head_seen = false;
      return true;  // what follows is the next request: held until this one is answered
    case RequestParser::State::kError:
      // Over the limit or broken framing: the handler's read fails; the
      // response is still the handler's, then the connection closes.
      c->stream->fail_body(std::string(p.error_reason()));
      c->body_in = false;
      c->close_after_write = true;
      c->reading = false;
      return false;
    default:
      if (!room) {
        c->body_blocked = true;  // resumed by pump() when the handler took some
        c->pending_in.append(data);
        c->reading = false;
        return false;
      }
      return true;
  }
}

// Something changed in the stream of the request out with the handler.
void Worker::pump(Conn* c) {
  BodyStream& s = *c->stream;
  if (auto head = s.take_head()) start_streamed(c, *head);
  if (c->out_streaming) pull_output(c, false);
  if (c->body_blocked && s.body_room()) {
    c->body_blocked = false;
    c->reading = true;
    std::string held;
    held.swap(c->pending_in);
    process(c, held);
  }
}

// Moves streamed response bytes into the connection's queue, framed; at
// most up to the window unless `all` (the handler is done).
size_t Worker::pull_output(Conn* c, bool all) {
  size_t total = 0;
  while (all || c->out_bytes < BodyStream::kWindow) {
    chunk_buf_.clear();
    size_t max = all ? SIZE_MAX : BodyStream::kWindow - c->out_bytes;
    size_t n = c->stream->take_output(chunk_buf_, max);
    if (n == 0) break;
    total += n;
    std::string_view bytes = chunk_buf_;
    if (c->out_discard || c->out_broken) continue;
    if (c->out_length) {
      if (bytes.size() > c->out_left) {
        bytes = bytes.substr(0, c->out_left);
        c->out_broken = true;  // more than announced: the rest is not sent, the connection closes
      }
      c->out_left -= bytes.size();
    }
    if (bytes.empty()) continue;
    c->out_sent += bytes.size();
    if (c->out_chunked) {
      char size[24];
      int len = snprintf(size, sizeof size, "%zx\r\n", bytes.size());
      queue(c, std::string_view(size, static_cast<size_t>(len)));
      queue(c, bytes);
      queue(c, "\r\n");
    } else {
      queue(c, bytes);
    }
  }
  return total;
}

// The handler started its response: the status line and headers go out now.
void Worker::start_streamed(Conn* c, BodyStream::Head& head) {
  int status = http_fields::final_status(head.status) ? head.status : 500;
  c->out_streaming = true;
  c->out_status = status;
  c->out_sent = 0;
  c->out_broken = false;
  c->out_discard = c->req_head || status == 204 || status == 304;
  c->out_length = head.content_length.has_value();
  c->out_left = head.content_length.value_or(0);
  c->out_chunked = !c->out_length && c->req_minor >= 1;
  // HTTP/1.0 without a length: the end of the body is the end of the connection.
  bool close_delimited = !c->out_length && !c->out_chunked && !c->out_discard;
  c->out_keep = c->req_keep_alive && !close_delimited && !draining_ &&
                !srv_.stopping.load(std::memory_order_relaxed);
  if (c->out.empty() || c->out.back().size() >= kCoalesceLimit) c->out.emplace_back();
  std::string& out = c->out.back();
  size_t before = out.size();
  append_head(out, status, head.headers);
  if (c->out_length && status != 204 && status != 304) {
    out.append("Content-Length: ");
    append_number(out, *head.content_length);
    out.append("\r\n");
  } else if (c->out_chunked && status != 204 && status != 304) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (!c->out_keep) {
    out.append("Connection: close\r\n");
  } else if (c->req_minor == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  c->out_bytes += out.size() - before;
}

// The handler completed a request whose response streamed: the rest of the
// body, its end (or, unfinished, the end of the connection), the log line.
void Worker::finish_streamed(Conn* c, detail::Exchange& ex) {
  Response& resp = ex.response;
  if (auto head = c->stream->take_head()) start_streamed(c, *head);
  pull_output(c, true);
  bool complete = c->stream->finished() && !c->out_broken && (!c->out_length || c->out_left == 0);
  if (complete && c->out_chunked && !c->out_discard) {
    // The last chunk, then the trailer section (RFC 9112 7.1.2).
    std::string end = "0\r\n";
    for (const auto& [name, value] : c->stream->take_trailers()) {
      if (!http_fields::valid_name(name) || !http_fields::valid_value(value)) continue;
      if (!http_fields::allowed_in_trailer(name)) continue;
      end.append(name).append(": ").append(value).append("\r\n");
    }
    end.append("\r\n");
    queue(c, end);
  }
  bool keep = complete && c->out_keep && !resp.close && !c->body_in;
  c->requests++;
  srv_.requests.fetch_add(1, std::memory_order_relaxed);
  if (srv_.log.enabled()) {
    ex.log = log_entry(c, *ex.request, c->out_status, c->out_sent, &resp.log, ms_between(ex.started, ex.finished),
                       complete ? std::string_view() : std::string_view("response body incomplete"));
    ex.log_pending = true;
  }
  if (!keep) c->close_after_write = true;
  c->out_streaming = false;
}

// The handler completed `ex`: write its response (the conn is waiting for it).
void Worker::finish_exchange(Conn* c, std::unique_ptr<detail::Exchange> ex) {
  now_ = std::max(now_, ex->finished);  // the handler's end: read when it finished
  if (ex->stream && ex->stream->started()) {
    finish_streamed(c, *ex);
  } else {
    if (c->body_in) ex->response.close = true;  // answered before its body arrived: the rest is not read
    finish_buffered(c, *ex);
  }
  c->in_handler = false;
  srv_.in_handler.fetch_sub(1, std::memory_order_relaxed);
  if (c->body_in) {
    c->body_in = false;
    c->close_after_write = true;
  }
  c->body_blocked = false;
  c->stream.reset();
  c->body_streamed = 0;
  c->last_activity = now_;
  ex->request->stream.reset();
  if (!ex->log_pending) {
    c->spare = std::move(ex->request);
  } else if (!spare_requests_.empty()) {  // (the exchange keeps its request for the log line)
    c->spare = std::move(spare_requests_.back());
    spare_requests_.pop_back();
  }
  answered_.push_back(std::move(ex));
}

void Worker::finish_buffered(Conn* c, detail::Exchange& ex) {
  const Request& req = *ex.request;
  Response& resp = ex.response;
  if (!http_fields::final_status(resp.status)) {
    resp.clear();
    resp.status = 500;
  }
  bool keep = req.keep_alive && !resp.close && !draining_ &&
              !srv_.stopping.load(std::memory_order_relaxed);
  uint64_t body_bytes = req.method == "HEAD" ? 0 : resp.body.size();
  c->requests++;
  srv_.requests.fetch_add(1, std::memory_order_relaxed);
  if (srv_.log.enabled()) {
    ex.log = log_entry(c, req, resp.status, body_bytes, &resp.log, ms_between(ex.started, ex.finished), {});
    ex.log_pending = true;
  }
  serialize(c, req, resp, keep);
  if (!keep) c->close_after_write = true;
}

void Worker::send_error(Conn* c, int status, std::string_view reason) {
  const Request& req = c->parser.request();
  std::string_view phrase = reason_phrase(status);
  std::string& out = c->out.empty() ? c->out.emplace_back() : c->out.back();
  size_t before = out.size();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(phrase);
  out.append("\r\nDate: ");
  out.append(date());
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  append_number(out, phrase.size() + 1);
  out.append("\r\nConnection: close\r\n\r\n");
  out.append(phrase);
  out.push_back('\n');
  c->out_bytes += out.size() - before;
  c->close_after_write = true;
  srv_.requests.fetch_add(1, std::memory_order_relaxed);
  if (srv_.log.enabled()) log_request(c, req, status, phrase.size() + 1, nullptr, 0, reason);
}

// The status line, Date and the handler's headers (checked; framing and
// connection fields are the server's own), without the blank line.
void Worker::append_head(std::string& out, int status,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  using namespace std::string_view_literals;  // (literals' lengths known here: no strlen per append)
  out.append("HTTP/1.1 "sv);
  append_number(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\nDate: "sv);
  out.append(date());
  out.append("\r\n"sv);
  for (const auto& [name, value] : headers) {
    if (!http_fields::valid_name(name) || !http_fields::valid_value(value)) continue;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "connection") || iequals(name, "date") || iequals(name, "keep-alive")) {
      continue;
    }
    out.append(name);
    out.append(": "sv);
    out.append(value);
    out.append("\r\n"sv);
  }
}

void Worker::serialize(Conn* c, const Request& req, Response& resp, bool keep_alive) {
  if (c->out.empty() || c->out.back().size() >= kCoalesceLimit) c->out.emplace_back();
  std::string& out = c->out.back();
  size_t before = out.size();
  append_head(out, resp.status, resp.headers);
  bool bodyless_status = resp.status == 204 || resp.status == 304;
  if (!bodyless_status) {
    out.append("Content-Length: ");
    append_number(out, resp.body.size());
    out.append("\r\n");
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (req.version_minor == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  c->out_bytes += out.size() - before;
  if (bodyless_status || req.method == "HEAD" || resp.body.empty()) return;
  c->out_bytes += resp.body.size();
  if (resp.body.size() <= kCoalesceLimit) {
    out.append(resp.body);
  } else {
    c->out.push_back(std::move(resp.body));
    resp.body = std::string();
  }
}

void Worker::queue(Conn* c, std::string_view bytes) {
  if (c->out.empty() || c->out.back().size() >= kCoalesceLimit) c->out.emplace_back();
  c->out.back().append(bytes);
  c->out_bytes += bytes.size();
}

// Sends what `c` has queued: at the batch's end with the other connections'
// (send_queued), or at once where batched sends are unavailable.
// (A connection whose socket is full waits for EPOLLOUT: writable().)
void Worker::flush(Conn* c) {
  if (batch_.available()) {
    if (!c->send_queued && !c->write_blocked && c->out_bytes > 0) {
      c->send_queued = true;
      send_queue_.emplace_back(c->fd, c->gen);
    }
    return;
  }
  while (c->out_bytes > 0) {
    iovec iov[kMaxIov];
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(gather(c, iov));
    const ssize_t r = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (!sent(c, r < 0 ? -errno : r)) return;
  }
  c->write_blocked = false;
}

// A send's outcome (bytes taken, or -errno) applied to `c`; false when
// nothing more goes now (the socket is full, or the connection closed).
bool Worker::sent(Conn* c, ssize_t r) {
  if (r > 0) {
    consume(c, static_cast<size_t>(r));
    c->write_blocked = false;
    return true;
  }
  if (r == 0 || r == -EAGAIN || r == -EWOULDBLOCK) {  // (0: nothing taken; wait for room)
    c->write_blocked = true;
  } else {
    close_conn(c);
  }
  return false;
}

void Worker::submit_batch() {
  const size_t calls = batch_.size();
  const uint64_t before = batch_.submits();
  batch_.submit();
  if (const uint64_t submits = batch_.submits() - before) {
    srv_.batched_calls.fetch_add(calls, std::memory_order_relaxed);
    srv_.batch_submits.fetch_add(submits, std::memory_order_relaxed);
  }
}

// EPOLLOUT: the socket has room again.
void Worker::writable(Conn* c) {
  c->write_blocked = false;
  flush(c);
}

// The queued output of `c` as iovecs (at most kMaxIov); returns their count.
int Worker::gather(const Conn* c, iovec* iov) const {
  int n_iov = 0;
  size_t off = c->out_off;
  for (auto it = c->out.begin(); it != c->out.end() && n_iov < kMaxIov; ++it) {
    if (it->size() == off) {  // empty chunk
      off = 0;
      continue;
    }
    iov[n_iov].iov_base = const_cast<char*>(it->data()) + off;
    iov[n_iov].iov_len = it->size() - off;
    ++n_iov;
    off = 0;
  }
  return n_iov;
}

// `sent` bytes of the queued output went out: drop them.
void Worker::consume(Conn* c, size_t sent) {
  c->write_progress = now_;
  size_t left = sent;
  c->out_bytes -= left;
  while (left > 0 || (!c->out.empty() && c->out.front().size() == c->out_off &&
                      c->out.size() > 1)) {
    std::string& front = c->out.front();
    size_t avail = front.size() - c->out_off;
    if (left < avail) {
      c->out_off += left;
      left = 0;
      break;
    }
    left -= avail;
    if (c->out.size() == 1) {
      // Keep a small buffer's capacity for the next response; drop a big one.
      if (front.capacity() > 4 * kCoalesceLimit) {
        front = std::string();
      } else {
        front.clear();
      }
      c->out_off = 0;
      break;
    }
    c->out.pop_front();
    c->out_off = 0;
  }
  if (c->out_bytes == 0 && c->out.size() == 1 && c->out_off == c->out.front().size()) {
    c->out.front().clear();
    c->out_off = 0;
  }
}

// The batch's end: every queued connection's output in one submit; then
// each connection decides what it waits for (after_io), which may queue
// more (a partial send, held requests resumed): another round.
void Worker::send_queued() {
  while (!send_queue_.empty()) {
    send_round_.swap(send_queue_);
    sending_.clear();
    for (auto [fd, gen] : send_round_) {
      Conn* c = fd >= 0 && static_cast<size_t>(fd) < conns_.size() ? conns_[fd].get() : nullptr;
      if (!c || c->fd < 0 || c->gen != gen || !c->send_queued) continue;  // closed since
      c->send_queued = false;
      if (c->out_bytes == 0) continue;
      iovec iov[kMaxIov];
      const int n_iov = gather(c, iov);
      if (n_iov == 0) continue;
      batch_.add_send(c->fd, iov, n_iov);
      sending_.push_back(c);
    }
    send_round_.clear();
    if (sending_.empty()) break;
    submit_batch();
    for (size_t i = 0; i < sending_.size(); ++i) sent(sending_[i], batch_.result(i));
    for (Conn* c : sending_) {
      if (c->fd >= 0) after_io(c);
    }
  }
}

// After reading/writing: flush, then decide what the connection waits for.
void Worker::after_io(Conn* c) {
  if (c->out_bytes > 0) flush(c);
  if (c->fd < 0) return;
  // A streamed response: refill from the handler's buffer while the socket takes it.
  while (c->in_handler && c->out_streaming && !c->write_blocked && c->out_bytes < BodyStream::kWindow &&
         pull_output(c, false) > 0) {
    flush(c);
    if (c->fd < 0) return;
  }
  if (c->out_bytes == 0) {
    if (c->close_after_write) {
      // (A request still out with the handler is answered first: the client
      // may have half-closed after sending it.)
      if (!c->in_handler) start_linger(c);
      if (c->fd < 0) return;
    } else if (c->paused && !c->in_handler) {
      // Output drained: resume the requests held back.
      std::string held;
      held.swap(c->pending_in);
      c->paused = false;
      c->reading = true;
      process(c, held);
      if (c->out_bytes > 0) flush(c);
      if (c->fd < 0) return;
      if (c->out_bytes == 0 && c->close_after_write && !c->in_handler) {
        start_linger(c);
        if (c->fd < 0) return;
      }
    } else if (draining_ && !c->parser.started() && !c->lingering && !c->in_handler) {
      close_conn(c);
      return;
    }
  }
  uint32_t want = 0;
  if (c->reading || c->lingering) want |= EPOLLIN;
  if (c->out_bytes > 0 && c->write_blocked) want |= EPOLLOUT;
  if (want != c->events) {
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
  }
  rearm(c);
}

void Worker::start_linger(Conn* c) {
  shutdown(c->fd, SHUT_WR);
  c->lingering = true;
  c->reading = false;
  c->linger_until = now_ + srv_.config.linger_timeout;
  if (c->events != EPOLLIN) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = EPOLLIN;
  }
  drain_linger(c);
  // Stopping: lingering connections are closed (as begin_drain does), also
  // one whose async response arrived after the drain began.
  if (draining_ && c->fd >= 0) close_conn(c);
}

void Worker::drain_linger(Conn* c) {
  for (int i = 0; i < 16; ++i) {
    ssize_t n = recv(c->fd, scratch_.get(), kReadChunk, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    close_conn(c);  // EOF or error
    return;
  }
}

void Worker::close_conn(Conn* c) {
  if (c->fd < 0) return;
  int fd = c->fd;
  // Deregister explicitly: close() removes an fd from the epoll set only when
  // no other descriptor shares the open file, and a child being spawned
  // (posix_spawn of a C compiler, popen) briefly holds copies of every fd.
  // Without this, events for the freed Conn keep arriving.
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  c->fd = -1;
  --live_;
  if (c->stream) {  // a handler streaming to or from it: its next read or write fails
    c->stream->disconnect(c->out_streaming ? "the connection to the client closed before the response was sent"
                                           : "the connection to the client closed");
    c->stream.reset();
  }
  if (c->in_handler) {  // its completion will find the connection gone
    c->in_handler = false;
    srv_.in_handler.fetch_sub(1, std::memory_order_relaxed);
  }
  if (c->rejected) {
    --reject_lingering_;
  } else {
    srv_.active.fetch_sub(1, std::memory_order_relaxed);
  }
  graveyard_.push_back(std::move(conns_[fd]));
}

Clock::time_point Worker::deadline_of(const Conn* c) const {
  const auto& cfg = srv_.config;
  if (c->in_handler) {
    // The handler's own deadline applies, but a streamed response the
    // client does not take is cut like any other.
    if (c->out_bytes > 0 && c->write_blocked) return c->write_progress + cfg.write_timeout;
    return kNever;
  }
  if (c->lingering) return c->linger_until;
  if (c->out_bytes > 0 && c->write_blocked) return c->write_progress + cfg.write_timeout;
  if (!c->reading) return kNever;  // waiting for output to drain (not blocked): transient
  switch (c->parser.state()) {
    case RequestParser::State::kHead:
      if (!c->parser.started()) {
        return c->requests == 0 ? c->accepted + cfg.header_timeout
                                : c->last_activity + cfg.idle_timeout;
      }
      return c->req_start + cfg.header_timeout;
    case RequestParser::State::kBody:
      return c->head_done + cfg.body_timeout;
    default:
      return kNever;
  }
}

void Worker::rearm(Conn* c) {
  Clock::time_point d = deadline_of(c);
  if (d == kNever || d >= c->armed) return;  // an earlier entry will re-check
  c->armed = d;
  timers_.push(TimerEntry{d, c->fd, c->gen});
}

// Superseded heap entries stay until they reach the top; when they pile up
// (many partial heads in a short time), rebuild the heap from the live conns.
void Worker::compact_timers() {
  timers_ = decltype(timers_)();
  for (auto& slot : conns_) {
    if (!slot || slot->fd < 0) continue;
    slot->armed = kNever;
    rearm(slot.get());
  }
}

void Worker::on_timeout(Conn* c) {
  if (c->lingering || c->out_bytes > 0 || !c->parser.started()) {
    close_conn(c);  // lingering done, client not reading, or idle: close silently
    return;
  }
  bool in_body = c->parser.state() == RequestParser::State::kBody;
  send_error(c, 408, in_body ? "body timeout" : "header timeout");
  c->reading = false;
  after_io(c);
}

// --- response helpers ------------------------------------------------------

std::string_view Worker::date() {
  time_t t = time(nullptr);
  if (t != date_sec_) {
    date_sec_ = t;
    struct tm tm;
    gmtime_r(&t, &tm);
    date_len_ = strftime(date_buf_, sizeof date_buf_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return std::string_view(date_buf_, date_len_);
}

AccessLogEntry Worker::log_entry(const Conn* c, const Request& req, int status, uint64_t bytes,
                                 const LogFields* fields, double handler_ms, std::string_view error) const {
  AccessLogEntry e;
  e.remote = req.remote_address;
  e.method = req.method;
  e.path = req.path;
  e.query = req.query;
  e.version_minor = req.version_minor;
  e.status = status;
  e.bytes = bytes;
  e.request_bytes = c->body_streamed ? c->body_streamed : req.body.size();
  e.duration_ms = c->parser.started() || c->head_seen || c->in_handler
                      ? ms_between(c->req_start, now_)
                      : 0;
  e.handler_ms = handler_ms;
  e.fields = fields;
  e.error = error;
  return e;
}

// A line now (errors, the synchronous handler), after the answered
// exchanges' lines so the log keeps the order of the answers.
void Worker::log_request(const Conn* c, const Request& req, int status, uint64_t bytes,
                         const LogFields* fields, double handler_ms, std::string_view error) {
  log_answered();
  AccessLogEntry e = log_entry(c, req, status, bytes, fields, handler_ms, error);
  append_log_line(e, std::chrono::system_clock::now());
}

void Worker::append_log_line(AccessLogEntry& e, std::chrono::system_clock::time_point time) {
  e.time = time;
  if (log_buf_.empty()) log_since_ = now_;
  append_access_log_line(log_buf_, e);
  if (log_buf_.size() > 64 * 1024) flush_log(true);
}

// The lines of exchanges answered since the last call: formatted once their
// answers went out (or before a line that comes after them), one clock
// read for all.
void Worker::log_answered() {
  std::optional<std::chrono::system_clock::time_point> time;  // (read at the first line: none without a log)
  for (; answered_logged_ < answered_.size(); ++answered_logged_) {
    detail::Exchange& ex = *answered_[answered_logged_];
    if (!ex.log_pending) continue;
    ex.log_pending = false;
    if (!time) time = std::chrono::system_clock::now();
    append_log_line(ex.log, *time);
  }
}

void Worker::flush_log(bool all) {
  if (log_buf_.empty()) return;
  const AccessLogConfig& config = srv_.config.access_log;
  if (!all && config.sink == AccessLogConfig::Sink::kFile && now_ - log_since_ < config.file_flush_interval) return;
  srv_.log.write(log_buf_);
  log_buf_.clear();
}

bool defer_until_batch_end(void (*fn)(void*), void* arg) {
  if (t_batch_hooks == nullptr) return false;
  t_batch_hooks->emplace_back(fn, arg);
  return true;
}

bool defer_until_sent(void (*fn)(void*), void* arg) {
  if (t_loop == nullptr) return false;
  t_after_sent.emplace_back(fn, arg);
  return true;
}

bool defer_until_idle(void (*fn)(void*), void* arg) {
  if (t_loop == nullptr) return false;
  t_on_idle.emplace_back(fn, arg);
  return true;
}

bool lend_io_loop(std::chrono::steady_clock::time_point now) {
  if (t_loop == nullptr || t_loop_lent || t_loop_lost || t_batch_hooks == nullptr) return false;
  t_loop->lend(now);
  return true;
}

bool reclaim_io_loop() {
  if (t_loop == nullptr || !t_loop_lent) return false;
  return t_loop->reclaim();
}

// --- Completion -------------------------------------------------------------

namespace detail {
void finish(std::unique_ptr<Exchange> ex) {
  ex->finished = Clock::now();
  Mailbox* mb = ex->mailbox.get();
  if (t_inline_mailbox == mb && t_inline_done && !*t_inline_done) {
    *t_inline_done = std::move(ex);  // completed inside the handler call
    return;
  }
  std::shared_ptr<Mailbox> keep = ex->mailbox;
  {
    std::lock_guard lock(mb->mu);
    if (mb->closed) return;  // the worker is gone: drop the response
    mb->done.push_back(std::move(ex));
    mb->posted.store(true);
  }
  // An awake worker drains the mailbox before it sleeps; a sleeping one is
  // woken once (whoever clears `asleep` first writes the eventfd).
  if (mb->asleep.load() && mb->asleep.exchange(false)) mb->wake();
}
}  // namespace detail

Completion::Completion(std::unique_ptr<detail::Exchange> exchange) : exchange_(std::move(exchange)) {}
Completion::Completion(Completion&&) noexcept = default;
Completion& Completion::operator=(Completion&& other) noexcept {
  if (this != &other) {
    if (exchange_) {
      exchange_->response.clear();
      exchange_->response.status = 500;
      detail::finish(std::move(exchange_));
    }
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}
Completion::~Completion() {
  if (!exchange_) return;
  exchange_->response.clear();
  exchange_->response.status = 500;
  detail::finish(std::move(exchange_));
}
const Request& Completion::request() const { return *exchange_->request; }
Response& Completion::response() { return exchange_->response; }
void Completion::complete() {
  if (exchange_) detail::finish(std::move(exchange_));
}

// --- Server ---------------------------------------------------------------

Server::Server(ServerConfig config, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(handler), AsyncHandler())) {}

Server::Server(ServerConfig config, AsyncHandler handler)
    : impl_(std::make_unique<Impl>(std::move(config), Handler(), std::move(handler))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

uint16_t Server::port() const { return impl_->port; }
const ServerConfig& Server::config() const { return impl_->config; }
bool Server::running() const { return impl_->running.load(); }

ServerStats Server::stats() const {
  ServerStats s;
  s.connections_accepted = impl_->accepted.load();
  s.connections_rejected = impl_->rejected.load();
  s.connections_active = impl_->active.load();
  s.requests = impl_->requests.load();
  s.in_handler = impl_->in_handler.load();
  s.loop_takeovers = impl_->loans.takeovers();
  s.loan_looks = impl_->loans.looks();
  s.batched_calls = impl_->batched_calls.load(std::memory_order_relaxed);
  s.batch_submits = impl_->batch_submits.load(std::memory_order_relaxed);
  s.spare_exchanges = impl_->spare_exchanges.load(std::memory_order_relaxed);
  return s;
}

Result<void> Server::start() {
  Impl& im = *impl_;
  if (im.running.load()) return make_error("server already running");
  if (!im.handler && !im.async_handler) return make_error("no handler");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(im.config.port);
  const char* host = im.config.address.empty() ? nullptr : im.config.address.c_str();
  if (int rc = getaddrinfo(host, port_str.c_str(), &hints, &res); rc != 0) {
    return make_error("cannot resolve listen address '" + im.config.address +
                      "': " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, im.config.backlog) == 0) break;
    last_error = strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return make_error("cannot listen on " + im.config.address + ":" + port_str + ": " +
                      last_error);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  im.port = ntohs(bound.ss_family == AF_INET6
                      ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  im.listen_fd = fd;

  if (auto r = im.log.open(im.config.access_log); !r.ok()) {
    ::close(fd);
    im.listen_fd = -1;
    return r;
  }
  unsigned n = im.config.workers ? im.config.workers : cpus_available();
  im.stopping = false;
  im.workers.clear();
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(im, i);
    if (auto r = w->init(); !r.ok()) {
      im.workers.clear();
      ::close(fd);
      im.listen_fd = -1;
      return r;
    }
    im.workers.push_back(std::move(w));
  }
  im.loans.start(im.workers.size(), [&im](size_t i) { return im.workers[i]->run(); });
  im.running = true;
  return {};
}

void Server::stop(std::chrono::milliseconds grace) {
  Impl& im = *impl_;
  if (!im.running.exchange(false)) return;
  im.grace_deadline_ns = (Clock::now() + grace).time_since_epoch().count();
  im.stopping = true;
  // Stop accepting now: a shut-down listening socket refuses new connections
  // while the descriptor stays valid for the workers until they are done.
  shutdown(im.listen_fd, SHUT_RDWR);
  for (auto& w : im.workers) w->wake();
  im.loans.join();
  im.workers.clear();
  ::close(im.listen_fd);
  im.listen_fd = -1;
  im.log.close();
}

}  // namespace wink::http
