// Short requests run on the I/O thread itself (Dispatcher, lend_io_loop):
// that they do once their key has proved short, and that a request which
// turns out to spin forever, or to wait on its own server, never stalls the
// other connections of its I/O thread: the loop is taken over.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/prctl.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "http/dispatcher.h"
#include "http/loop_loans.h"
#include "http/server.h"
#include "http/test_client.h"

namespace wink::http {
namespace {

using namespace std::chrono_literals;
using test::Client;
using test::get;
using test::wait_until;

ServerConfig one_io_thread() {
  ServerConfig c;
  c.workers = 1;
  c.access_log.sink = AccessLogConfig::Sink::kOff;
  return c;
}

// Tasks run on I/O threads so far, once the last one's count has landed (a
// run is counted just after its answer went out).
uint64_t settled_inline_runs(const Dispatcher& pool) {
  std::this_thread::sleep_for(50ms);
  return pool.ran_inline();
}

// Sends `n` requests one after another on one connection; all must be answered 200.
void warm_up(uint16_t port, int n) {
  Client c(port);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(c.send(get("/warm")));
    auto r = c.read_response(false, 2s);
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200) << i;
  }
}

// In these tests a run is short under 100 ms, so that a loaded machine
// cannot make a warm-up request look slow.
constexpr auto kQuickRun = 100ms;

