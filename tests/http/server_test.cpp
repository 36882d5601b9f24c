// Server over real loopback sockets (port 0): HTTP/1.1 semantics, limits,
// timeouts, connection limit, graceful stop, health endpoint, access log.
#include "http/dispatcher.h"
#include "http/server.h"
#include "http/stream.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <cstdlib>
#include <fstream>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/test_client.h"

namespace wink::http {
namespace {

using namespace std::chrono_literals;
using test::Client;
using test::get;
using test::wait_until;

// Echo handler: reports method, path, query and body; honours a few test headers.
void echo(const Request& req, Response& resp) {
  resp.add_header("Content-Type", "text/plain");
  resp.add_header("Server-Timing", "run;dur=0.1, instantiate;dur=0.02");
  resp.add_header("X-Method", std::string(req.method));
  resp.add_header("Content-Length", "999");  // ignored: the server frames responses
  resp.add_header("X-Bad", "a\r\nInjected: yes");  // dropped: would split the response
  if (auto d = req.header("x-sleep-ms")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(*d))));
  }
  resp.body = std::string(req.method) + " " + std::string(req.path);
  if (!req.query.empty()) resp.body += "?" + std::string(req.query);
  if (!req.body.empty()) resp.body += " body=" + req.body;
  for (const auto& t : req.trailers) {
    resp.body += " trailer:" + std::string(t.name) + "=" + std::string(t.value);
  }
  resp.log.app = "echo-app";
  resp.log.component = "echo";
  resp.log.timings_ms = {{"run", 0.1}, {"instantiate", 0.02}};
}

ServerConfig quiet_config() {
  ServerConfig c;
  c.workers = 2;
  c.access_log.sink = AccessLogConfig::Sink::kOff;
  return c;
}

// An access log sent to a callback and collected here, for tests to read.
class CollectedLog {
 public:
  void attach(ServerConfig& config) {
    config.access_log.sink = AccessLogConfig::Sink::kCallback;
    config.access_log.callback = [this](std::string_view lines) {
      std::lock_guard lock(mu_);
      text_.append(lines);
    };
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count(text_.begin(), text_.end(), '\n'));
  }
  // Each complete line as JSON (a line that is not fails the test).
  std::vector<nlohmann::json> parsed() const {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    for (size_t pos = 0, nl; (nl = text_.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      out.push_back(nlohmann::json::parse(text_.substr(pos, nl - pos)));
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

// Every ServerTest runs twice: with a synchronous handler on the I/O threads,
// and (/Async) with the same handler run on a Dispatcher's executors and
// completed from there, so keep-alive, pipelining, limits, timeouts and
// graceful stop hold for both.
class ServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void start(ServerConfig config = quiet_config(), Handler handler = echo) {
    if (GetParam()) {
      pool_ = std::make_unique<Dispatcher>(DispatcherConfig{.threads = 4, .per_key_threads = 4});
      Dispatcher* pool = pool_.get();
      server_ = std::make_unique<Server>(
          std::move(config), AsyncHandler([pool, handler](Completion done) {
            dispatch(*pool, "test", std::move(done), handler);
          }));
    } else {
      server_ = std::make_unique<Server>(std::move(config), std::move(handler));
    }
    auto r = server_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->stop(1s);
  }
  uint16_t port() const { return server_->port(); }
  std::unique_ptr<Dispatcher> pool_;
  std::unique_ptr<Server> server_;
};
INSTANTIATE_TEST_SUITE_P(Handler, ServerTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Async" : "Sync"; });

TEST_P(ServerTest, GetHasDateContentLengthAndPassesHeadersThrough) {
  start();
  Client c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/hello?x=1")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->body, "GET /hello?x=1");
  EXPECT_EQ(r->header("content-length").value_or(""), std::to_string(r->body.size()));
  EXPECT_EQ(r->headers.count("content-length"), 1u);
  EXPECT_TRUE(r->header("date").has_value());
  EXPECT_EQ(r->header("server-timing").value_or(""), "run;dur=0.1, instantiate;dur=0.02");
  EXPECT_EQ(r->header("x-method").value_or(""), "GET");
  EXPECT_FALSE(r->header("x-bad").has_value());
  EXPECT_FALSE(r->header("injected").has_value());
}

// ServerConfig::after_sends runs once the batch's responses went out: a hook
// that takes long (here 300 ms, once per request handled) delays no response.
std::atomic<int> g_handled{0}, g_hook_seen{0}, g_hook_done{0};
void slow_after_sends(std::chrono::steady_clock::time_point) {
  const int handled = g_handled.load();
  if (handled == g_hook_seen.load()) return;
  g_hook_seen = handled;
  std::this_thread::sleep_for(300ms);
  g_hook_done = handled;
}

TEST_P(ServerTest, AfterSendsRunsOnceTheResponsesWentOut) {
  g_handled = g_hook_seen = g_hook_done = 0;
  ServerConfig config = quiet_config();
  config.workers = 1;
  config.after_sends = slow_after_sends;
  start(config, [](const Request& req, Response& resp) {
    echo(req, resp);
    ++g_handled;
  });
  Client c(port());
  for (int i = 1; i <= 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send(get("/a" + std::to_string(i))));
    auto r = c.read_response();
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET /a" + std::to_string(i));
    EXPECT_EQ(g_hook_done.load(), i - 1) << "request " << i << " waited for the hook of its own batch";
    EXPECT_LT(waited, 250ms) << "request " << i;
    // The hook ran for it, after it was answered.
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (g_hook_done.load() < i && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(g_hook_done.load(), i);
  }
}

TEST_P(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(port());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c.send(get("/k" + std::to_string(i))));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET /k" + std::to_string(i));
    EXPECT_FALSE(r->header("connection").has_value());
  }
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_P(ServerTest, PipelinedRequestsAnsweredInOrder) {
  start();
  Client c(port());
  std::string batch;
  for (int i = 0; i < 20; ++i) {
    batch += i % 3 == 0 ? "POST /p" + std::to_string(i) +
                              " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
                        : get("/p" + std::to_string(i));
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 20; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, i % 3 == 0 ? "POST /p" + std::to_string(i) + " body=ok"
                                  : "GET /p" + std::to_string(i));
  }
}

// Reads and sends of connections that are ready together are made together
// (socket_batch.h). 64 clients each pipeline 8 requests, all written before
// any response is read: every client gets its own 8 answers in order, and
// the server made fewer system calls than reads and sends.
TEST_P(ServerTest, ManyClientsAtOnceGetTheirOwnAnswersInOrder) {
  start();
  constexpr int kClients = 64, kEach = 8;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kClients; ++i) {
      std::string pipeline;
      for (int k = 0; k < kEach; ++k) pipeline += get("/c" + std::to_string(i) + "/r" + std::to_string(round * kEach + k));
      ASSERT_TRUE(clients[i]->send(pipeline));
    }
    for (int i = 0; i < kClients; ++i) {
      for (int k = 0; k < kEach; ++k) {
        auto r = clients[i]->read_response();
        ASSERT_TRUE(r) << i << " " << k;
        EXPECT_EQ(r->body, "GET /c" + std::to_string(i) + "/r" + std::to_string(round * kEach + k));
      }
    }
  }
  const ServerStats st = server_->stats();
  EXPECT_EQ(st.requests, static_cast<uint64_t>(3 * kClients * kEach));
  const char* switch_off = getenv("WINK_IO_URING");
  if (switch_off && std::string(switch_off) == "off") {  // (http_server_without_io_uring)
    EXPECT_EQ(st.batched_calls, 0u);
    EXPECT_EQ(st.batch_submits, 0u);
    return;
  }
  // Each submit makes two or more calls (a batch of one is a plain call): at
  // least one system call saved per client.
  EXPECT_GE(st.batched_calls, 2 * st.batch_submits);
  EXPECT_GE(st.batched_calls - st.batch_submits, static_cast<uint64_t>(kClients)) << st.batched_calls;
}