TEST(IoThreadRequests, ShortRequestsRunOnTheIoThreadOnceTheirKeyProvedShort) {
  Dispatcher pool(DispatcherConfig{.threads = 2, .per_key_threads = 2, .quick_run = kQuickRun});
  std::atomic<pid_t> io_thread{0};
  std::mutex mu;
  std::vector<pid_t> ran_on;
  AsyncHandler handler([&](Completion done) {
    io_thread = gettid();
    dispatch(pool, "k", std::move(done), [&](const Request& req, Response& resp) {
      std::lock_guard lock(mu);
      ran_on.push_back(gettid());
      resp.body = std::string(req.path);
    });
  });
  handler.streams_body = [](const Request& head) { return head.path == "/upload"; };
  Server server(one_io_thread(), handler);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(c.send(get("/r" + std::to_string(i))));
    auto r = c.read_response(false, 2s);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/r" + std::to_string(i));
  }
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(ran_on.size(), size_t{kRequests});
    // The key's first runs prove it short on executors (a run's end is
    // counted just after its answer is sent, so a few more may go there on
    // a loaded machine); from then on, the I/O thread.
    for (size_t i = 0; i < Dispatcher::kFirstQuickRuns; ++i) EXPECT_NE(ran_on[i], io_thread.load()) << i;
    for (size_t i = kRequests / 2; i < ran_on.size(); ++i) EXPECT_EQ(ran_on[i], io_thread.load()) << i;
  }
  uint64_t inline_runs = settled_inline_runs(pool);
  EXPECT_GE(inline_runs, uint64_t{kRequests / 2});
  // A request whose body streams in reads it from the I/O thread: never there.
  std::string body(100'000, 'x');
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  auto r = c.read_response(false, 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/upload");
  EXPECT_EQ(pool.ran_inline(), inline_runs);
  EXPECT_EQ(server.stats().loop_takeovers, 0u);
  server.stop(1s);
  pool.stop();
}

// One I/O thread whose handler answers its path; /spin busy-loops (as a
// guest running to its deadline does) until `release`.
struct SpinServer {
  Dispatcher pool{DispatcherConfig{.threads = 2, .per_key_threads = 4, .quick_run = kQuickRun}};
  std::atomic<bool> release{false};
  std::atomic<int> spinning{0};
  Server server{one_io_thread(), AsyncHandler([this](Completion done) {
                  dispatch(pool, "k", std::move(done), [this](const Request& req, Response& resp) {
                    if (req.path == "/spin") {
                      spinning++;
                      while (!release.load(std::memory_order_relaxed)) {
                      }
                    }
                    resp.body = std::string(req.path);
                    // The timer slack of the thread that ran it (a carrier the
                    // rescuer started must not inherit the rescuer's).
                    if (req.path == "/slack") resp.body = std::to_string(::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
                  });
                })};
};

// The attacker: a request on the I/O thread that never returns (a guest
// looping until its deadline). Every other connection of that I/O thread
// is still answered, and the key must prove itself short again.
// An I/O thread reuses the exchanges it answered (their buffers kept) for its
// next requests: an answer carries nothing of the one before it, whether it
// ran on the I/O thread or on an executor, on the same connection or another.
TEST(IoThreadRequests, AnAnswerCarriesNothingOfTheExchangeBefore) {
  Dispatcher pool(DispatcherConfig{.threads = 2, .per_key_threads = 2, .quick_run = kQuickRun});
  AsyncHandler handler([&](Completion done) {
    dispatch(pool, "k", std::move(done), [&](const Request& req, Response& resp) {
      if (req.path == "/secret" || req.path == "/secret-small") {
        resp.status = 201;
        resp.add_header("X-Secret", "tenant-a-token");
        resp.add_header("Content-Type", "application/x-secret");
        // Over the kept capacity (the buffer goes back) and under it (the
        // buffer, old bytes and all, serves the next request).
        resp.body = std::string(req.path == "/secret-small" ? 1000 : 40000, 's');
        resp.log.app = "a";
        resp.log.request_id = "0123456789abcdef";
        resp.log.timings_ms.emplace_back("run", 1.0);
      }
      // "/plain" sets nothing: the defaults must come out.
    });
  });
  Server server(one_io_thread(), handler);
  ASSERT_TRUE(server.start().ok());
  Client same(server.port());
  for (int i = 0; i < 40; ++i) {
    const bool secret = i % 2 == 0;
    const bool small = i % 4 == 0;
    ASSERT_TRUE(same.send(get(!secret ? "/plain" : small ? "/secret-small" : "/secret")));
    auto r = same.read_response(false, 2s);
    ASSERT_TRUE(r) << i;
    if (secret) {
      EXPECT_EQ(r->status, 201) << i;
      EXPECT_EQ(r->body.size(), small ? 1000u : 40000u) << i;
      continue;
    }
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->body, "") << i;
    EXPECT_FALSE(r->header("x-secret")) << i;
    EXPECT_FALSE(r->header("content-type")) << i;
    // Another connection of the same I/O thread, right after.
    Client other(server.port());
    ASSERT_TRUE(other.send(get("/plain")));
    auto o = other.read_response(false, 2s);
    ASSERT_TRUE(o) << i;
    EXPECT_EQ(o->status, 200) << i;
    EXPECT_EQ(o->body, "") << i;
    EXPECT_FALSE(o->header("x-secret")) << i;
  }
  EXPECT_GT(settled_inline_runs(pool), 0u) << "no request ran on the I/O thread: the reuse there was not exercised";
}

TEST(IoThreadRequests, ARequestThatSpinsOnTheIoThreadHasItsLoopTakenOver) {
  SpinServer s;
  Dispatcher& pool = s.pool;
  Server& server = s.server;
  std::atomic<bool>& release = s.release;
  std::atomic<int>& spinning = s.spinning;
  ASSERT_TRUE(server.start().ok());
  warm_up(server.port(), 12);
  uint64_t before = settled_inline_runs(pool);
  ASSERT_GT(before, 0u);

  Client spin(server.port());
  auto spin_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(spin.send(get("/spin")));
  ASSERT_TRUE(wait_until([&] { return spinning == 1; }));
  EXPECT_EQ(pool.ran_inline(), before);  // counted when it ends
  for (int i = 0; i < 20; ++i) {
    Client other(server.port());  // the one I/O thread's connections
    ASSERT_TRUE(other.send(get("/q" + std::to_string(i))));
    auto r = other.read_response(false, 2s);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/q" + std::to_string(i));
  }
  EXPECT_FALSE(release.load());  // all answered while /spin still runs
  EXPECT_EQ(server.stats().loop_takeovers, 1u);
  {
    Client other(server.port());
    ASSERT_TRUE(other.send(get("/slack")));
    auto r = other.read_response(false, 2s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)))
        << "the new carrier has the rescuer's timer slack";
  }

  std::this_thread::sleep_until(spin_start + 2 * kQuickRun);  // a slow run
  release = true;
  auto r = spin.read_response(false, 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/spin");
  // The slow run sent the key back to executors: twice the first proof now.
  uint64_t after_spin = settled_inline_runs(pool);
  warm_up(server.port(), Dispatcher::kFirstQuickRuns * 2 - 1);
  EXPECT_EQ(settled_inline_runs(pool), after_spin);
  warm_up(server.port(), 8);
  EXPECT_GT(settled_inline_runs(pool), after_spin);

  // A second spin: the loop moves again (to the spare thread the first left).
  release = false;
  Client spin2(server.port());
  ASSERT_TRUE(spin2.send(get("/spin")));
  ASSERT_TRUE(wait_until([&] { return spinning == 2; }));
  warm_up(server.port(), 3);
  EXPECT_EQ(server.stats().loop_takeovers, 2u);
  release = true;
  ASSERT_TRUE(spin2.read_response(false, 2s));
  server.stop(1s);
  pool.stop();
}