// A batched read takes at most 16 KB per connection; a client writing more
// (a pipeline of 1,000 requests, a 300 KB body, a request whose head ends
// exactly at the first 16 KB) next to others that are ready at the same time
// is read on until its socket is empty, and every answer is whole.
TEST_P(ServerTest, AClientWritingMoreThanABatchedReadIsServedWhole) {
  start();
  Client pipe(port()), body(port()), edge(port()), small(port());
  std::string pipeline;
  for (int i = 0; i < 1000; ++i) pipeline += get("/p" + std::to_string(i));
  ASSERT_GT(pipeline.size(), 16u * 1024);
  const std::string payload(300 * 1024, 'z');
  const std::string post = "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(payload.size()) +
                           "\r\n\r\n" + payload;
  std::string edge_head = "GET /edge HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  edge_head += std::string(16 * 1024 - edge_head.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(edge_head.size(), 16u * 1024);
  std::thread writer([&] { EXPECT_TRUE(body.send(post)); });
  ASSERT_TRUE(pipe.send(pipeline));
  ASSERT_TRUE(edge.send(edge_head + get("/after-edge")));
  ASSERT_TRUE(small.send(get("/small")));
  auto r = small.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /small");
  for (int i = 0; i < 1000; ++i) {
    auto p = pipe.read_response();
    ASSERT_TRUE(p) << i;
    EXPECT_EQ(p->body, "GET /p" + std::to_string(i));
  }
  auto e = edge.read_response();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "GET /edge");
  e = edge.read_response();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "GET /after-edge");
  auto b = body.read_response();
  writer.join();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body, "POST /big body=" + payload);
}

// Clients that reset their connection with requests and answers in flight,
// among others ready in the same batches: the others are all answered and
// the server keeps serving.
TEST_P(ServerTest, ClientsResettingMidBatchLeaveTheOthersServed) {
  start();
  for (int round = 0; round < 5; ++round) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 24; ++i) clients.push_back(std::make_unique<Client>(port()));
    for (int i = 0; i < 24; ++i) {
      std::string pipeline;
      for (int k = 0; k < 4; ++k) pipeline += get("/x" + std::to_string(i) + "-" + std::to_string(k));
      ASSERT_TRUE(clients[i]->send(pipeline));
      if (i % 3 == 0) {  // reset at once: the server's reads or sends fail
        linger lg{1, 0};
        setsockopt(clients[i]->fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        clients[i].reset();
      }
    }
    for (int i = 0; i < 24; ++i) {
      if (!clients[i]) continue;
      for (int k = 0; k < 4; ++k) {
        auto r = clients[i]->read_response();
        ASSERT_TRUE(r) << round << " " << i << " " << k;
        EXPECT_EQ(r->body, "GET /x" + std::to_string(i) + "-" + std::to_string(k));
      }
    }
  }
  // Every connection, reset or closed, is gone from the server.
  EXPECT_TRUE(wait_until([&] { return server_->stats().connections_active == 0; }))
      << server_->stats().connections_active;
  Client after(port());
  ASSERT_TRUE(after.send(get("/after")));
  auto r = after.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /after");
}

// The client half-closes while its one request is still in the handler (the
// server keeps reading a connection whose request is out, so it sees the EOF
// then): the response still comes, then the close.
TEST_P(ServerTest, HalfCloseWhileTheRequestRunsStillAnswered) {
  start();
  for (int i = 0; i < 5; ++i) {
    Client c(port());
    ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Sleep-Ms: 30\r\n\r\n"));
    std::this_thread::sleep_for(5ms);  // the request is in the handler by now
    c.shutdown_write();
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET /slow");
    EXPECT_TRUE(c.closed_by_peer());
  }
}

TEST_P(ServerTest, PipelineEndedByHalfCloseStillAnswered) {
  start();
  Client c(port());
  ASSERT_TRUE(c.send(get("/a") + get("/b")));
  c.shutdown_write();
  auto a = c.read_response();
  auto b = c.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "GET /a");
  EXPECT_EQ(b->body, "GET /b");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerTest, ChunkedRequestBodyWithTrailers) {
  start();
  Client c(port());
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("6\r\nhello \r\n"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("5;ext=1\r\nworld\r\n0\r\nX-Checksum: abc\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /up body=hello world trailer:X-Checksum=abc");
}

TEST_P(ServerTest, LargeBodiesBothWays) {
  std::string big(3 << 20, 'x');
  start(quiet_config(), [&](const Request& req, Response& resp) {
    resp.body = req.body + req.body;  // 6 MiB response
  });
  Client c(port());
  ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                     std::to_string(big.size()) + "\r\n\r\n" + big));
  auto r = c.read_response(false, 20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), big.size() * 2);
  ASSERT_TRUE(c.send(get("/after")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "");
}

TEST_P(ServerTest, HeadHasContentLengthButNoBody) {
  start();
  Client c(port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n" + get("/next")));
  auto r = c.read_response(/*head_only=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length").value_or(""), std::to_string(std::string("HEAD /h").size()));
  // The next response must follow immediately: no body bytes in between.
  auto n = c.read_response();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->body, "GET /next");
}

TEST_P(ServerTest, ExpectContinue) {
  start();
  Client c(port());
  ASSERT_TRUE(c.send(
      "PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto cont = c.read_response();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.send("data"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /e body=data");
}

TEST_P(ServerTest, ExpectContinueOverLimitGets413WithoutContinue) {
  ServerConfig cfg = quiet_config();
  cfg.max_body_bytes = 10;
  start(cfg);
  Client c(port());
  ASSERT_TRUE(c.send(
      "PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("connection").value_or(""), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerTest, HealthEndpointCannotBeOverridden) {
  std::atomic<int> calls{0};
  start(quiet_config(), [&](const Request&, Response& resp) {
    ++calls;
    resp.status = 404;
  });
  Client c(port());
  ASSERT_TRUE(c.send(get("/healthz")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
  ASSERT_TRUE(c.send(get("/other")));
  auto o = c.read_response();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, 404);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(ServerTest, ConnectionCloseAndHttp10) {
  start();
  {
    Client c(port());
    ASSERT_TRUE(c.send(get("/c", "Connection: close\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection").value_or(""), "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /old");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection").value_or(""), "keep-alive");
    ASSERT_TRUE(c.send("GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r2 = c.read_response();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "GET /ka2");
  }
}

// Each limit: the status, Connection: close, then the connection closes.
void expect_error_and_close(uint16_t port, const std::string& request, int status) {
  Client c(port);
  ASSERT_TRUE(c.send(request));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "no response for status " << status;
  EXPECT_EQ(r->status, status);
  EXPECT_EQ(r->header("connection").value_or(""), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerTest, LimitStatuses) {
  ServerConfig cfg = quiet_config();
  cfg.max_header_bytes = 4096;
  cfg.max_uri_bytes = 1024;
  cfg.max_body_bytes = 1000;
  start(cfg);
  expect_error_and_close(port(), get("/" + std::string(2000, 'u')), 414);
  expect_error_and_close(port(), get("/", "X-Big: " + std::string(5000, 'h') + "\r\n"), 431);
  expect_error_and_close(port(), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n" +
                                     std::string(1001, 'b'),
                         413);
  expect_error_and_close(port(),
                         "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3e8\r\n" + std::string(1000, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n",
                         413);
  expect_error_and_close(port(), "BROKEN\r\n\r\n", 400);
  expect_error_and_close(port(), "GET / HTTP/1.1\r\n\r\n", 400);  // no Host
  expect_error_and_close(port(), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n",
                         501);
  expect_error_and_close(port(), "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505);
  // Server still fine afterwards.
  Client c(port());
  ASSERT_TRUE(c.send(get("/fine")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(ServerTest, SlowHeaderGets408) {
  ServerConfig cfg = quiet_config();
  cfg.header_timeout = 300ms;
  start(cfg);
  Client c(port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHost: h\r\n"));  // never finished
  auto r = c.read_response(false, 3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerTest, SlowBodyGets408) {
  ServerConfig cfg = quiet_config();
  cfg.body_timeout = 300ms;
  start(cfg);
  Client c(port());
  ASSERT_TRUE(c.send("POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"));
  auto r = c.read_response(false, 3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerTest, SilentConnectionClosedAfterHeaderTimeout) {
  ServerConfig cfg = quiet_config();
  cfg.header_timeout = 200ms;
  cfg.idle_timeout = 200ms;
  start(cfg);
  Client silent(port());
  EXPECT_TRUE(silent.closed_by_peer(3s));
  EXPECT_TRUE(silent.buffered().empty());  // closed without a response
  Client idle(port());
  ASSERT_TRUE(idle.send(get("/once")));
  ASSERT_TRUE(idle.read_response());
  EXPECT_TRUE(idle.closed_by_peer(3s));  // idle keep-alive timeout
}

TEST_P(ServerTest, ConnectionLimitRefusesCleanlyAndKeepsServing) {
  ServerConfig cfg = quiet_config();
  cfg.max_connections = 2;
  start(cfg);
  Client a(port()), b(port());
  ASSERT_TRUE(a.send(get("/a")));
  ASSERT_TRUE(b.send(get("/b")));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.read_response());
  {
    Client extra(port());
    ASSERT_TRUE(extra.connected());
    extra.send(get("/extra"));
    auto r = extra.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_TRUE(extra.closed_by_peer());
  }
  EXPECT_GE(server_->stats().connections_rejected, 1u);
  // The two admitted connections still work.
  ASSERT_TRUE(a.send(get("/a2")));
  auto ra = a.read_response();
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->body, "GET /a2");
  ASSERT_TRUE(b.send(get("/b2")));
  ASSERT_TRUE(b.read_response());
}

TEST_P(ServerTest, SlowHandlerDoesNotStallOtherWorkers) {
  start();  // 2 workers
  Client slow(port());
  ASSERT_TRUE(slow.send(get("/slow", "X-Sleep-Ms: 1000\r\n")));
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  Client fast(port());  // accepted by the idle worker
  ASSERT_TRUE(fast.send(get("/fast")));
  auto r = fast.read_response();
  ASSERT_TRUE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  ASSERT_TRUE(slow.read_response());
}

TEST_P(ServerTest, GracefulStopFinishesInFlightRequest) {
  start();
  Client idle(port());
  ASSERT_TRUE(idle.send(get("/warm")));
  ASSERT_TRUE(idle.read_response());
  Client slow(port());
  ASSERT_TRUE(slow.send(get("/slow", "X-Sleep-Ms: 400\r\n")));
  std::this_thread::sleep_for(100ms);  // handler is running
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->stop(5s); });
  auto r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /slow");
  EXPECT_EQ(r->header("connection").value_or(""), "close");
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_TRUE(idle.closed_by_peer());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // did not wait for the grace period
  EXPECT_FALSE(server_->running());
  Client late(port());
  EXPECT_FALSE(late.connected());
}

TEST_P(ServerTest, GraceExpiryClosesStragglers) {
  ServerConfig cfg = quiet_config();
  cfg.header_timeout = 60s;
  start(cfg);
  Client partial(port());
  ASSERT_TRUE(partial.send("GET /never HTTP/1.1\r\n"));
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  server_->stop(300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(partial.closed_by_peer(1s));
}

TEST_P(ServerTest, AccessLogLinesAreJson) {
  CollectedLog log;
  ServerConfig cfg = quiet_config();
  log.attach(cfg);
  start(cfg);
  {
    Client c(port());
    ASSERT_TRUE(c.send(get("/logged?q=\"1\"") + get("/healthz") + "GET /\x01 HTTP/1.1\r\n\r\n"));
    ASSERT_TRUE(c.read_response());
    ASSERT_TRUE(c.read_response());
    auto bad = c.read_response();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
  }
  server_->stop(1s);  // flushes the logs
  const std::vector<nlohmann::json> parsed = log.parsed();
  ASSERT_EQ(parsed.size(), 3u) << log.text();
  const auto& j = parsed[0];
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/logged");
  EXPECT_EQ(j["query"], "q=\"1\"");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"], std::string("GET /logged?q=\"1\"").size());
  EXPECT_EQ(j["app"], "echo-app");
  EXPECT_EQ(j["component"], "echo");
  EXPECT_DOUBLE_EQ(j["timings_ms"]["run"].get<double>(), 0.1);
  EXPECT_EQ(j["remote"], "127.0.0.1");
  EXPECT_TRUE(j["time"].is_string());
  EXPECT_TRUE(j["duration_ms"].is_number());
  EXPECT_TRUE(j["handler_ms"].is_number());
  EXPECT_EQ(parsed[1]["path"], "/healthz");
  EXPECT_EQ(parsed[2]["status"], 400);
  EXPECT_TRUE(parsed[2]["error"].is_string());
}

TEST_P(ServerTest, AccessLogToFile) {
  // One file per process: ctest runs the Sync and Async variants at once.
  std::string path = ::testing::TempDir() + "/wink_http_access." + std::to_string(::getpid()) + ".log";
  std::remove(path.c_str());
  ServerConfig cfg = quiet_config();
  cfg.access_log.sink = AccessLogConfig::Sink::kFile;
  cfg.access_log.path = path;
  start(cfg);
  Client c(port());
  ASSERT_TRUE(c.send(get("/f")));
  ASSERT_TRUE(c.read_response());
  server_->stop(1s);
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_TRUE(f);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  std::remove(path.c_str());
  auto j = nlohmann::json::parse(std::string(buf, n));
  EXPECT_EQ(j["path"], "/f");
}

// A file's lines are written once the oldest has waited the flush interval,
// not per request: with no further traffic the loop still wakes to write
// them, and nothing is written before (one write per request cost 5-7% of a
// one-connection hello).
TEST_P(ServerTest, AccessLogFileLinesAreWrittenWithinTheFlushInterval) {
  std::string path = ::testing::TempDir() + "/wink_http_flush." + std::to_string(::getpid()) + "." +
                     std::to_string(static_cast<int>(GetParam())) + ".log";
  std::remove(path.c_str());
  ServerConfig cfg = quiet_config();
  cfg.access_log.sink = AccessLogConfig::Sink::kFile;
  cfg.access_log.path = path;
  cfg.access_log.file_flush_interval = 300ms;
  start(cfg);
  auto lines_in_file = [&] {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n += line.find("\"path\":\"/f") != std::string::npos;
    return n;
  };
  Client c(port());
  const auto sent = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/f" + std::to_string(i))));
    ASSERT_TRUE(c.read_response());
  }
  const int early = lines_in_file();
  const bool checked_early = std::chrono::steady_clock::now() - sent < 250ms;  // (a slow machine: no claim)
  const auto deadline = sent + 5s;
  while (lines_in_file() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto written_after = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(lines_in_file(), 3) << "the lines were never written while the server ran";
  if (checked_early) {
    EXPECT_EQ(early, 0) << "written before the flush interval";
  }
  EXPECT_GE(written_after, 290ms);
  server_->stop(1s);
  std::remove(path.c_str());
}

TEST_P(ServerTest, HandlerExceptionGives500) {
  start(quiet_config(), [](const Request&, Response&) { throw std::runtime_error("boom"); });
  Client c(port());
  ASSERT_TRUE(c.send(get("/x") + get("/y")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  auto r2 = c.read_response();  // connection survives
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 500);
}

TEST_P(ServerTest, StatusesWithoutBody) {
  start(quiet_config(), [](const Request& req, Response& resp) {
    resp.status = req.path == "/204" ? 204 : 304;
    resp.body = "ignored";
  });
  Client c(port());
  ASSERT_TRUE(c.send(get("/204") + get("/304") + get("/204")));
  for (int i = 0; i < 3; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, i == 1 ? 304 : 204);
    EXPECT_FALSE(r->header("content-length").has_value());
  }
}

// ---- asynchronous handlers and the executor pool (issue 9, item 4) ----

// Completions parked by a test handler, finished later from the test thread.
struct Parked {
  std::mutex mu;
  std::vector<Completion> done;
  void add(Completion c) {
    std::lock_guard lock(mu);
    done.push_back(std::move(c));
  }
  size_t size() {
    std::lock_guard lock(mu);
    return done.size();
  }
  void finish_all(const std::string& body) {
    std::vector<Completion> all;
    {
      std::lock_guard lock(mu);
      all.swap(done);
    }
    for (auto& c : all) {
      c.response().body = body + " " + std::string(c.request().path);
      c.complete();
    }
  }
};

// One I/O thread: /ping is answered at once, every other request parked.
std::unique_ptr<Server> parking_server(const std::shared_ptr<Parked>& parked) {
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  return std::make_unique<Server>(cfg, AsyncHandler([parked](Completion done) {
    if (done.request().path == "/ping") {
      done.complete();
      return;
    }
    parked->add(std::move(done));
  }));
}

// One I/O thread: a request whose handler has not completed does not hold
// up another connection, /healthz, or further requests.
TEST(AsyncServerTest, PendingHandlerDoesNotBlockItsIoThread) {
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  auto parked = std::make_shared<Parked>();
  Server server(cfg, AsyncHandler([parked](Completion done) {
    if (done.request().path == "/park") {
      parked->add(std::move(done));
      return;
    }
    done.response().body = "quick";
    done.complete();  // inline, on the I/O thread
  }));
  ASSERT_TRUE(server.start().ok());
  Client slow(server.port());
  ASSERT_TRUE(slow.send(get("/park")));
  ASSERT_TRUE(wait_until([&] { return parked->size() == 1; }));
  EXPECT_EQ(server.stats().in_handler, 1u);
  for (const char* path : {"/a", "/healthz", "/b"}) {
    Client other(server.port());
    ASSERT_TRUE(other.send(get(path)));
    auto r = other.read_response(false, 1s);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200);
    // Answered while /park is still held (it is finished only below): that
    // is the behaviour; how fast is for the benchmarks.
    EXPECT_EQ(parked->size(), 1u) << path;
  }
  std::thread([parked] { parked->finish_all("late"); }).join();  // from another thread
  auto r = slow.read_response(false, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "late /park");
  EXPECT_EQ(server.stats().in_handler, 0u);
  server.stop(1s);
}

// A streamed response (stream.h) to a client that never reads: the handler
// can write only the window ahead of the socket, so memory stays bounded, and
// once no byte leaves for write_timeout the connection is cut and the
// handler's next write fails (a guest would see a stream error and end).
TEST(AsyncServerTest, StreamedResponseToAClientThatNeverReadsIsCutAtWriteTimeout) {
  ServerConfig cfg = quiet_config();
  cfg.write_timeout = 300ms;
  std::atomic<uint64_t> written{0};
  std::atomic<bool> failed{false};
  std::thread worker;
  Server server(cfg, AsyncHandler([&](Completion done) {
    worker = std::thread([&, done = std::move(done)]() mutable {
      BodyStream& s = *done.request().stream;
      EXPECT_FALSE(s.body_streams());
      ASSERT_TRUE(s.start(200, {{"Content-Type", "application/octet-stream"}}, std::nullopt));
      const std::string block(64 * 1024, 'b');
      auto end = std::chrono::steady_clock::now() + 20s;
      while (std::chrono::steady_clock::now() < end) {
        size_t room = s.room();
        if (room == 0) {
          if (s.failed()) break;
          s.wait(100ms);
          continue;
        }
        if (!s.write(std::string_view(block).substr(0, std::min(room, block.size())))) break;
        written += std::min(room, block.size());
      }
      failed = s.failed();
      done.complete();
    });
  }));
  ASSERT_TRUE(server.start().ok());
  auto t0 = std::chrono::steady_clock::now();
  {
    Client c(server.port());
    int small = 4096;
    setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(c.send(get("/never-read")));
    ASSERT_TRUE(wait_until([&] { return failed.load(); }, 15s));
    worker.join();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  // What the socket buffers took plus the stream's window, not the 20 s of writing.
  EXPECT_LT(written.load(), 32u << 20) << written.load();
  EXPECT_TRUE(wait_until([&] { return server.stats().in_handler == 0; }));
  server.stop(1s);
}

// A streamed response is handed to the I/O thread in batches (stream.h):
// what the handler flushes, or leaves queued when it blocks in wait(),
// reaches the client while the handler still runs. The handler goes on only
// once the client has the bytes, so a batch held back fails the test.
TEST(AsyncServerTest, FlushedOrWaitedOnOutputReachesTheClientWhileTheHandlerRuns) {
  std::atomic<int> client_has{0};  // 1: "flushed\n" arrived, 2: "waited\n" too
  std::atomic<bool> gave_up{false};
  std::thread worker;
  Server server(quiet_config(), AsyncHandler([&](Completion done) {
    worker = std::thread([&, done = std::move(done)]() mutable {
      BodyStream& s = *done.request().stream;
      const auto until = std::chrono::steady_clock::now() + 10s;
      EXPECT_TRUE(s.start(200, {{"Content-Type", "text/plain"}}, std::nullopt));
      EXPECT_TRUE(s.write("flushed\n"));
      s.flush();
      while (client_has.load() < 1 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);  // not wait(): only the flush may send it
      }
      EXPECT_TRUE(s.write("waited\n"));
      while (client_has.load() < 2 && std::chrono::steady_clock::now() < until) s.wait(20ms);
      gave_up = client_has.load() < 2;
      EXPECT_TRUE(s.write("end\n"));
      s.finish();
      done.complete();
    });
  }));
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/stream")));
  std::string got;
  auto read_until = [&](std::string_view needle) {
    char buf[4096];
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{c.fd(), POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got.find(needle) != std::string::npos;
  };
  EXPECT_TRUE(read_until("flushed\n")) << got;
  client_has = 1;
  EXPECT_TRUE(read_until("waited\n")) << got;
  client_has = 2;
  EXPECT_TRUE(read_until("0\r\n\r\n")) << got;
  worker.join();
  EXPECT_FALSE(gave_up.load());
  EXPECT_NE(got.find("end\n"), std::string::npos) << got;
  server.stop(1s);
}

// An I/O thread reuses an answered exchange's body stream for its next
// request (no allocation per exchange). The next handler sees only its own
// body and a stream not started, finished or failed, and its client gets
// nothing of the last response, although the last handler left most of its
// body unread, waited (made the stream's eventfd) and streamed its answer.
TEST(AsyncServerTest, AReusedBodyStreamCarriesNothingOfTheRequestBefore) {
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  std::mutex mu;
  std::vector<const BodyStream*> streams;
  std::vector<std::thread> threads;
  std::string second_saw;  // under mu
  auto read_until_end = [](BodyStream& s, size_t max) {
    std::string body;
    char buf[64];
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (body.size() < max && std::chrono::steady_clock::now() < until) {
      size_t n = 0;
      auto st = s.read(buf, std::min(sizeof buf, max - body.size()), n);
      if (st == BodyStream::ReadStatus::kData) {
        body.append(buf, n);
      } else if (st == BodyStream::ReadStatus::kWouldBlock) {
        s.wait(20ms);
      } else {
        break;
      }
    }
    return body;
  };
  AsyncHandler handler([&](Completion done) {
    std::lock_guard lock(mu);
    streams.push_back(done.request().stream.get());
    threads.emplace_back([&, done = std::move(done)]() mutable {
      BodyStream& s = *done.request().stream;
      if (done.request().path == "/first") {
        EXPECT_EQ(read_until_end(s, 5), "tenan");  // of 20 bytes
        EXPECT_TRUE(s.start(200, {{"X-First", "tenant-a"}}, 3));
        EXPECT_TRUE(s.write("one"));
        s.finish();
        done.complete();
        return;
      }
      std::string saw = s.started() ? "started " : "";
      if (s.finished()) saw += "finished ";
      if (s.failed()) saw += "failed ";
      saw += s.error() + "body=" + read_until_end(s, 1000);
      {
        std::lock_guard lock(mu);
        second_saw = saw;
      }
      done.response().body = "second";
      done.complete();
    });
  });
  handler.streams_body = [](const Request& head) { return head.method == "POST"; };
  Server server(cfg, handler);
  ASSERT_TRUE(server.start().ok());
  auto post = [](std::string_view path, std::string_view body) {
    return "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  };
  {
    Client a(server.port());
    ASSERT_TRUE(a.send(post("/first", "tenant-a-secret-body")));
    auto r = a.read_response(false, 5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "one");
  }
  // (The exchange is recycled just after its answer is sent.)
  ASSERT_TRUE(wait_until([&] { return server.stats().in_handler == 0; }));
  std::this_thread::sleep_for(50ms);
  Client b(server.port());
  ASSERT_TRUE(b.send(post("/second", "b")));
  auto r = b.read_response(false, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "second");
  EXPECT_FALSE(r->header("x-first").has_value());
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(second_saw, "body=b");
  // The second request got the first one's stream object (else the reuse
  // was not exercised and this test shows nothing).
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0], streams[1]);
  server.stop(1s);
}

// A worker keeps the exchanges it answered (buffers and all) for its next
// requests while traffic flows; once it has been idle for a moment, all but
// a few go back to the heap: a burst leaves no memory behind.
TEST(AsyncServerTest, SpareExchangesAreTrimmedOnceTheWorkerIsIdle) {
  auto parked = std::make_shared<Parked>();
  auto server_ptr = parking_server(parked);
  Server& server = *server_ptr;
  ASSERT_TRUE(server.start().ok());
  // A burst: 64 requests in the handler at once, so 64 exchanges.
  constexpr size_t kClients = 64;
  std::vector<std::unique_ptr<Client>> clients;
  for (size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_TRUE(clients.back()->send(get("/burst")));
  }
  ASSERT_TRUE(wait_until([&] { return parked->size() == kClients; }, 5s)) << parked->size();
  parked->finish_all(std::string(4000, 'x'));  // a buffer each spare keeps
  for (auto& c : clients) {
    auto r = c->read_response(false, 5s);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->body.size(), 4000u + 7);
  }
  // Kept while traffic goes on (a request every few ms: never idle long)...
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(clients[1]->send(get("/ping")));
    ASSERT_TRUE(clients[1]->read_response(false, 5s));
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(server.stats().spare_exchanges, kClients);
  // ...then trimmed to a few once idle.
  EXPECT_TRUE(wait_until([&] { return server.stats().spare_exchanges <= 8; }, 3s))
      << server.stats().spare_exchanges;
  // The few kept still serve.
  ASSERT_TRUE(clients[0]->send(get("/after")));
  ASSERT_TRUE(wait_until([&] { return parked->size() == 1; }, 5s));
  parked->finish_all("late");
  auto r = clients[0]->read_response(false, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "late /after");
  server.stop(1s);
}

// Pipelined requests whose handlers finish in reverse order of arrival (each
// parked until the test releases it) are still answered in request order,
// and the connection stays usable.
TEST(AsyncServerTest, PipelinedRequestsKeepTheirOrderAcrossSlowCompletions) {
  auto parked = std::make_shared<Parked>();
  auto server_ptr = parking_server(parked);
  Server& server = *server_ptr;
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/1") + get("/2") + get("/3")));
  for (int i = 1; i <= 3; ++i) {
    // Only one request of the connection is out at a time.
    ASSERT_TRUE(wait_until([&] { return parked->size() == 1; })) << i;
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(parked->size(), 1u);
    parked->finish_all("done");
    auto r = c.read_response(false, 1s);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "done /" + std::to_string(i));
  }
  server.stop(1s);
}

TEST(AsyncServerTest, DroppedCompletionAnswers500AndLateOnesAfterStopAreHarmless) {
  auto parked = std::make_shared<Parked>();
  Server server(quiet_config(), AsyncHandler([parked](Completion done) {
    if (done.request().path == "/drop") return;  // destroyed unanswered
    if (done.request().path == "/throw") throw std::runtime_error("boom");
    parked->add(std::move(done));
  }));
  ASSERT_TRUE(server.start().ok());
  Client a(server.port());
  ASSERT_TRUE(a.send(get("/drop")));
  auto r = a.read_response(false, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  Client b(server.port());
  ASSERT_TRUE(b.send(get("/throw")));
  r = b.read_response(false, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  // A handler still out when the grace period ends: its connection is
  // closed; completing it afterwards (server stopped, even destroyed) is safe.
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/forever")));
  ASSERT_TRUE(wait_until([&] { return parked->size() == 1; }));
  server.stop(100ms);
  EXPECT_TRUE(c.closed_by_peer(1s));
  parked->finish_all("too late");
}

// A response completed on another thread after its connection was reset and
// its descriptor closed; the kernel hands the same number to the next
// connection. The late response must reach nobody: not the new client.
TEST(AsyncServerTest, LateResponseNeverReachesTheConnectionReusingItsDescriptor) {
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  auto parked = std::make_shared<Parked>();
  Server server(cfg, AsyncHandler([parked](Completion done) {
    if (done.request().path == "/park") {
      parked->add(std::move(done));
      return;
    }
    // Completed from another thread, like an executor.
    std::thread([d = std::move(done)]() mutable {
      d.response().body = "mine " + std::string(d.request().path);
      d.complete();
    }).join();
  }));
  ASSERT_TRUE(server.start().ok());
  for (int round = 0; round < 20; ++round) {
    {
      Client doomed(server.port());
      ASSERT_TRUE(doomed.send(get("/park")));
      ASSERT_TRUE(wait_until([&] { return parked->size() == 1; }));
      linger reset{1, 0};  // close() sends RST: the server sees an error and closes its end
      setsockopt(doomed.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    ASSERT_TRUE(wait_until([&] { return server.stats().connections_active == 0; })) << round;
    EXPECT_EQ(server.stats().in_handler, 0u);  // its count went with the connection
    Client next(server.port());
    ASSERT_TRUE(next.send(get("/first")));
    auto r = next.read_response(false, 2s);
    ASSERT_TRUE(r) << round;
    EXPECT_EQ(r->body, "mine /first");
    parked->finish_all("late");  // on this thread, for a connection that is gone
    ASSERT_TRUE(next.send(get("/second")));
    r = next.read_response(false, 2s);
    ASSERT_TRUE(r) << round;
    EXPECT_EQ(r->body, "mine /second") << round;
    EXPECT_TRUE(next.buffered().empty()) << round;
    EXPECT_FALSE(next.fill(50ms)) << "bytes nobody asked for on round " << round;
  }
  EXPECT_EQ(server.stats().in_handler, 0u);
  server.stop(1s);
}

// Log lines are formatted after the answers went out, while the connection
// has already parsed its next pipelined requests: each line still describes
// its own request (path, query, body size, status, bytes), in the order
// answered, with an error line after the answers before it.
TEST(AsyncServerTest, LinesFormattedAfterTheSendsDescribeTheirOwnPipelinedRequests) {
  CollectedLog log;
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  log.attach(cfg);
  Server server(cfg, AsyncHandler([](Completion done) {
    done.response().body = std::string(done.request().path) + "?" + std::string(done.request().query);
    done.response().log.app = "inline";
    done.complete();  // inline, on the I/O thread: the whole batch is answered before any line
  }));
  ASSERT_TRUE(server.start().ok());
  constexpr int kRequests = 64;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) {
    const std::string body(i * 3, 'b');
    batch += "POST /p" + std::to_string(i) + std::string(i, 'x') + "?q=" + std::to_string(i) +
             " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  batch += "GET /\x01 HTTP/1.1\r\n\r\n";
  Client c(server.port());
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(c.read_response(false, 2s)) << i;
  auto bad = c.read_response(false, 2s);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  server.stop(1s);
  const std::vector<nlohmann::json> parsed = log.parsed();
  ASSERT_EQ(parsed.size(), kRequests + 1u) << log.text();
  for (int i = 0; i < kRequests; ++i) {
    const std::string path = "/p" + std::to_string(i) + std::string(i, 'x');
    EXPECT_EQ(parsed[i]["method"], "POST") << i;
    EXPECT_EQ(parsed[i]["path"], path) << i;
    EXPECT_EQ(parsed[i]["query"], "q=" + std::to_string(i)) << i;
    EXPECT_EQ(parsed[i]["request_bytes"], i * 3) << i;
    EXPECT_EQ(parsed[i]["status"], 200) << i;
    EXPECT_EQ(parsed[i]["bytes"], path.size() + 1 + parsed[i]["query"].get<std::string>().size()) << i;
    EXPECT_EQ(parsed[i]["app"], "inline") << i;
  }
  EXPECT_EQ(parsed[kRequests]["status"], 400);
}

// Completions from executors reach a sleeping I/O thread (it is woken only
// when asleep; an awake one drains them first): each is answered in order,
// counted by the time the client has read it, and logged.
TEST(AsyncServerTest, ExecutorCompletionsAreAnsweredCountedAndLoggedInOrder) {
  CollectedLog log;
  ServerConfig cfg = quiet_config();
  cfg.workers = 1;
  log.attach(cfg);
  Dispatcher pool(DispatcherConfig{.threads = 2});
  Server server(cfg, AsyncHandler([&pool](Completion done) {
    dispatch(pool, "k", std::move(done), [](const Request& req, Response& resp) {
      resp.body = std::string(req.path);
      resp.log.app = "executor";
    });
  }));
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(c.send(get("/n" + std::to_string(i))));
    auto r = c.read_response(false, 2s);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/n" + std::to_string(i));
    EXPECT_EQ(server.stats().requests, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(server.stats().in_handler, 0u);
  }
  ASSERT_TRUE(wait_until([&] { return log.count() == 100; })) << log.text();
  server.stop(1s);
  pool.stop();
  const std::vector<nlohmann::json> parsed = log.parsed();
  ASSERT_EQ(parsed.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const nlohmann::json& j = parsed[i];
    EXPECT_EQ(j["path"], "/n" + std::to_string(i));  // in order
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["bytes"], ("/n" + std::to_string(i)).size());
    EXPECT_EQ(j["app"], "executor");
  }
}

// On one CPU the pool wakes few executors for a burst, but a task waiting
// behind a running one still gets an idle executor: a slow guest never
// holds up the next request while a thread sleeps.
TEST(DispatcherTest, TaskBehindARunningOneGetsAnIdleExecutorOnOneCpu) {
  cpu_set_t old_set, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof old_set, &old_set), 0);
  CPU_ZERO(&one);
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &old_set)) {
      CPU_SET(i, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);  // the pool's threads inherit it
  {
    Dispatcher pool(DispatcherConfig{.threads = 4, .per_key_threads = 4});
    for (int round = 0; round < 50; ++round) {
      std::atomic<bool> release{false}, quick_ran{false};
      std::atomic<int> slow_started{0};
      // Submitted back to back, before any executor ran: one wake for both.
      pool.submit("a", [&] {
        slow_started++;
        while (!release) std::this_thread::sleep_for(100us);
      });
      pool.submit("b", [&] { quick_ran = true; });
      EXPECT_TRUE(wait_until([&] { return quick_ran.load(); })) << round;
      release = true;
      ASSERT_TRUE(wait_until([&] { return pool.stats("a").running == 0; }));
    }
    // A burst from several submitters: every task runs once.
    std::atomic<int> ran{0};
    std::vector<std::thread> submitters;
    for (int t = 0; t < 3; ++t) {
      submitters.emplace_back([&pool, &ran, t] {
        for (int i = 0; i < 2000; ++i) {
          while (pool.submit("k" + std::to_string((t + i) % 3), [&ran] { ran++; }) !=
                 Dispatcher::Submitted::kAccepted) {
            std::this_thread::yield();  // key queue full: try again
          }
        }
      });
    }
    for (auto& t : submitters) t.join();
    EXPECT_TRUE(wait_until([&] { return ran == 6000; }, 10s)) << ran;
    pool.stop();
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof old_set, &old_set), 0);
}

TEST(DispatcherTest, PerKeyLimitQueueAndOtherKeysUnaffected) {
  Dispatcher pool(DispatcherConfig{.threads = 3, .per_key_threads = 2, .per_key_queue = 1});
  EXPECT_EQ(pool.threads(), 3u);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0}, finished{0};
  auto blocker = [&] {
    started++;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    finished++;
  };
  EXPECT_EQ(pool.submit("a", blocker), Dispatcher::Submitted::kAccepted);
  EXPECT_EQ(pool.submit("a", blocker), Dispatcher::Submitted::kAccepted);
  EXPECT_EQ(pool.submit("a", blocker), Dispatcher::Submitted::kAccepted);  // queued
  EXPECT_EQ(pool.submit("a", blocker), Dispatcher::Submitted::kQueueFull);
  ASSERT_TRUE(wait_until([&] { return started == 2; }));
  EXPECT_EQ(pool.stats("a").running, 2u);
  EXPECT_EQ(pool.stats("a").waiting, 1u);
  // Key "b" gets the third thread at once although "a" has work waiting.
  std::atomic<bool> b_ran{false};
  EXPECT_EQ(pool.submit("b", [&] { b_ran = true; }), Dispatcher::Submitted::kAccepted);
  EXPECT_TRUE(wait_until([&] { return b_ran.load(); }));
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(started, 2);  // the queued "a" task does not take the free thread
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(wait_until([&] { return finished == 3; }));
  pool.stop();
  EXPECT_EQ(pool.submit("a", [] {}), Dispatcher::Submitted::kStopped);
}

TEST(DispatcherTest, DispatchAnswers503WithRetryAfterWhenTheQueueIsFull) {
  Dispatcher pool(DispatcherConfig{.threads = 2, .per_key_threads = 1, .per_key_queue = 0});
  std::atomic<bool> release{false};
  Dispatcher* p = &pool;
  Server server(quiet_config(), AsyncHandler([p, &release](Completion done) {
    dispatch(*p, "k", std::move(done), [&release](const Request&, Response& resp) {
      while (!release) std::this_thread::sleep_for(1ms);
      resp.body = "ran";
    });
  }));
  ASSERT_TRUE(server.start().ok());
  Client first(server.port());
  ASSERT_TRUE(first.send(get("/one")));
  ASSERT_TRUE(wait_until([&] { return pool.stats("k").running == 1; }));
  Client second(server.port());
  ASSERT_TRUE(second.send(get("/two")));
  auto r = second.read_response(false, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after").value_or(""), "1");
  release = true;
  r = first.read_response(false, 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ran");
  server.stop(1s);
}

// A Task holds small callables inside itself and big ones on the heap: either
// way, moved through a queue, it runs its callable once and destroys it once;
// a task the pool refuses stays with the caller, unrun.
TEST(DispatcherTest, TasksRunAndDestroyTheirCallableOnceWhateverTheirSize) {
  struct Counted {
    std::shared_ptr<int> runs;
    std::shared_ptr<int> alive;  // how many Counted share it (moved-from ones hold none)
    explicit Counted(std::shared_ptr<int> r, std::shared_ptr<int> a) : runs(std::move(r)), alive(std::move(a)) {}
  };
  auto runs = std::make_shared<int>(0), alive = std::make_shared<int>(0);
  std::array<char, 512> big{};
  big[511] = 'x';
  {
    std::deque<Task> queue;
    Counted small_one(runs, alive), big_one(runs, alive);
    queue.emplace_back([c = std::move(small_one)] { ++*c.runs; });
    queue.emplace_back([c = std::move(big_one), big] { *c.runs += big[511] == 'x' ? 10 : 1000; });
    EXPECT_EQ(alive.use_count(), 3);  // this test's and one in each task
    Task moved = std::move(queue.front());
    EXPECT_FALSE(queue.front());
    queue.push_back(std::move(queue[1]));
    EXPECT_EQ(alive.use_count(), 3);
    moved();
    queue.back()();
    EXPECT_EQ(*runs, 11);
  }
  EXPECT_EQ(alive.use_count(), 1) << "a task's callable was not destroyed";

  Dispatcher pool(DispatcherConfig{.threads = 1, .per_key_threads = 1, .per_key_queue = 0});
  std::atomic<bool> release{false}, started{false};
  ASSERT_EQ(pool.submit("k", [&] { started = true; while (!release) std::this_thread::sleep_for(1ms); }),
            Dispatcher::Submitted::kAccepted);
  ASSERT_TRUE(wait_until([&] { return started.load(); }));
  Task refused([c = Counted(runs, alive)] { ++*c.runs; });
  EXPECT_EQ(pool.submit("k", std::move(refused)), Dispatcher::Submitted::kQueueFull);
  ASSERT_TRUE(refused) << "a refused task was taken from its caller";
  EXPECT_EQ(alive.use_count(), 2);
  release = true;
  pool.stop();
  EXPECT_EQ(*runs, 11);
  refused();
  EXPECT_EQ(*runs, 12);
}

TEST(ServerConfigTest, BadAddressAndPortInUse) {
  ServerConfig cfg = quiet_config();
  cfg.address = "not an address";
  Server bad(cfg, echo);
  EXPECT_FALSE(bad.start().ok());

  Server first(quiet_config(), echo);
  ASSERT_TRUE(first.start().ok());
  ServerConfig same = quiet_config();
  same.port = first.port();
  Server second(same, echo);
  auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot listen"), std::string::npos);
  first.stop(0ms);
}

TEST(ServerConfigTest, Ipv6Loopback) {
  ServerConfig cfg = quiet_config();
  cfg.address = "::1";
  Server s(cfg, echo);
  auto r = s.start();
  if (!r.ok()) GTEST_SKIP() << "no IPv6 loopback: " << r.error().message;
  EXPECT_NE(s.port(), 0);
  s.stop(0ms);
}

TEST(ShutdownSignalsTest, WaitReturnsSignal) {
  auto signals = ShutdownSignals::install();
  ASSERT_TRUE(signals.ok()) << signals.error().message;
  EXPECT_EQ(signals->wait_for(10ms), 0);
  kill(getpid(), SIGTERM);
  EXPECT_EQ(signals->wait_for(2s), SIGTERM);
  kill(getpid(), SIGINT);
  EXPECT_EQ(signals->wait(), SIGINT);
}

TEST(ShutdownSignalsTest, ServeUntilSignalStopsServer) {
  // Block SIGTERM before the killer thread exists, as `wink up` does before
  // starting any thread: a thread that had it unblocked could take the
  // process-directed signal and die of its default action.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  Server s(quiet_config(), echo);
  std::thread killer([] {
    std::this_thread::sleep_for(200ms);
    kill(getpid(), SIGTERM);
  });
  auto r = serve_until_signal(s, 1s);
  killer.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, SIGTERM);
  EXPECT_FALSE(s.running());
}

}  // namespace
}  // namespace wink::http