// A slow run now and then (a machine's stall makes most of a short key's) is
// forgiven with time: each quick_forgive without one halves the short runs
// the key must show. Without that, a key that had a few stalls in its life
// would send thousands of its requests to executors after each later one.
TEST(IoThreadRequests, SlowRunsAreForgivenAfterTimeWithoutThem) {
  constexpr auto kForgive = 500ms;
  Dispatcher pool(DispatcherConfig{.threads = 2, .per_key_threads = 2, .quick_run = kQuickRun,
                                   .quick_forgive = kForgive});
  Server server(one_io_thread(), AsyncHandler([&](Completion done) {
    dispatch(pool, "k", std::move(done), [](const Request& req, Response& resp) {
      if (req.path == "/slow") std::this_thread::sleep_for(kQuickRun + 50ms);
      resp.body = std::string(req.path);
    });
  }));
  ASSERT_TRUE(server.start().ok());
  warm_up(server.port(), 12);
  ASSERT_GT(settled_inline_runs(pool), 0u);
  // Two slow runs back to back: the key must now show 16 short runs.
  for (int i = 0; i < 2; ++i) {
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/slow")));
    ASSERT_TRUE(c.read_response(false, 2s)) << i;
  }
  const uint64_t after_slow = settled_inline_runs(pool);
  warm_up(server.port(), 6);  // (under 8: one halving on a slow machine still keeps them off)
  EXPECT_EQ(settled_inline_runs(pool), after_slow) << "short runs went inline right after slow ones";
  // Three periods without a slow run: 16 halves to the first proof (4), which
  // the 6 short runs and the next one already gave.
  std::this_thread::sleep_for(3 * kForgive + 100ms);
  warm_up(server.port(), 8);
  EXPECT_GE(settled_inline_runs(pool) - after_slow, 5u) << "the slow runs were not forgiven";
  server.stop(1s);
  pool.stop();
}

// Loans of a few microseconds, thousands of them: the rescuer wakes when a
// loan could reach LoopLoans::kLoanLimit, about once per limit, not once
// per loan (each wake is a context switch on the I/O thread's CPU).
TEST(IoThreadRequests, ShortLoansWakeTheRescuerAboutOncePerLoanLimit) {
  SpinServer s;
  ASSERT_TRUE(s.server.start().ok());
  warm_up(s.server.port(), 12);
  const uint64_t runs_before = settled_inline_runs(s.pool);
  const uint64_t looks_before = s.server.stats().loan_looks;
  const auto start = std::chrono::steady_clock::now();
  Client c(s.server.port());
  int answered = 0;
  while (std::chrono::steady_clock::now() - start < 300ms) {
    ASSERT_TRUE(c.send(get("/q")));
    ASSERT_TRUE(c.read_response(false, 2s));
    ++answered;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const uint64_t looks = s.server.stats().loan_looks - looks_before;
  const uint64_t loans = settled_inline_runs(s.pool) - runs_before;
  ASSERT_GT(loans, uint64_t(answered / 2)) << "the requests did not run on the I/O thread";
  // A look that finds a loan schedules the next one for when that loan
  // would reach the limit, a little sooner; a 1 ms tick would look 300 times.
  EXPECT_LE(looks, uint64_t(elapsed / LoopLoans::kLoanLimit) * 3 / 2 + 5) << loans << " loans";
  s.server.stop(1s);
  s.pool.stop();
}

// A request that calls its own server and waits for the answer would wait
// for itself on a one-thread server; the loop is taken over and both are answered.
TEST(IoThreadRequests, ARequestThatWaitsOnItsOwnServerIsAnswered) {
  // Each /self (a few ms) counts as short here, so each runs on the I/O thread.
  Dispatcher pool(DispatcherConfig{.threads = 2, .per_key_threads = 4, .quick_run = kQuickRun});
  uint16_t port = 0;
  Server server(one_io_thread(), AsyncHandler([&](Completion done) {
    dispatch(pool, "k", std::move(done), [&](const Request& req, Response& resp) {
      if (req.path != "/self") {
        resp.body = "inner";
        return;
      }
      Client inner(port);
      if (!inner.send(get("/inner"))) return;
      auto r = inner.read_response(false, 5s);
      resp.body = r ? "outer+" + r->body : "no answer";
    });
  }));
  ASSERT_TRUE(server.start().ok());
  port = server.port();
  warm_up(port, 12);
  Client c(port);
  for (int i = 0; i < 3; ++i) {
    uint64_t before = settled_inline_runs(pool);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send(get("/self")));
    auto r = c.read_response(false, 5s);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "outer+inner") << i;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << i;
    EXPECT_GT(settled_inline_runs(pool), before) << i;  // it did run on the I/O thread
  }
  EXPECT_EQ(server.stats().loop_takeovers, 3u);
  server.stop(1s);
  pool.stop();
}

// Stopping while a taken-over request still runs on its former I/O thread:
// the loop ends on its new thread, stop() returns once the work does, and
// the late answer is dropped without harm.
TEST(IoThreadRequests, StopWhileARequestSpinsOnAFormerIoThread) {
  SpinServer s;
  Server& server = s.server;
  std::atomic<bool>& release = s.release;
  ASSERT_TRUE(server.start().ok());
  warm_up(server.port(), 12);
  Client spin(server.port());
  ASSERT_TRUE(spin.send(get("/spin")));
  ASSERT_TRUE(wait_until([&] { return s.spinning == 1; }));
  ASSERT_TRUE(wait_until([&] { return server.stats().loop_takeovers == 1; }));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.stop(50ms);
    stopped = true;
  });
  EXPECT_TRUE(spin.closed_by_peer(2s));  // the grace ran out: its connection is closed
  EXPECT_FALSE(stopped.load());          // its thread is still in the request
  release = true;
  stopper.join();
  EXPECT_TRUE(stopped.load());
  s.pool.stop();
}

}  // namespace
}  // namespace wink::http
